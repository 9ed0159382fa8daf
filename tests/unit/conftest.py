"""What the unit modules of dispatch's service layer share: the events it published, and dispatch as
nameko's `worker_factory` builds it over the module's own in-memory `store`."""
from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory

from services.dispatch.service import DispatchService
from services.dispatch.settings import Settings
from tests.fakes.publisher import Published


@pytest.fixture
def published():
    return Published()


@pytest.fixture
def service(store, published):
    return worker_factory(DispatchService, dispatch=store, publish=published, settings=Settings())
