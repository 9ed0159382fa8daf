"""A short redelivery run: every message of a run delivered twice more, shuffled, changes no database."""
from __future__ import annotations

import pytest

from bench.replay import run

pytestmark = pytest.mark.e2e


def test_every_message_delivered_twice_more_in_any_order_leaves_every_database_as_it_was(
        amqp_uri, mongo_uri, db_names, tmp_path):
    env = {f"{service.upper()}_MONGO_DATABASE": name for service, name in db_names.items()}
    result = run(12, tmp_path, amqp_uri, mongo_uri=mongo_uri, extra_env=env, seed=3)
    assert result["messages replayed"] == 2 * result["messages recorded"] > 0
    assert result["documents compared"] > 0
    assert result["diff"] == []
    assert result["new events"] == []
