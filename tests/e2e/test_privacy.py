"""Reporters' phones never reach the logs unmasked, and anonymous reporters never reach an officer."""
from __future__ import annotations

import json

import pytest

from services.dispatch.roster import load_roster_file
from siaga.system import System
from tests.conftest import database_environment
from tests.factories import DEMO_ROSTER, create_incident, read_queue

pytestmark = pytest.mark.e2e

REPORTER_PHONE = "0812-7777-4321"
E164_DIGITS = "6281277774321"
GATEWAY_QUEUE = "evt-notify-sms_requested--sms-gateway"


def test_logs_mask_reporter_phones_and_officers_never_see_an_anonymous_reporter(
        amqp_uri, mongo_uri, db_names, tmp_path, publish_raw, monkeypatch):
    env = database_environment(db_names) | {"LOG_LEVEL": "DEBUG"}
    monkeypatch.setenv("DISPATCH_MONGO_DATABASE", db_names["dispatch"])
    with System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, log_dir=tmp_path, extra_env=env) as system:
        load_roster_file(DEMO_ROSTER, system.mongo_uri)
        named = create_incident(data={"reporter": {"name": "Sri Wahyuni", "phone": REPORTER_PHONE}})
        anonymous = create_incident(data={
            "category": "kdrt", "location": {"village_code": "31.71.06.1002", "rw": 1},
            "reporter": {"name": "Sri Wahyuni", "phone": REPORTER_PHONE, "anonymous": True}})
        publish_raw(named)
        publish_raw(anonymous)
        officer_sms = officer_messages(amqp_uri, expected=2)
    logs = "".join(path.read_text(errors="replace") for path in tmp_path.glob("*.log"))
    assert "Sri Wahyuni" not in logs
    assert E164_DIGITS not in logs.replace("+", "") and "7777-4321" not in logs
    for sms in officer_sms:
        assert "Sri Wahyuni" not in sms["text"] and E164_DIGITS not in sms["text"].replace("+", "")


def officer_messages(amqp_uri: str, expected: int, timeout: float = 60.0) -> list[dict]:
    def officers(raw: list) -> list[dict]:
        return [data for data in (json.loads(m.body)["data"] for m in raw) if data["recipient_role"] == "officer"]

    found = officers(read_queue(amqp_uri, GATEWAY_QUEUE, lambda raw: len(officers(raw)) >= expected, timeout))
    assert len(found) >= expected, f"only {len(found)} officer SMS arrived"
    return found
