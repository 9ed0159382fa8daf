"""The duty desk's hands on an escalated report: send a named free officer of the Polsek (claimed, with a
deadline, said as assignment_created) or close it with an outcome (assignment_completed of the desk);
each decided once per escalation, refused with a reason a person reads."""
from __future__ import annotations

import pytest

from services.dispatch.exceptions import DispatchError, InvalidTransition, OfficerNotFree
from services.dispatch.settings import Settings
from shared.contract import ASSIGNMENT_COMPLETED, ASSIGNMENT_CREATED, REPORT_RECEIVED, load_event
from shared.envelope import utcnow
from tests.factories import create_report_received
from tests.factories.dispatch import DUTY_DESK, PATROL_YOGA, create_officer, load_demo_roster
from tests.fakes.dispatch_store import FakeDispatchStore

SETTINGS = Settings()
GAMBIR_OFFICER = "99000001"


@pytest.fixture
def store():
    # Only the duty desk and a patrol unit: every report escalates; one officer of another Polsek.
    return load_demo_roster(FakeDispatchStore(SETTINGS), only={DUTY_DESK, PATROL_YOGA},
                            extra=[create_officer(GAMBIR_OFFICER, polsek="31.71.01")])


@pytest.fixture
def escalated(service, published):
    event = load_event(create_report_received(data={"place": {"lat": None, "lon": None,
                                                              "village_code": "31.71.06.1004", "rw": 3}}),
                       REPORT_RECEIVED)
    service.handle_report_received(event)
    (escalation,) = published.of("assignment_escalated")
    assert escalation["rules"] == ["no_area_officer", "nobody_nearby"]
    return event.data["report_id"]


def test_the_desk_sends_a_named_free_officer_claimed_with_a_deadline(service, published, store, escalated):
    view = service.send_officer_to_escalated_report(escalated, PATROL_YOGA, "dekat lokasi",
                                                    by_operator="piket.menteng")
    (created,) = published.of(ASSIGNMENT_CREATED.name)
    assert created["officer"]["nrp"] == PATROL_YOGA and created["rule"] == "named_by_console"
    assert created["attempt"] == 1 and created["ack_deadline"]
    assert created["reason_bahasa"] == "ditunjuk piket lewat konsol: dekat lokasi"
    assert store.officer(PATROL_YOGA)["assignment_id"] == view["assignment_id"] == created["assignment_id"]


def test_sending_again_says_the_same_event_and_sending_someone_else_is_refused(service, published, escalated):
    service.send_officer_to_escalated_report(escalated, PATROL_YOGA, "x", by_operator="piket.menteng")
    service.send_officer_to_escalated_report(escalated, PATROL_YOGA, "x", by_operator="piket.menteng")
    first, again = published.of(ASSIGNMENT_CREATED.name)
    assert first == again
    with pytest.raises(InvalidTransition, match="already went to|already sent"):
        service.close_escalated_report(escalated, "handled_by_desk", by_operator="piket.menteng")


def test_an_officer_of_another_polsek_the_desk_or_a_busy_one_is_refused(service, store, escalated):
    with pytest.raises(OfficerNotFree, match="not an officer of Polsek 31.71.06"):
        service.send_officer_to_escalated_report(escalated, GAMBIR_OFFICER, "x", by_operator="piket.menteng")
    with pytest.raises(OfficerNotFree, match="duty desk"):
        service.send_officer_to_escalated_report(escalated, DUTY_DESK, "x", by_operator="piket.menteng")
    store.update_status(PATROL_YOGA, "off_duty", utcnow())
    with pytest.raises(OfficerNotFree, match="off_duty"):
        service.send_officer_to_escalated_report(escalated, PATROL_YOGA, "x", by_operator="piket.menteng")


def test_the_desk_closes_it_with_an_outcome_said_as_completed(service, published, store, escalated):
    view = service.close_escalated_report(escalated, "referred_to_polres", "pelaku dibawa ke Polres",
                                          by_operator="piket.menteng")
    (completed,) = published.of(ASSIGNMENT_COMPLETED.name)
    assert completed["officer"]["nrp"] == DUTY_DESK and completed["desk_outcome"] == "referred_to_polres"
    assert completed["outcome"] == "diteruskan ke Polres: pelaku dibawa ke Polres"
    assert completed["by_operator"] == "piket.menteng" and completed["via"] == "console"
    assert view["state"] == "completed"
    service.close_escalated_report(escalated, "referred_to_polres", "pelaku dibawa ke Polres",
                                   by_operator="piket.menteng")
    assert published.of(ASSIGNMENT_COMPLETED.name)[0] == published.of(ASSIGNMENT_COMPLETED.name)[-1]
    with pytest.raises(InvalidTransition, match="already closed by the duty desk"):
        service.send_officer_to_escalated_report(escalated, PATROL_YOGA, "x", by_operator="piket.menteng")


def test_an_unknown_outcome_or_a_report_not_escalated_is_refused(service, escalated):
    with pytest.raises(DispatchError, match="one of handled_by_desk"):
        service.close_escalated_report(escalated, "lost", by_operator="piket.menteng")
    with pytest.raises(InvalidTransition, match="not escalated"):
        service.close_escalated_report("no-such-report", "handled_by_desk", by_operator="piket.menteng")
