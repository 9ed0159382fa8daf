"""Dispatch's service layer without a broker or a database: the use cases over the in-memory store,
and the service's entrypoints through nameko's worker_factory."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from services.dispatch import usecases
from services.dispatch.exceptions import DispatchError, InvalidTransition, OfficerNotFree, OfficerOnAssignment
from services.dispatch.settings import Settings
from shared.contract import REPORT_RECEIVED, load_event
from shared.envelope import utcnow
from tests.factories import create_report_received
from tests.factories.dispatch import BHABIN_MENTENG, DUTY_DESK, PATROL_YOGA, POLISI_RW_MENTENG_RW05, load_demo_roster
from tests.fakes.dispatch_store import FakeDispatchStore

SETTINGS = Settings()


@pytest.fixture
def store():
    return load_demo_roster(FakeDispatchStore(SETTINGS))


def received(**data):
    return load_event(create_report_received(**data), REPORT_RECEIVED)


def claimed(store) -> dict[str, str]:
    return {nrp: o["assignment_id"] for nrp, o in store.officers.items() if o["assignment_id"]}


def test_a_report_goes_to_the_rws_polisi_rw(service, published, store):
    service.handle_report_received(received())
    (created,) = published.of("assignment_created")
    assert (created["officer"]["nrp"], created["rule"]) == (POLISI_RW_MENTENG_RW05, "area_polisi_rw")
    assert claimed(store) == {POLISI_RW_MENTENG_RW05: created["assignment_id"]}


def test_a_redelivered_report_received_says_the_same_assignment_again_and_claims_nobody_new(
        service, published, store):
    event = received()
    service.handle_report_received(event)
    service.handle_report_received(event)
    first, again = [(data, envelope) for name, data, envelope in published if name == "assignment_created"]
    assert first == again
    assert len(claimed(store)) == 1 and len(store.assignments) == 1


def test_a_report_is_decided_without_first_reading_for_a_stored_decision(store, published):
    """The insert is the fence: a read before it is a round trip spent on every report for a rare redelivery."""
    reads = []
    store.decision = lambda decision_id: reads.append(decision_id)
    usecases.assign_report(store, published, SETTINGS, utcnow(), received())
    assert reads == [] and len(published.of("assignment_created")) == 1


def test_a_report_redelivered_after_its_officer_finished_says_the_assignment_again_and_leaves_him_free(
        store, published):
    event = received()
    first = usecases.assign_report(store, published, SETTINGS, utcnow(), event).assignment
    usecases.act(store, published, SETTINGS, utcnow(), first["_id"], "complete", "sms")
    usecases.assign_report(store, published, SETTINGS, utcnow(), event)
    created = published.of("assignment_created")
    assert len(created) == 2 and created[0] == created[1] and len(store.assignments) == 1
    assert claimed(store) == {} and store.officer(first["officer"]["nrp"])["status"] == "available"


def test_a_report_redelivered_after_it_was_escalated_is_escalated_again_and_claims_an_officer_freed_since_not(
        store, published):
    busy = {nrp for nrp, officer in store.officers.items() if officer["status"] == "available"}
    for nrp in busy:
        store.officers[nrp]["status"] = "off_duty"
    event = received()
    usecases.assign_report(store, published, SETTINGS, utcnow(), event)
    for nrp in busy:
        store.officers[nrp]["status"] = "available"
    usecases.assign_report(store, published, SETTINGS, utcnow(), event)
    first, again = published.of("assignment_escalated")
    assert first == again and published.of("assignment_created") == [] and claimed(store) == {}


def test_a_declined_assignments_officer_is_free_and_the_next_candidate_is_claimed(service, published, store):
    service.handle_report_received(received())
    first = published.of("assignment_created")[0]["assignment_id"]
    view = service.decline_assignment(first, "sedang di TKP lain", by_operator="piket.menteng")
    assert view["state"] == "declined"
    assert store.officer(POLISI_RW_MENTENG_RW05)["status"] == "available"
    assert published.names() == ["assignment_created", "assignment_declined", "assignment_created"]
    following = published.of("assignment_created")[1]
    assert (following["officer"]["nrp"], following["attempt"]) == (BHABIN_MENTENG, 2)
    assert POLISI_RW_MENTENG_RW05 not in claimed(store) and BHABIN_MENTENG in claimed(store)
    assert store.assignments[first]["successor"] == following["assignment_id"]
    assert store.stalled_follow_ups(utcnow() + timedelta(hours=1)) == []  # the follow-up is finished


def test_after_n_declines_the_duty_desk_is_engaged(service, published, store):
    store.update_location(PATROL_YOGA, -6.1950, 106.8320, utcnow())  # a third candidate, nearby
    service.handle_report_received(received())
    for _ in range(SETTINGS.max_tries):
        service.decline_assignment(published.of("assignment_created")[-1]["assignment_id"], "tidak bisa",
                                   by_operator="piket.menteng")
    assert len(published.of("assignment_created")) == SETTINGS.max_tries
    (escalated,) = published.of("assignment_escalated")
    assert escalated["duty_desk"]["nrp"] == DUTY_DESK
    assert (escalated["reason"], escalated["attempts"]) == (f"{SETTINGS.max_tries} officers tried, none took it",
                                                          SETTINGS.max_tries)
    assert claimed(store) == {}


def test_a_cancelled_reports_follow_up_claims_nobody(store, published):
    outcome = usecases.assign_report(store, published, SETTINGS, utcnow(), received(report_id="rep-x"))
    store.remember_cancellation("rep-x", utcnow())  # the cancellation arrived while the officer declined
    usecases.act(store, published, SETTINGS, utcnow(), outcome.assignment["_id"], "decline", "sms", "tidak bisa")
    assert claimed(store) == {} and len(published.of("assignment_created")) == 1
    assert store.assignments[outcome.assignment["_id"]]["successor"] == "report_cancelled"


def test_a_cancelled_report_ends_its_assignment_frees_the_officer_and_says_it_again_on_redelivery(store, published):
    outcome = usecases.assign_report(store, published, SETTINGS, utcnow(), received(report_id="rep-y"))
    for _ in range(2):
        usecases.cancel_report(store, published, utcnow(), "rep-y", "salah lapor")
    first, again = published.of("assignment_declined")
    assert first == again and first["reason"] == "report cancelled: salah lapor"
    assert claimed(store) == {} and store.assignment(outcome.assignment["_id"])["successor"] == "report_cancelled"
    with pytest.raises(InvalidTransition, match="was cancelled"):
        usecases.act(store, published, SETTINGS, utcnow(), outcome.assignment["_id"], "acknowledge", "console",
                     by_operator="piket.menteng")


def test_reassign_claims_the_named_officer(service, published, store):
    service.handle_report_received(received())
    first = published.of("assignment_created")[0]["assignment_id"]
    result = service.reassign_assignment(first, PATROL_YOGA, "dekat lokasi, lapor via radio",
                                          by_operator="piket.menteng")
    assert result["ended"]["state"] == "declined" and result["escalation"] is None
    assert (result["assignment"]["officer"]["nrp"], result["assignment"]["rule"]) == (PATROL_YOGA, "named_by_console")
    assert claimed(store) == {PATROL_YOGA: result["assignment"]["assignment_id"]}


def test_reassigning_to_a_busy_officer_is_refused_and_changes_nothing(service, published, store):
    service.handle_report_received(received())
    service.handle_report_received(received())
    first, second = [c["assignment_id"] for c in published.of("assignment_created")]
    with pytest.raises(OfficerNotFree):
        service.reassign_assignment(first, BHABIN_MENTENG, "dia dekat", by_operator="piket.menteng")
    assert store.assignment(first)["state"] == "created" and claimed(store)[BHABIN_MENTENG] == second


def test_an_expired_assignment_goes_to_the_next_officer(store, published):
    now = utcnow()
    outcome = usecases.assign_report(store, published, SETTINGS, now, received())
    later = now + timedelta(seconds=SETTINGS.ack_seconds["P1"] + 1)
    usecases.expire_overdue(store, published, SETTINGS, later)
    usecases.expire_overdue(store, published, SETTINGS, later)  # another replica's sweep: nothing twice
    assert published.names() == ["assignment_created", "assignment_expired", "assignment_created"]
    assert published.of("assignment_expired")[0]["assignment_id"] == outcome.assignment["_id"]
    assert published.of("assignment_created")[1]["officer"]["nrp"] == BHABIN_MENTENG


def test_a_follow_up_a_dead_worker_left_half_done_is_finished_by_the_sweep(store, published):
    now = utcnow()
    outcome = usecases.assign_report(store, published, SETTINGS, now, received())
    read = store.assignment(outcome.assignment["_id"])
    store.move(read, {"state": "declined", "at": now, "via": "sms", "reason": "x"})  # then the worker died
    assert store.officer(POLISI_RW_MENTENG_RW05)["assignment_id"] == read["_id"]
    usecases.expire_overdue(store, published, SETTINGS, now + timedelta(seconds=SETTINGS.follow_up_grace_s))
    assert published.names() == ["assignment_created", "assignment_declined", "assignment_created"]
    assert POLISI_RW_MENTENG_RW05 not in claimed(store) and BHABIN_MENTENG in claimed(store)


def test_a_follow_up_a_sweep_takes_from_a_slow_worker_is_said_again_as_the_same_events(store, published):
    """A worker slower than the grace looks dead: the sweep's repeat must be a redelivery (same data, cause and
    time, so the same derived ids) that consumers drop, not a second officer or a second expiry."""
    now = utcnow()
    outcome = usecases.assign_report(store, published, SETTINGS, now, received())
    later = now + timedelta(seconds=SETTINGS.ack_seconds["P1"] + 1)
    ended = usecases.mark_expired(store, later, store.assignment(outcome.assignment["_id"]), "not acknowledged")
    usecases.settle(store, published, SETTINGS, later, ended)  # the slow worker
    grace = later + timedelta(seconds=SETTINGS.follow_up_grace_s)
    usecases.settle(store, published, SETTINGS, grace, ended)  # the sweep that leased it meanwhile
    first, again = published[1:3], published[3:]
    assert [name for name, _, _ in first] == ["assignment_expired", "assignment_created"]
    assert again == first
    assert len(store.assignments) == 2 and BHABIN_MENTENG in claimed(store)


def test_an_officer_the_assignment_sms_never_reached_is_replaced(service, published, store):
    service.handle_report_received(received())
    first = published.of("assignment_created")[0]["assignment_id"]
    service.handle_sms_failed(SimpleNamespace(id="e-sms", data={
        "recipient_role": "officer", "assignment_id": first, "kind": "officer_assignment",
        "reason": "gateway said no"}))
    assert published.of("assignment_expired")[0]["reason"] == "officer unreachable by SMS (gateway said no)"
    assert published.of("assignment_created")[1]["officer"]["nrp"] == BHABIN_MENTENG


def test_an_sms_reply_that_does_not_fit_changes_nothing(service, published, store):
    service.handle_report_received(received())
    first = published.of("assignment_created")[0]["assignment_id"]
    reply = SimpleNamespace(id="e-r", data={"assignment_id": first, "action": "acknowledge", "nrp": "99999999"})
    service.handle_officer_replied(reply)
    assert published.names() == ["assignment_created"] and store.assignment(first)["state"] == "created"


def test_an_officer_cannot_go_off_duty_while_on_an_assignment_but_can_after(service, store):
    service.handle_report_received(received())
    with pytest.raises(OfficerOnAssignment, match="complete or decline it first"):
        service.update_officer_status(POLISI_RW_MENTENG_RW05, "off_duty")
    assert service.update_officer_status(BHABIN_MENTENG, "off_duty")["status"] == "off_duty"
    with pytest.raises(DispatchError, match="a console may set off_duty, available or unavailable"):
        service.update_officer_status(BHABIN_MENTENG, "on_scene")


@pytest.mark.parametrize("tries", [1, SETTINGS.max_tries])
def test_a_successor_is_decided_after_the_step_that_ended_its_predecessor(store, published, tries):
    """reports orders a report's assignments by these times: a tie let a redelivered expiry of the
    last officer take the report back from the duty desk (or from the next officer)."""
    now = utcnow()
    usecases.assign_report(store, published, SETTINGS, now, received())
    for attempt in range(1, tries + 1):
        later = now + attempt * timedelta(seconds=SETTINGS.ack_seconds["P1"] + 1)
        usecases.expire_overdue(store, published, SETTINGS, later)
    ended_at = published.of("assignment_expired")[-1]["at"]
    successor_time = [envelope["time"] for name, _, envelope in published
                      if name in ("assignment_created", "assignment_escalated")][-1]
    assert successor_time > ended_at


def unmatched(phone: str, action: str | None, number: str | None = None, text: str | None = None):
    return SimpleNamespace(id=f"e-u-{phone}-{action}-{number}", data={
        "phone": phone, "action": action, "number": number, "text": text, "replied_at": utcnow()})


def test_a_reply_notify_could_not_match_acts_on_the_assignment_dispatch_holds(service, published, store):
    """notify lost its record of the officer's SMS: the officer is still heard, never told "not yours"."""
    service.handle_report_received(received())
    created = published.of("assignment_created")[0]
    phone, number = created["officer"]["phone"], created["report"]["number"]
    service.handle_reply_unmatched(unmatched(phone, "acknowledge", number))
    assert published.names() == ["assignment_created", "assignment_acknowledged"]
    assert store.assignment(created["assignment_id"])["state"] == "acknowledged"


def test_a_repeated_reply_to_a_completed_task_is_acknowledged_as_done(service, published, store):
    service.handle_report_received(received())
    created = published.of("assignment_created")[0]
    usecases.act(store, published, SETTINGS, utcnow(), created["assignment_id"], "complete", "sms",
                 by_nrp=created["officer"]["nrp"])
    service.handle_reply_unmatched(unmatched(created["officer"]["phone"], "complete", created["report"]["number"]))
    assert published.of("reply_refused")[-1] | {"phone": None} == {
        "phone": None, "nrp": created["officer"]["nrp"], "reason": "finished", "action": "complete",
        "number": created["report"]["number"], "open_numbers": []}


@pytest.mark.parametrize("action, number, reason", [
    ("acknowledge", "999999", "not_yours"),
    (None, None, "no_code"),
])
def test_an_officers_reply_that_fits_nothing_is_refused_with_his_open_tasks(service, published, store,
                                                                             action, number, reason):
    service.handle_report_received(received())
    created = published.of("assignment_created")[0]
    service.handle_reply_unmatched(unmatched(created["officer"]["phone"], action, number))
    refused = published.of("reply_refused")[0]
    assert (refused["reason"], refused["open_numbers"]) == (reason, [created["report"]["number"]])
    assert store.assignment(created["assignment_id"])["state"] == "created"


def test_a_number_that_is_no_officers_is_a_stranger_whatever_it_types(service, published, store):
    service.handle_report_received(received())
    number = published.of("assignment_created")[0]["report"]["number"]
    service.handle_reply_unmatched(unmatched("+6287712345678", "acknowledge", number))
    assert published.of("reply_refused") == [{
        "phone": "+6287712345678", "nrp": None, "action": "acknowledge", "reason": "stranger", "number": number,
        "open_numbers": []}]


def test_an_assignment_left_unacknowledged_is_said_again_once_as_stored(store, published):
    """A P4 report: its officer has an hour to answer, longer than the wait before it is said again."""
    now = utcnow()
    outcome = usecases.assign_report(store, published, SETTINGS, now, received(data={"priority": "P4"}))
    first = published[-1]
    usecases.expire_overdue(store, published, SETTINGS, now + timedelta(seconds=SETTINGS.reannounce_s - 1))
    assert published.names() == ["assignment_created"]
    for _ in range(2):
        usecases.expire_overdue(store, published, SETTINGS, now + timedelta(seconds=SETTINGS.reannounce_s + 1))
    assert published.names() == ["assignment_created", "assignment_created"]
    again = published[-1]
    assert again[1] == first[1] and again[2]["id"] == store.assignment(outcome.assignment["_id"])["event_id"]
    deadline = now + timedelta(seconds=SETTINGS.ack_seconds["P4"])
    usecases.expire_overdue(store, published, SETTINGS, deadline - timedelta(seconds=1))
    assert len(published) == 2
    usecases.expire_overdue(store, published, SETTINGS, deadline + timedelta(seconds=1))  # then its deadline
    assert published.names()[2:] == ["assignment_expired", "assignment_created"]
