"""Cancelling a report, the pure rules: reports' cancellation and its event, dispatch's ending step (no
follow-up), and the board's cancelled card (final whatever the event order)."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from services.console import board
from services.console import domain as console
from services.console.exceptions import Forbidden, InvalidRequest, NotFound
from services.dispatch import assignments as dispatch
from services.notify import domain as notify
from services.reports import cancellation as reports
from services.reports.storage import cancel_update
from shared import sms
from shared.contract import REPORT_CANCELLED, dump_event, load_event
from tests.unit.test_console_domain import OPERATOR, board_after, created, event, received, step

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
LATER = T0 + timedelta(minutes=5)


def cancelled_event(at=LATER):
    return event("report_cancelled", {"report_id": "rep-1", "number": "MTG-0001", "reason": "salah lapor",
                                      "cancelled_by": "piket", "at": at, "previous_status": "assigned",
                                      "village_code": "31.71.06.1001", "polsek": "31.71.06"}, at)


# ---------------------------------------------------------------- reports

@pytest.mark.parametrize("raw, expected", [
    ("  salah   lapor ", "salah lapor"), ("", None), ("   ", None), (None, None), ("x" * 300, "x" * 300),
    ("x" * 301, None)])
def test_a_cancel_reason_is_tidied_and_must_fit_the_contract(raw, expected):
    assert reports.cancel_reason(raw) == expected


def test_the_cancelled_event_is_built_from_the_stored_cancellation_and_keeps_the_contract():
    report = {"_id": "rep-1", "number": "ABC123", "status": "assigned", "place": {"village_code": "31.71.06.1001"}}
    cancellation = reports.cancellation(report, "salah lapor", "piket.menteng", T0)
    changes = cancel_update(cancellation)
    assert changes["$set"]["status"] == "cancelled" and changes["$push"]["history"]["status"] == "cancelled"
    stored = report | {"status": "cancelled", "cancellation": cancellation}
    assert reports.was_cancelled(stored) and not reports.was_cancelled(report | {"status": "cancelled"})
    data = reports.cancelled_event_data(stored)
    assert data == {"report_id": "rep-1", "number": "ABC123", "reason": "salah lapor",
                    "cancelled_by": "piket.menteng", "at": T0, "previous_status": "assigned",
                    "village_code": "31.71.06.1001", "polsek": "31.71.06"}
    envelope = dump_event(REPORT_CANCELLED, data, source="/siaga/reports", id=reports.cancel_event_id("rep-1"))
    assert load_event(envelope, REPORT_CANCELLED).data["reason"] == "salah lapor"
    assert reports.cancel_event_id("rep-1") == reports.cancel_event_id("rep-1") != reports.cancel_event_id("rep-2")


# ---------------------------------------------------------------- dispatch

def test_an_assignment_ended_by_a_cancellation_is_declined_with_the_reason_and_never_followed_up():
    assignment = {"_id": "a1", "state": "en_route", "history": [{"state": "created", "at": T0, "via": "system"}]}
    entry = dispatch.cancellation_step(assignment, "  salah   lapor ", LATER)
    after = dispatch.moved(assignment, entry)
    assert (after["state"], after["due_at"], after["successor"]) == ("declined", None, "report_cancelled")
    assert entry["reason"] == "report cancelled: salah lapor" and entry["via"] == "console"
    assert dispatch.ended_by_cancellation(after)
    assert dispatch.OFFICER_STATUS[after["state"]] is None  # the officer is released
    plain = dispatch.moved(assignment | {"state": "created"}, dispatch.step(assignment, "declined", LATER, "sms"))
    assert plain["due_at"] == LATER and "successor" not in plain and not dispatch.ended_by_cancellation(plain)
    long = dispatch.cancellation_step(assignment, "x" * 400, LATER)
    assert len(long["reason"]) == dispatch.REASSIGN_NOTE_LIMIT


def test_the_decline_ending_a_cancelled_reports_assignment_says_so_in_a_field_a_typed_reason_cannot_fake():
    assignment = {"_id": "a1", "report_id": "rep-1", "report": {"number": "MTG001"}, "state": "en_route",
                  "officer": {"nrp": "90120344"}, "history": [{"state": "created", "at": T0, "via": "system"}]}
    cancelled = dispatch.moved(assignment, dispatch.cancellation_step(assignment, "salah lapor", LATER))
    assert dispatch.step_event_data(cancelled, "declined")["report_cancelled"] is True
    typed = dispatch.step(assignment, "declined", LATER, "sms", "report cancelled: kata warga")
    assert "report_cancelled" not in dispatch.step_event_data(dispatch.moved(assignment, typed), "declined")


# ---------------------------------------------------------------- the board

EVENTS = [received(), created(), step("assignment_acknowledged", at=T0 + timedelta(minutes=1)), cancelled_event(),
          step("assignment_declined", at=LATER, reason="report cancelled: salah lapor")]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(EVENTS))))[::7])
def test_a_cancelled_report_is_closed_on_the_board_whatever_order_the_events_arrive_in(order):
    entry = board_after([EVENTS[i] for i in order])
    assert (entry["status"], entry["open"], entry["closed_at"]) == ("cancelled", False, LATER)
    card = board.card(entry)
    assert card["assignment"] is None and card["cancellation"]["reason"] == "salah lapor"
    assert any(s["state"] == "cancelled" and (s["note"], s["by"]) == ("salah lapor", "piket") for s in card["timeline"])


def test_a_completion_after_the_cancellation_does_not_reopen_or_resolve_it():
    entry = board_after([received(), created(), cancelled_event(), step("assignment_completed", outcome="x",
                                                                        at=LATER + timedelta(minutes=1))])
    assert entry["status"] == "cancelled"


def test_only_the_reports_own_polsek_may_cancel_it_and_a_reason_is_required():
    entry = board_after([received(), created()])
    console.check_may_cancel(OPERATOR, entry)
    with pytest.raises(Forbidden, match="bukan wilayah Polsek Anda"):
        console.check_may_cancel({"_id": "gambir", "polseks": ["31.71.01"]}, entry)
    with pytest.raises(NotFound):
        console.check_may_cancel(OPERATOR, None)
    assert console.cancel_reason({"reason": "  salah  lapor "}) == "salah lapor"
    with pytest.raises(InvalidRequest, match="Isi alasan pembatalan"):
        console.cancel_reason({})
    with pytest.raises(InvalidRequest, match="terlalu panjang"):
        console.cancel_reason({"reason": "x" * 301})


# ---------------------------------------------------------------- notify

def test_only_the_officer_of_a_cancelled_report_gets_a_one_segment_stand_down_sms():
    officer = {"nrp": "90120344", "name": "Bripda Rizky Pratama", "rank": "Bripda", "role": "polisi_rw",
               "phone": "+6281234500001"}
    data = {"assignment_id": "a1", "report_id": "rep-1", "number": "MTG001", "officer": officer, "at": LATER,
            "via": "console", "reason": "report cancelled: pelapor menelepon, salah lapor", "report_cancelled": True}
    messages = notify.officer_report_cancelled_sms(event("assignment_declined", data, LATER, id="d1"))
    [sms_request] = messages
    assert sms_request["to"] == "+6281234500001" and sms_request["kind"] == "officer_report_cancelled"
    assert "#MTG001" in sms_request["text"] and "pelapor menelepon, salah lapor" in sms_request["text"]
    assert sms.encode_info(sms_request["text"])[2] == 1
    again = notify.officer_report_cancelled_sms(event("assignment_declined", data, LATER, id="d1"))
    assert again[0]["sms_id"] == sms_request["sms_id"]
    plain_decline = data | {"reason": "sakit", "report_cancelled": False}
    assert notify.officer_report_cancelled_sms(event("assignment_declined", plain_decline, LATER)) == []


def test_an_answer_for_an_assignment_of_a_cancelled_report_is_refused_with_that_reason():
    assignment = {"_id": "a1", "state": "acknowledged", "officer": {"nrp": "90120344", "name": "Bripda Rizky"},
                  "report": {"number": "MTG001", "village_code": "31.71.06.1001"}, "created_at": T0,
                  "history": [{"state": "created", "at": T0, "via": "system"}]}
    after = dispatch.moved(assignment, dispatch.cancellation_step(assignment, "salah lapor", LATER))
    for action in ("decline", "complete", "acknowledge"):
        with pytest.raises(dispatch.InvalidTransition, match="report #MTG001 was cancelled at 08:05 WIB"):
            dispatch.decide(after, action)
    with pytest.raises(dispatch.InvalidTransition, match="cancelled with its report"):
        dispatch.check_reassignment(after, {"_id": "75030412", "name": "Bripka Agus", "role": "polisi_rw"})
