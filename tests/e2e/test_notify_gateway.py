"""End to end: the services and the SMS gateway simulator as processes, speaking the gateway contract."""
from __future__ import annotations

import subprocess
import sys

import pytest

from shared.config import PROJECT_ROOT
from siaga.system import System
from tests.conftest import database_environment
from tests.e2e.one_siaga import module_amqp_uri, module_db_names  # noqa: F401 (fixtures)
from tests.factories import (
    OFFICER,
    OTHER_OFFICER,
    REPORTER_PHONE,
    create_assignment_created,
    create_report_received,
    eventually,
    of_type,
)

pytestmark = pytest.mark.e2e

SHORT = {"NOTIFY_SMS_ANSWER_TIMEOUT": "2", "NOTIFY_SMS_MAX_ATTEMPTS": "3", "NOTIFY_SMS_BACKOFF_BASE": "0.2",
         "NOTIFY_SMS_BACKOFF_MAX": "0.5", "NOTIFY_SMS_RETRY_POLL": "0.2", "NOTIFY_SMS_RECEIPT_WINDOW": "1"}


@pytest.fixture(scope="module")
def system(amqp_uri, mongo_uri, db_names, tmp_path_factory):
    env = database_environment(db_names) | SHORT
    simulator = ("--answer-delay", "0.05", "--receipt-delay", "0.1", "--auto-reply", "ok {number}",
                 "--reply-delay", "0.2", "--refuse", OTHER_OFFICER["phone"], "--seed", "7")
    running = System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, log_dir=tmp_path_factory.mktemp("logs"),
                     extra_env=env, gateway_simulator=True, simulator_args=simulator).start()
    yield running
    running.stop()


def publish(publish_raw, body: dict) -> dict:
    exchange = {"report_received": "reports.events", "assignment_created": "dispatch.events"}[body["type"]]
    publish_raw(body, exchange=exchange, routing_key=body["type"])
    return body


def test_the_simulator_accepts_delivers_and_the_officer_answers_ok_by_sms(
        system, tap, publish_raw, mongo_client, db_names):
    gateway = tap(("gateway.events", "#"), ("notify.events", "#"))
    received = publish(publish_raw, create_report_received())
    created = publish(publish_raw, create_assignment_created(received))
    replied = gateway.wait_for(of_type("officer_replied", assignment_id=created["data"]["assignment_id"]), timeout=30)
    assert (replied["data"]["action"], replied["data"]["assignment_id"]) == (
        "acknowledge", created["data"]["assignment_id"])
    inbound = gateway.wait_for(of_type("sms_received", **{"from": OFFICER["phone"]}))
    assert inbound["source"] == "/sms-gateway/simulator" and inbound["data"]["from"] == OFFICER["phone"]
    assert inbound["data"]["text"] == f"ok {received['data']['number']}"
    notifications = mongo_client[db_names["notify"]].notifications
    for phone in (OFFICER["phone"], REPORTER_PHONE):
        stored = eventually(lambda phone=phone: notifications.find_one({"to": phone}),
                            lambda doc: doc is not None and doc["state"] == "delivered")
        assert (stored["encoding"], stored["segments"], stored["attempt"]) == ("GSM-7", 1, 1)


def test_a_receipt_whose_write_was_lost_is_asked_for_again_and_kept_with_no_second_sms(
        system, tap, publish_raw, mongo_client, db_names):
    """The sweep of overdue receipts: the stored request said again (same id); the gateway, which never
    sends an SMS twice, answers with the receipt it holds."""
    events = tap(("gateway.events", "#"), ("notify.events", "#"))
    received = publish(publish_raw, create_report_received(data={"reporter": None, "anonymous": True}))
    created = publish(publish_raw, create_assignment_created(received))
    notifications = mongo_client[db_names["notify"]].notifications
    sms = eventually(lambda: notifications.find_one({"assignment_id": created["data"]["assignment_id"]}),
                     lambda doc: doc is not None and doc["state"] == "delivered")
    notifications.update_one({"_id": sms["_id"]}, {  # the receipt's write, lost: accepted, nothing since
        "$set": {"state": "sent", "next_attempt_at": sms["accepted_at"]}, "$unset": {"delivery": ""}})
    healed = eventually(lambda: notifications.find_one({"_id": sms["_id"]}),
                        lambda doc: doc["state"] == "delivered", timeout=15)
    assert healed["receipt_asks"] == 1 and healed["delivery"]["status"] == "delivered"
    requests = [m for m in events.drain(idle=0.5) if m["type"] == "sms_requested" and m["data"]["sms_id"] == sms["_id"]]
    receipts = [m for m in events.seen if m["type"] == "sms_delivery_reported" and m["data"]["sms_id"] == sms["_id"]]
    assert len(requests) == 2 and len({m["id"] for m in requests}) == 1  # the same request, said again
    assert len(receipts) == 2 and len({m["id"] for m in receipts}) == 1  # the same receipt, said again


def test_a_number_the_gateway_refuses_for_good_ends_in_sms_failed(system, tap, publish_raw):
    events = tap(("gateway.events", "#"), ("notify.events", "#"))
    received = publish(publish_raw, create_report_received(data={"reporter": None, "anonymous": True}))
    created = publish(publish_raw, create_assignment_created(received, officer=OTHER_OFFICER))
    refused = events.wait_for(of_type("sms_refused"), timeout=30)  # only this test's officer is refused
    assert refused["data"]["temporary"] is False
    failed = events.wait_for(of_type("sms_failed", assignment_id=created["data"]["assignment_id"]))
    assert failed["data"]["to"] == OTHER_OFFICER["phone"] and failed["data"]["attempts"] == 1


def test_one_inbound_sms_can_be_sent_from_the_command_line(system, tap, publish_raw, amqp_uri):
    events = tap(("notify.events", "#"))
    stranger = "0877-1234-5678"
    subprocess.run([sys.executable, "-m", "siaga.gateway_simulator", "--amqp-uri", amqp_uri, "send",
                    "--from", stranger, "Ada maling di gang!"], cwd=PROJECT_ROOT, check=True, timeout=60,
                   capture_output=True)
    answer = events.wait_for(of_type("sms_requested", to="+6287712345678"), timeout=30)
    assert answer["data"]["kind"] == "stranger_help" and "110" in answer["data"]["text"]
