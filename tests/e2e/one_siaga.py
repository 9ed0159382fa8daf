"""For a module whose tests share one running Siaga (starting one costs more than a few tests): the
vhost and the databases at module scope. Import both fixtures into the module; each test then waits
only for what its own messages cause."""
from __future__ import annotations

import pytest

from tests.conftest import database_names, lent_vhost


@pytest.fixture(scope="module", name="amqp_uri")
def module_amqp_uri(vhosts):
    yield from lent_vhost(vhosts)


@pytest.fixture(scope="module", name="db_names")
def module_db_names():
    return database_names()

