"""A short chaos run: two processes of each service on the same queues (replicas, as on two machines),
each killed with SIGKILL mid-flow, and the database killed and kept away longer than a message's old
retry budget, lose nothing, double nothing and reject nothing."""
from __future__ import annotations

import os

import pytest

from bench.chaos import VIOLATIONS, run
from shared import topology
from shared.messaging import retry_backoff

pytestmark = pytest.mark.e2e

SELECTION_SECONDS = 0.5
# What a message's retries used to last while the database was away (about 53 s at the default 10 s).
OLD_BUDGET_SECONDS = topology.MAX_ATTEMPTS * SELECTION_SECONDS + sum(
    retry_backoff(attempt) for attempt in range(1, topology.MAX_ATTEMPTS))


@pytest.mark.skipif(bool(os.environ.get("MONGO_URI")), reason="kills the run's own embedded database")
def test_sigkilled_services_and_database_lose_no_incident_double_no_claim_and_send_no_sms_twice(
        amqp_uri, db_names, tmp_path):
    env = {f"{service.upper()}_MONGO_DATABASE": name for service, name in db_names.items()} | {
        "MONGO_SERVER_SELECTION_SECONDS": str(SELECTION_SECONDS), "OUTAGE_PROBE_SECONDS": "0.5",
        "NOTIFY_SMS_DESK_WINDOW": "1"}  # a digest goes out well within the quiet spell the run waits for
    result = run(120, kills=1, broker_restart=False, log_dir=tmp_path, amqp_uri=amqp_uri, extra_env=env,
                 database_outages=(OLD_BUDGET_SECONDS + 1,), quiet=5.0, replicas=2)
    assert result["database outages (SIGKILL, then restarted)"] == 1
    assert result["services killed with SIGKILL"] == 2 * 5
    assert result["stored reports"] == result["incidents"] == 120
    assert {name: result[name] for name in VIOLATIONS} == dict.fromkeys(VIOLATIONS, 0)
    assert result["dead letters"] == 0
    # each reporter told once, each officer (or duty desk) once; escalations in a burst told in one digest
    told_apart = 240 - result["escalations told in a duty desk's digest"] + result["digests"]
    assert result["distinct SMS"] == told_apart
