"""A short chaos run: services killed with SIGKILL mid-flow lose nothing and double nothing."""
from __future__ import annotations

import pytest

from bench.chaos import run

pytestmark = pytest.mark.e2e


def test_sigkilled_services_lose_no_incident_double_no_claim_and_send_no_sms_twice(
        amqp_uri, mongo_uri, db_names, tmp_path):
    env = {f"{service.upper()}_MONGO_DATABASE": name for service, name in db_names.items()}
    result = run(120, kills=1, broker_restart=False, log_dir=tmp_path, amqp_uri=amqp_uri, mongo_uri=mongo_uri,
                 extra_env=env)
    assert result["stored reports"] == result["incidents"] == 120
    assert result["reports not final or waiting"] == 0
    assert result["officers with overlapping assignments"] == 0
    assert result["recipients with two SMS for one fact"] == 0
    assert result["distinct SMS"] == 240  # each reporter told once, each officer once
