"""notify on the real broker and the real Mongo-wire server: recipients, the gateway contract, replies.

Events are published as their publishers send them (reports, dispatch, the gateway) and what
notify publishes is read from `notify.events` through a tap, as dispatch and the gateway read it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.notify.service import NotifyService
from shared.contract import EVENT_TYPES
from tests.factories import (
    DUPLICATE_PHONE,
    DUTY_DESK,
    OFFICER,
    OTHER_OFFICER,
    REPORTER_PHONE,
    create_assignment_created,
    create_assignment_escalated,
    create_delivery_reported,
    create_duplicate_reported,
    create_reply_refused,
    create_report_received,
    create_report_rejected,
    create_sms_accepted,
    create_sms_received,
    create_sms_refused,
    create_step,
    eventually,
    of_type,
)

pytestmark = pytest.mark.integration

# Short enough that a test sees every retry in about a second; RETRY_POLL drives the timer.
FAST = {"ANSWER_TIMEOUT": 0.6, "MAX_ATTEMPTS": 3, "BACKOFF_BASE": 0.1, "BACKOFF_MAX": 0.3, "RETRY_POLL": 0.1}
# For tests about who gets what: the gateway is silent there and must not cause retries meanwhile.
PATIENT = {"ANSWER_TIMEOUT": 60, "RETRY_POLL": 0.2}


@pytest.fixture
def start_notify(declared, container_factory, config_for):
    def start(prices: dict | None = None, **sms: Any):
        container = container_factory(NotifyService, config_for("notify", SMS=sms or PATIENT,
                                                                SMS_PRICE=prices or {}))
        container.start()
        return container
    return start


@pytest.fixture
def outbox(tap):
    """notify.events as dispatch and the gateway see them (the tap also makes every event routable)."""
    return tap(("notify.events", "#"))


@pytest.fixture
def send(publish_raw) -> Callable[[dict], dict]:
    def publish(body: dict) -> dict:
        event_type = EVENT_TYPES[body["type"]]
        publish_raw(body, exchange=event_type.exchange, routing_key=event_type.routing_key("citizen-app"))
        return body
    return publish


@pytest.fixture
def db(mongo_client, db_names):
    return mongo_client[db_names["notify"]]


def sms_to(phone: str, kind: str | None = None, attempt: int | None = None) -> Callable[[dict], bool]:
    return lambda body: (body["type"] == "sms_requested" and body["data"]["to"] == phone
                         and kind in (None, body["data"]["kind"]) and attempt in (None, body["data"]["attempt"]))


def assigned(send, outbox, **report: Any) -> tuple[dict, dict, dict]:
    """A report with an officer assigned; returns (report_received, assignment_created, the officer's SMS)."""
    received = send(create_report_received(**report))
    created = send(create_assignment_created(received))
    return received, created, outbox.wait_for(sms_to(OFFICER["phone"], "officer_assignment"))


# ---- who gets what ----------------------------------------------------------------------------------------

def test_reporter_is_told_the_report_arrived_and_the_sms_is_stored_with_encoding_and_segments(
        start_notify, outbox, send, db):
    start_notify()
    received = send(create_report_received())
    sms = outbox.wait_for(sms_to(REPORTER_PHONE, "reporter_received"))
    assert received["data"]["number"] in sms["data"]["text"] and "WIB" in sms["data"]["text"]
    assert (sms["data"]["encoding"], sms["data"]["segments"], sms["data"]["attempt"]) == ("GSM-7", 1, 1)
    assert sms["correlationid"] == received["data"]["report_id"] and sms["causationid"] == received["id"]
    stored = db.notifications.find_one({"_id": sms["data"]["sms_id"]})
    assert (stored["encoding"], stored["segments"], stored["state"]) == ("GSM-7", 1, "requested")


@pytest.mark.parametrize("reporter, anonymous", [
    ({"name": "Budi Santoso", "phone": REPORTER_PHONE}, True),  # anonymous wins over a phone given anyway
    (None, True),
    ({"name": "Budi Santoso", "phone": None}, False),
])
def test_an_anonymous_reporter_or_one_without_a_phone_gets_nothing_and_the_officer_never_learns_who(
        start_notify, outbox, send, reporter, anonymous):
    start_notify()
    _, _, officer_sms = assigned(send, outbox, data={"reporter": reporter, "anonymous": anonymous})
    assert "Budi" not in officer_sms["data"]["text"] and "99991234" not in officer_sms["data"]["text"]
    sent = outbox.drain(idle=1.0)
    assert [m["data"]["to"] for m in sent if m["type"] == "sms_requested"] == [OFFICER["phone"]]


def test_the_officer_gets_number_category_place_description_and_how_to_answer(start_notify, outbox, send, db):
    start_notify()
    received, created, sms = assigned(send, outbox)
    number, text = received["data"]["number"], sms["data"]["text"]
    assert text.startswith(f"SIAGA P1 #{number} Laka lantas di Kel. Menteng, RW 05, Jl. HOS Cokroaminoto 12.")
    assert "Tabrakan motor" in text and text.endswith(f"Balas OK/TOLAK/JALAN/TIBA/SELESAI {number}")
    assert sms["data"]["assignment_id"] == created["data"]["assignment_id"]
    stored = db.notifications.find_one({"_id": sms["data"]["sms_id"]})
    assert stored["to"] == OFFICER["phone"]
    assert stored["answerable"] == {"nrp": OFFICER["nrp"], "number": number, "number_key": number}


def test_the_reporters_of_a_report_and_of_its_duplicate_hear_who_is_on_the_way_and_that_it_is_resolved(
        start_notify, outbox, send):
    start_notify()
    received = send(create_report_received())
    outbox.wait_for(sms_to(REPORTER_PHONE, "reporter_received"))
    duplicate = send(create_duplicate_reported(received))
    told = outbox.wait_for(sms_to(DUPLICATE_PHONE, "reporter_duplicate"))
    assert received["data"]["number"] in told["data"]["text"]
    assert told["correlationid"] == duplicate["data"]["report_id"]  # the duplicate's chain, not the original's
    created = send(create_assignment_created(received))
    send(create_step("departed", created))
    on_the_way = [outbox.wait_for(sms_to(phone, "reporter_en_route")) for phone in (REPORTER_PHONE, DUPLICATE_PHONE)]
    for sms in on_the_way:
        assert "Bripda Rizky Pratama" in sms["data"]["text"]
        assert "10010505" not in sms["data"]["text"]  # never the officer's phone
    send(create_step("completed", created))
    for phone in (REPORTER_PHONE, DUPLICATE_PHONE):
        resolved = outbox.wait_for(sms_to(phone, "reporter_resolved"))
        assert "selesai ditangani" in resolved["data"]["text"]
    assert duplicate["data"]["reporter"]["phone"] == DUPLICATE_PHONE


def test_a_report_the_duty_desk_closed_tells_its_reporter_the_outcome(start_notify, outbox, send):
    start_notify()
    received = send(create_report_received())
    outbox.wait_for(sms_to(REPORTER_PHONE, "reporter_received"))
    desk = create_assignment_created(received, officer=DUTY_DESK)  # never sent: the desk closed it itself
    send(create_step("completed", desk, data={"outcome": "laporan palsu: pelapor iseng",
                                              "desk_outcome": "false_report"}))
    closed = outbox.wait_for(sms_to(REPORTER_PHONE, "reporter_closed_by_desk"))
    assert "ditutup piket Polsek" in closed["data"]["text"] and "laporan palsu: pelapor iseng" in closed["data"]["text"]


def test_a_rejected_report_with_a_known_phone_gets_one_sms_however_often_it_is_rejected(
        start_notify, outbox, send, db):
    start_notify()
    first = send(create_report_rejected())
    send(create_report_rejected(data={"original": first["data"]["original"]}))  # e.g. the dead-letter path too
    sms = outbox.wait_for(sms_to(REPORTER_PHONE, "reporter_rejected"))
    assert "lokasi" in sms["data"]["text"] and "110" in sms["data"]["text"]
    sent = [m for m in outbox.drain(idle=1.0) if m["type"] == "sms_requested"]
    assert {m["id"] for m in sent} == {sms["id"]}
    assert db.notifications.count_documents({}) == 1


def test_escalation_reaches_the_duty_desk(start_notify, outbox, send):
    start_notify()
    received = send(create_report_received())
    send(create_assignment_escalated(received))
    sms = outbox.wait_for(sms_to(DUTY_DESK["phone"], "duty_desk_escalation"))
    assert sms["data"]["text"].startswith(f"SIAGA ESKALASI P1 #{received['data']['number']} Laka lantas")
    assert sms["data"]["recipient_role"] == "duty_desk"


def test_the_duty_desk_learns_how_many_officers_declined_or_never_answered(start_notify, outbox, send, db):
    start_notify()
    received = send(create_report_received())
    declined = create_step("declined", create_assignment_created(received, officer=OFFICER))
    send(declined)
    send(declined)  # a redelivery counts once
    send(create_step("expired", create_assignment_created(received, officer=OTHER_OFFICER)))
    eventually(lambda: db.not_taken.find_one({"_id": received["data"]["report_id"]}),
               lambda doc: len((doc or {}).get("assignment_ids", [])) == 2)
    send(create_assignment_escalated(received))
    sms = outbox.wait_for(sms_to(DUTY_DESK["phone"], "duty_desk_declines"))
    assert "2 petugas menolak/tak menjawab, mohon ditangani." in sms["data"]["text"]


def test_a_burst_of_escalations_reaches_the_duty_desk_as_one_sms_and_one_digest(start_notify, outbox, send, db):
    """81 escalations in 40 s were 81 SMS: the first goes at once, the rest wait for the desk's window."""
    start_notify(**PATIENT, DESK_WINDOW=1.0)
    burst = [send(create_report_received(data={"priority": priority})) for priority in ("P3", "P3", "P1", "P2", "P3")]
    for received in burst:
        send(create_assignment_escalated(received))
    first = outbox.wait_for(sms_to(DUTY_DESK["phone"], "duty_desk_escalation"))
    digest = outbox.wait_for(sms_to(DUTY_DESK["phone"], "duty_desk_digest"))
    numbers = [received["data"]["number"] for received in burst]  # handled side by side: any may go first
    alone = next(number for number in numbers if f"#{number}" in first["data"]["text"])
    grouped = [number for number in numbers if number != alone]
    assert digest["data"]["text"].startswith("SIAGA ESKALASI 4 laporan lagi tanpa petugas: #")
    assert all(f"#{number}" in digest["data"]["text"] for number in grouped) and digest["data"]["segments"] == 1
    if alone != numbers[2]:  # the P1 waited: it is named first
        assert digest["data"]["text"].startswith(f"SIAGA ESKALASI 4 laporan lagi tanpa petugas: #{numbers[2]} P1")
    outbox.drain(idle=1.0)
    assert db.notifications.count_documents({"to": DUTY_DESK["phone"], "state": {"$ne": "grouped"}}) == 2
    grouped = list(db.notifications.find({"to": DUTY_DESK["phone"], "state": "grouped"}))
    assert len(grouped) == 4 and {held["digest_id"] for held in grouped} == {digest["data"]["sms_id"]}


# ---- the gateway contract ------------------------------------------------------------------------
# An anonymous report here: the officer's SMS is the only one, so every retry seen is its retry.

def officer_sms(send, outbox) -> tuple[dict, dict, dict]:
    return assigned(send, outbox, data={"reporter": None, "anonymous": True})


def attempts(outbox, sms_id: str) -> list[int]:
    """Every attempt of one SMS seen so far, after the queue stays quiet (longer than the answer timeout)."""
    return [m["data"]["attempt"] for m in outbox.drain(idle=1.0)
            if m["type"] == "sms_requested" and m["data"]["sms_id"] == sms_id]


def test_an_sms_is_sent_only_when_accepted_then_delivered_and_never_retried(start_notify, outbox, send, db):
    start_notify(**FAST)
    _, _, sms = officer_sms(send, outbox)
    sms_id = sms["data"]["sms_id"]
    assert db.notifications.find_one({"_id": sms_id})["state"] == "requested"
    send(create_sms_accepted(sms_id, attempt=1))
    eventually(lambda: db.notifications.find_one({"_id": sms_id}), lambda doc: doc["state"] == "sent")
    send(create_delivery_reported(sms_id, "delivered"))
    stored = eventually(lambda: db.notifications.find_one({"_id": sms_id}), lambda doc: doc["state"] == "delivered")
    assert stored["gateway_id"] == f"GW-{sms_id[:8]}" and stored["delivery"]["status"] == "delivered"
    assert attempts(outbox, sms_id) == [1]  # an accepted SMS is not retried


def test_a_temporary_refusal_is_retried_with_the_same_sms_id_until_accepted(start_notify, outbox, send, db):
    start_notify(**FAST)
    _, _, sms = officer_sms(send, outbox)
    sms_id = sms["data"]["sms_id"]
    send(create_sms_refused(sms_id, temporary=True, attempt=1))
    retry = outbox.wait_for(sms_to(OFFICER["phone"], attempt=2))
    assert retry["data"]["sms_id"] == sms_id and retry["data"]["text"] == sms["data"]["text"]
    assert retry["id"] != sms["id"] and retry["correlationid"] == sms["correlationid"]
    send(create_sms_accepted(sms_id, attempt=2))
    eventually(lambda: db.notifications.find_one({"_id": sms_id}), lambda doc: doc["state"] == "sent")
    assert attempts(outbox, sms_id) == [1, 2]


def test_a_gateway_that_never_answers_gets_every_attempt_then_sms_failed(start_notify, outbox, send, db):
    start_notify(**FAST)
    _, created, sms = officer_sms(send, outbox)
    failed = outbox.wait_for(of_type("sms_failed", sms_id=sms["data"]["sms_id"]), timeout=15)
    assert attempts(outbox, sms["data"]["sms_id"]) == [1, 2, 3]
    assert failed["data"] | {"reason": None} == {
        "sms_id": sms["data"]["sms_id"], "to": OFFICER["phone"], "recipient_role": "officer",
        "kind": "officer_assignment", "report_id": created["data"]["report"]["report_id"],
        "assignment_id": created["data"]["assignment_id"], "attempts": 3, "reason": None}
    assert "no answer from the gateway" in failed["data"]["reason"]
    assert failed["correlationid"] == created["data"]["report"]["report_id"]
    eventually(lambda: db.notifications.find_one({"_id": sms["data"]["sms_id"]}), lambda d: d["state"] == "failed")


def test_a_final_refusal_fails_at_once_so_dispatch_can_reassign_the_unreachable_officer(
        start_notify, outbox, send):
    start_notify(**FAST)
    _, created, sms = officer_sms(send, outbox)
    send(create_sms_refused(sms["data"]["sms_id"], temporary=False, attempt=1))
    failed = outbox.wait_for(of_type("sms_failed", sms_id=sms["data"]["sms_id"]))
    assert (failed["data"]["attempts"], failed["data"]["assignment_id"]) == (1, created["data"]["assignment_id"])
    assert "number blocked" in failed["data"]["reason"]
    assert attempts(outbox, sms["data"]["sms_id"]) == [1]


@pytest.mark.parametrize("status", ["undelivered", "expired", "rejected"])
def test_a_receipt_saying_the_phone_never_got_it_fails_the_sms(start_notify, outbox, send, status):
    start_notify(**FAST)
    _, _, sms = officer_sms(send, outbox)
    send(create_sms_accepted(sms["data"]["sms_id"]))
    send(create_delivery_reported(sms["data"]["sms_id"], status))
    failed = outbox.wait_for(of_type("sms_failed", sms_id=sms["data"]["sms_id"]))
    assert failed["data"]["reason"] == f"not delivered: {status}"


def test_a_receipt_overtaking_its_acceptance_still_fails_the_sms(start_notify, outbox, send, db):
    """Acceptance and receipt travel on different queues: the receipt may be handled first."""
    start_notify(**FAST)
    _, _, sms = officer_sms(send, outbox)
    sms_id = sms["data"]["sms_id"]
    send(create_delivery_reported(sms_id, "undelivered"))
    outbox.wait_for(of_type("sms_failed", sms_id=sms_id))
    send(create_sms_accepted(sms_id))
    eventually(lambda: db.notifications.find_one({"_id": sms_id}), lambda d: d.get("delivery") is not None)
    outbox.drain(idle=1.0)
    assert db.notifications.find_one({"_id": sms_id})["state"] in ("failing", "failed")


def test_a_redelivered_assignment_after_acceptance_sends_no_second_sms(start_notify, outbox, send, db):
    start_notify(**FAST)
    _, created, sms = officer_sms(send, outbox)
    send(create_sms_accepted(sms["data"]["sms_id"]))
    eventually(lambda: db.notifications.find_one({"_id": sms["data"]["sms_id"]}), lambda d: d["state"] == "sent")
    send(created)  # the broker redelivers the cause
    send(created)
    sent = [m for m in outbox.drain(idle=1.0) if m["type"] == "sms_requested"]
    assert [m["id"] for m in sent] == [sms["id"]]
    assert db.notifications.count_documents({"recipient_role": "officer"}) == 1


def test_a_retry_stored_before_a_restart_is_sent_after_it(start_notify, outbox, send, db):
    sleepy = start_notify(**FAST | {"RETRY_POLL": 3600})  # its timer never fires
    _, _, sms = officer_sms(send, outbox)
    sms_id = sms["data"]["sms_id"]
    send(create_sms_refused(sms_id, temporary=True, attempt=1))
    eventually(lambda: db.notifications.find_one({"_id": sms_id}), lambda doc: doc["state"] == "retrying")
    sleepy.stop()
    start_notify(**FAST)
    retry = outbox.wait_for(sms_to(OFFICER["phone"], attempt=2))
    assert retry["data"]["sms_id"] == sms_id


def test_two_replicas_send_each_retry_once(start_notify, outbox, send, db):
    start_notify(**FAST | {"ANSWER_TIMEOUT": 30})
    start_notify(**FAST | {"ANSWER_TIMEOUT": 30})
    _, _, sms = officer_sms(send, outbox)
    send(create_sms_refused(sms["data"]["sms_id"], temporary=True, attempt=1))
    outbox.wait_for(sms_to(OFFICER["phone"], attempt=2))
    assert attempts(outbox, sms["data"]["sms_id"]) == [1, 2]


# ---- officers' replies ---------------------------------------------------------------------------

REPLY_FORMS = [
    ("OK {number}", "acknowledge", None),
    ("ok {lower}", "acknowledge", None),
    ("  Ok ,#{number} ", "acknowledge", None),
    ("ok{number}", "acknowledge", None),
    ("ok", "acknowledge", None),  # no number: the sender has exactly one open assignment
    ("TOLAK {number} sedang sakit", "decline", "sedang sakit"),
    ("otw", "en_route", None),
    ("Tiba {lower}", "on_scene", None),
    ("SELESAI {number} korban dibawa ke RS", "complete", "korban dibawa ke RS"),
]


def test_every_reply_form_of_the_assigned_officer_becomes_officer_replied(start_notify, outbox, send):
    start_notify()
    received, created, _ = assigned(send, outbox)
    number = received["data"]["number"]
    for text, action, reason in REPLY_FORMS:  # one service for all forms: a reply changes nothing in notify
        inbound = send(create_sms_received("0812-1001-0505", text.format(number=number, lower=number.lower())))
        replied = outbox.wait_for(lambda body, cause=inbound["id"]: body["type"] == "officer_replied"
                                  and body["causationid"] == cause)
        assert replied["data"] | {"replied_at": None} == {
            "nrp": OFFICER["nrp"], "phone": OFFICER["phone"], "assignment_id": created["data"]["assignment_id"],
            "action": action, "text": reason, "replied_at": None}, text
        assert replied["correlationid"] == received["data"]["report_id"]


def unmatched_from(phone: str) -> Callable[[dict], bool]:
    return lambda body: body["type"] == "reply_unmatched" and body["data"]["phone"] == phone


@pytest.mark.parametrize("sender, text, known", [
    (OTHER_OFFICER["phone"], "OK {number}", "not_yours"),  # another phone
    (OFFICER["phone"], "OK 999999", "not_yours"),  # a number not sent to this phone
    (OFFICER["phone"], "Lokasi persisnya di mana, pak?", "no_code"),
])
def test_a_reply_that_fits_none_of_the_phones_sms_goes_to_dispatch_and_acts_on_nothing(
        start_notify, outbox, send, sender, text, known):
    """notify's records may be behind (a lost write): dispatch, holding the assignments, decides the answer."""
    start_notify()
    received, _, _ = assigned(send, outbox)
    inbound = send(create_sms_received(sender, text.format(number=received["data"]["number"])))
    unmatched = outbox.wait_for(unmatched_from(sender))
    assert unmatched["causationid"] == inbound["id"] and unmatched["data"]["known"] == known
    assert not [m for m in outbox.drain(idle=1.0) if m["type"] == "officer_replied"
                or sms_to(sender)(m) and m["data"]["kind"] != "officer_assignment"]


def test_a_late_reply_to_an_expired_assignment_acts_on_nothing(start_notify, outbox, send, db):
    start_notify()
    received, created, _ = assigned(send, outbox)
    send(create_step("expired", created))
    eventually(lambda: db.closed_assignments.find_one({"_id": created["data"]["assignment_id"]}),
               lambda closed: closed and closed["closed"] == "expired")
    send(create_sms_received(OFFICER["phone"], f"OK {received['data']['number']}"))
    outbox.wait_for(unmatched_from(OFFICER["phone"]))
    assert not [m for m in outbox.drain(idle=1.0) if m["type"] == "officer_replied"]


def test_an_officer_with_two_open_assignments_is_asked_which_once_dispatch_says_so(start_notify, outbox, send):
    start_notify()
    first, _, _ = assigned(send, outbox)
    second = send(create_report_received())
    send(create_assignment_created(second))
    outbox.wait_for(lambda b: sms_to(OFFICER["phone"], "officer_assignment")(b)
                    and second["data"]["number"] in b["data"]["text"])
    send(create_sms_received(OFFICER["phone"], "tiba"))
    assert outbox.wait_for(unmatched_from(OFFICER["phone"]))["data"]["known"] == "which"
    numbers = [second["data"]["number"], first["data"]["number"]]
    send(create_reply_refused(OFFICER["phone"], "which", numbers, action="on_scene"))
    which = outbox.wait_for(sms_to(OFFICER["phone"], "officer_reply_which"))
    assert f"({numbers[0]}, {numbers[1]})" in which["data"]["text"] and f"TIBA {numbers[0]}" in which["data"]["text"]


def test_one_help_sms_per_officer_and_kind_per_interval_and_one_neutral_answer_a_day(start_notify, outbox, send, db):
    start_notify()
    send(create_reply_refused(OFFICER["phone"], "no_code", ["C0FFEE"], action=None))
    help_sms = outbox.wait_for(sms_to(OFFICER["phone"], "officer_reply_help"))
    assert "Tugas aktif: C0FFEE" in help_sms["data"]["text"] and help_sms["data"]["segments"] == 1
    send(create_reply_refused(OFFICER["phone"], "no_code", ["C0FFEE"], action=None))
    stranger = "+6287712345678"
    send(create_reply_refused(stranger, "stranger", nrp=None))
    send(create_reply_refused(stranger, "stranger", nrp=None))
    outbox.wait_for(sms_to(stranger, "stranger_help"))
    outbox.drain(idle=1.0)
    assert db.notifications.count_documents({"to": stranger}) == 1
    assert db.notifications.count_documents({"to": OFFICER["phone"], "kind": "officer_reply_help"}) == 1


def test_a_refusal_said_again_as_dispatch_reads_it_later_gets_the_first_answer_and_no_second_help_sms(
        start_notify, outbox, send, db):
    """dispatch reads a redelivered reply_unmatched against the assignments as they are by then: its refusal,
    said again under the same id, may name other tasks or another kind, and carries a later time (another
    interval). One reply gets one help SMS."""
    start_notify()
    first = send(create_reply_refused(OFFICER["phone"], "which", ["C0FFEE", "BEEF01"], action="on_scene"))
    outbox.wait_for(sms_to(OFFICER["phone"], "officer_reply_which"))
    later = datetime.fromisoformat(first["time"]) + timedelta(hours=1)
    send(create_reply_refused(OFFICER["phone"], "no_code", ["C0FFEE"], action=None)
         | {"id": first["id"], "time": later.isoformat()})
    outbox.drain(idle=1.5)
    assert [sms["kind"] for sms in db.notifications.find({"to": OFFICER["phone"]})] == ["officer_reply_which"]


def test_an_inbound_sms_delivered_again_after_its_assignment_ended_is_answered_the_same_way(
        start_notify, outbox, send, db):
    """Answered from the state it first found: a repeat is not told "not yours" once the assignment ended."""
    start_notify()
    received, created, _ = assigned(send, outbox)
    reply = create_sms_received(OFFICER["phone"], f"OK {received['data']['number']}")
    send(reply)
    first = outbox.wait_for(of_type("officer_replied"))
    send(create_step("completed", created))
    eventually(lambda: db.closed_assignments.find_one({"_id": created["data"]["assignment_id"]}),
               lambda closed: closed is not None)
    send(reply)
    replies = [m for m in outbox.drain(idle=1.0) if m["type"] == "officer_replied"]
    assert [m["id"] for m in replies] == [first["id"], first["id"]]
    assert replies[1]["data"] == first["data"]
    assert not [m for m in outbox.seen if m["type"] == "sms_requested" and m["data"]["to"] == OFFICER["phone"]
                and m["data"]["kind"] != "officer_assignment"]


# ---- what SMS cost --------------------------------------------------------------------------------------

def test_every_sms_records_its_segments_operator_price_and_polsek_and_the_polsek_sees_its_spending(
        start_notify, outbox, send, db, amqp_uri):
    start_notify()
    received, created, officer_sms = assigned(send, outbox)
    stored = db.notifications.find_one({"_id": officer_sms["data"]["sms_id"]})
    assert (stored["segments"], stored["operator"], stored["price"], stored["polsek"]) == (
        1, "telkomsel", 350.0, "31.71.06")
    send(create_sms_accepted(officer_sms["data"]["sms_id"]))
    eventually(lambda: db.notifications.find_one({"_id": officer_sms["data"]["sms_id"]}),
               lambda doc: doc["state"] == "sent")
    with ServiceRpcProxy("notify", {"AMQP_URI": amqp_uri}, timeout=20) as notify:
        spent = notify.sms_spending("31.71.06")
        other = notify.sms_spending("31.71.01")
    assert spent["today"] == spent["month"] == {"sms": 1, "segments": 1, "rupiah": 350.0}  # only what the gateway took
    assert (spent["budget"], spent["state"], other["month"]["sms"]) == (1_500_000.0, "ok", 0)


def test_past_the_monthly_budget_reporters_updates_are_held_and_officers_and_duty_desks_still_get_theirs(
        start_notify, outbox, send, db, amqp_uri):
    start_notify(prices={"MONTHLY_BUDGET": {"31.71.06": 300}, "RECOUNT_SECONDS": 0.2}, **PATIENT)
    first = send(create_report_received())
    reporter_sms = outbox.wait_for(sms_to(REPORTER_PHONE, "reporter_received"))
    send(create_sms_accepted(reporter_sms["data"]["sms_id"]))  # Rp 350 of a Rp 300 budget
    with ServiceRpcProxy("notify", {"AMQP_URI": amqp_uri}, timeout=20) as notify:
        eventually(lambda: notify.sms_spending("31.71.06"), lambda spent: spent["counted"] == 350.0)

    second = send(create_report_received())
    send(create_assignment_created(second))
    send(create_assignment_escalated(first))
    outbox.wait_for(sms_to(OFFICER["phone"], "officer_assignment"))
    outbox.wait_for(sms_to(DUTY_DESK["phone"], "duty_desk_escalation"))
    held = eventually(lambda: db.notifications.find_one({"report_id": second["data"]["report_id"],
                                                          "kind": "reporter_received"}),
                      lambda doc: doc is not None)
    assert held["state"] == "over_budget"
    assert not [m for m in outbox.drain(idle=1.0) if sms_to(REPORTER_PHONE)(m)
                and m["data"]["report_id"] == second["data"]["report_id"]]
    with ServiceRpcProxy("notify", {"AMQP_URI": amqp_uri}, timeout=20) as notify:
        spent = notify.sms_spending("31.71.06")
    assert (spent["state"], spent["held_reporter_updates"], spent["month"]["rupiah"]) == ("over", 1, 350.0)
