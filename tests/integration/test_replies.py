"""Officers' SMS replies are read against what dispatch holds, not only against notify's records.

dispatch and notify run on the real broker and database; reports' and the gateway's events are
published as those parties send them. notify's record of an officer's SMS can be behind or lost
(a lost write, a restore): the officer who answers is still heard, never told "not yours".
"""
from __future__ import annotations

import pytest

from services.dispatch.service import DispatchService
from services.notify.service import NotifyService
from shared.contract import EVENT_TYPES
from tests.factories import create_report_received, create_sms_received, eventually, of_type

pytestmark = pytest.mark.integration

PATIENT = {"ANSWER_TIMEOUT": 60, "RETRY_POLL": 0.2}  # the gateway is silent here: no retries meanwhile


@pytest.fixture
def running(store, declared, container_factory, config_for, tap, publish_raw, mongo_client, db_names):
    """dispatch with the demo roster and notify; what they publish; a way to publish as reports and the gateway."""
    seen = tap(("dispatch.events", "#"), ("notify.events", "#"))
    container_factory(DispatchService, config_for("dispatch")).start()
    container_factory(NotifyService, config_for("notify", SMS=PATIENT)).start()

    def send(body: dict) -> dict:
        event_type = EVENT_TYPES[body["type"]]
        publish_raw(body, exchange=event_type.exchange, routing_key=event_type.routing_key("citizen-app"))
        return body
    return seen, send, mongo_client[db_names["notify"]]


def officer_sms(created: dict):
    return lambda body: (body["type"] == "sms_requested" and body["data"]["kind"] == "officer_assignment"
                         and body["data"]["assignment_id"] == created["data"]["assignment_id"])


def sms_of_kind(phone: str, kind: str):
    return lambda body: body["type"] == "sms_requested" and body["data"]["to"] == phone and body["data"]["kind"] == kind


def assigned(running) -> tuple[dict, str, str]:
    seen, send, _ = running
    send(create_report_received())
    created = seen.wait_for(of_type("assignment_created"))
    seen.wait_for(officer_sms(created))
    return created, created["data"]["officer"]["phone"], created["data"]["report"]["number"]


def test_an_officer_whose_sms_record_notify_lost_is_heard_not_told_not_yours(running):
    seen, send, notify_db = running
    created, phone, number = assigned(running)
    lost = notify_db.notifications.delete_many({"assignment_id": created["data"]["assignment_id"]})
    assert lost.deleted_count == 1  # the write lost behind the services' back
    send(create_sms_received(phone, f"OK {number}"))
    acknowledged = seen.wait_for(of_type("assignment_acknowledged"))
    assert acknowledged["data"]["assignment_id"] == created["data"]["assignment_id"]
    assert not [m for m in seen.drain(idle=1.0) if m["type"] == "sms_requested"
                and m["data"]["kind"] == "officer_reply_not_yours"]


def test_an_officer_repeating_selesai_after_completion_is_told_it_is_done(running):
    seen, send, notify_db = running
    created, phone, number = assigned(running)
    send(create_sms_received(phone, f"SELESAI {number} aman"))
    seen.wait_for(of_type("assignment_completed"))
    eventually(lambda: notify_db.closed_assignments.find_one({"_id": created["data"]["assignment_id"]}),
               lambda closed: closed is not None)  # what notify knows of it has caught up
    send(create_sms_received(phone, f"selesai {number}"))
    done = seen.wait_for(sms_of_kind(phone, "officer_reply_done"))
    assert f"{number} sudah selesai" in done["data"]["text"] and done["data"]["segments"] == 1


def test_an_unknown_number_gets_one_neutral_answer_however_often_it_writes(running):
    seen, send, notify_db = running
    _, _, number = assigned(running)
    stranger = "+6287712345678"
    for text in (f"OK {number}", "Ada maling!", "halo?"):
        send(create_sms_received(stranger, text))
    answer = seen.wait_for(sms_of_kind(stranger, "stranger_help"))
    assert answer["data"]["recipient_role"] == "citizen" and "tugas" not in answer["data"]["text"]
    assert len([m for m in seen.drain(idle=1.5) if m["type"] == "reply_refused"]) == 3
    assert notify_db.notifications.count_documents({"to": stranger}) == 1
