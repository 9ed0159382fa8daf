"""Cancelling a report, on the real broker and database: reports decides it (final, once, same event
id on a repeat, a readable refusal otherwise), dispatch ends the assignment and frees the officer without
trying anyone else, and the console cancels for its own Polsek only and shows the report cancelled."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_waiter

from tests.factories import create_incident, create_report_received, of_type, wait_until
from tests.factories.console import ConsoleClient, base_url, start_console
from tests.factories.reports import dispatch_event_at

pytestmark = pytest.mark.integration


def matching(tap, predicate, count: int, timeout: float = 20.0) -> list[dict]:
    """Wait (with a deadline) until the tap has seen `count` messages matching; the tap's seen list keeps all."""
    deadline = time.monotonic() + timeout
    while True:
        found = [body for body in tap.drain(idle=0.2) if predicate(body)]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {count} matching events within {timeout}s"


def received_report(publish_raw, reports_events) -> dict:
    publish_raw(create_incident())
    return reports_events.wait_for(of_type("report_received"))["data"]


def report_cancelled(report_id: str, reason: str = "pelapor menelepon: salah lapor") -> dict:
    """report_cancelled as reports publishes it (for dispatch tests that run without reports)."""
    now = datetime.now(timezone.utc).isoformat()
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/siaga/reports", "type": "report_cancelled",
            "time": now, "correlationid": report_id,
            "data": {"report_id": report_id, "number": "MTG001", "reason": reason, "cancelled_by": "piket.menteng",
                     "at": now, "previous_status": "assigned", "village_code": "31.71.06.1001",
                     "polsek": "31.71.06"}}


# ---------------------------------------------------------------- reports

def test_cancel_by_rpc_makes_the_report_cancelled_and_says_so_once(reports_rpc, publish_raw, reports_events):
    report = received_report(publish_raw, reports_events)
    view = reports_rpc.cancel_report(report["report_id"], "  pelapor   menelepon: salah lapor ", "piket.menteng")
    assert view["status"] == "cancelled"
    assert view["cancellation"]["reason"] == "pelapor menelepon: salah lapor"
    assert view["cancellation"]["by"] == "piket.menteng"
    assert view["history"][-1]["status"] == "cancelled"
    first = reports_events.wait_for(of_type("report_cancelled", report_id=report["report_id"]))
    assert first["data"]["cancelled_by"] == "piket.menteng" and first["data"]["polsek"] == "31.71.06"
    assert first["data"]["previous_status"] == "received" and first["correlationid"] == report["report_id"]

    again = reports_rpc.cancel_report(report["report_id"], "another reason", "someone.else")
    assert again["cancellation"] == view["cancellation"]  # a no-op: the first cancellation stands
    first, second = matching(reports_events, of_type("report_cancelled", report_id=report["report_id"]), 2)
    assert second["id"] == first["id"] and second["data"] == first["data"]
    assert reports_rpc.get_report(report["report_id"])["status"] == "cancelled"


def test_a_resolved_unknown_or_reasonless_cancellation_is_refused_with_a_reason(
        reports_rpc, publish_raw, reports_events, mongo_client, db_names):
    report = received_report(publish_raw, reports_events)
    mongo_client[db_names["reports"]].reports.update_one({"_id": report["report_id"]},
                                                         {"$set": {"status": "resolved"}})
    with pytest.raises(RemoteError) as refused:
        reports_rpc.cancel_report(report["report_id"], "salah lapor", "piket.menteng")
    assert refused.value.exc_type == "NotCancellable"
    assert f"report #{report['number']}" in refused.value.value and "already resolved" in refused.value.value
    assert reports_rpc.get_report(report["report_id"])["status"] == "resolved"

    with pytest.raises(RemoteError) as unknown:
        reports_rpc.cancel_report("no-such-report", "salah lapor", "piket.menteng")
    assert unknown.value.exc_type == "ReportNotFound"
    with pytest.raises(RemoteError) as reasonless:
        reports_rpc.cancel_report(report["report_id"], "   ", "piket.menteng")
    assert reasonless.value.exc_type == "InvalidCancellation" and "reason" in reasonless.value.value
    assert [e["type"] for e in reports_events.drain()] == ["report_received"]


def test_assignment_events_after_the_cancellation_do_not_reopen_the_report(
        reports_rpc, publish_raw, reports_events, mongo_client, db_names):
    report = received_report(publish_raw, reports_events)
    reports_rpc.cancel_report(report["report_id"], "salah lapor", "piket.menteng")
    reports_events.wait_for(of_type("report_cancelled"))
    publish_raw(dispatch_event_at("assignment_created", report["report_id"], "late-1", datetime.now(timezone.utc)),
                exchange="dispatch.events", routing_key="assignment_created")
    reports = mongo_client[db_names["reports"]].reports
    stored = wait_until(lambda: reports.find_one({"_id": report["report_id"]}),
                        lambda doc: "late-1" in doc.get("assignments", {}))
    assert stored["status"] == "cancelled" and stored["history"][-1]["status"] == "cancelled"


# ---------------------------------------------------------------- dispatch

@pytest.fixture
def dispatch_container(store, start_dispatch):
    return start_dispatch(), store


def test_dispatch_frees_the_officer_of_a_cancelled_report_and_tries_nobody_else(
        dispatch_container, publish_raw, tap):
    container, store = dispatch_container
    events = tap(("dispatch.events", "#"))
    received = create_report_received()
    report_id = received["data"]["report_id"]
    publish_raw(received, exchange="reports.events", routing_key="report_received")
    created = events.wait_for(of_type("assignment_created"))["data"]
    nrp = created["officer"]["nrp"]
    assert store.officer(nrp)["assignment_id"] == created["assignment_id"]

    cancelled = report_cancelled(report_id)
    publish_raw(cancelled, exchange="reports.events", routing_key="report_cancelled")
    declined = events.wait_for(of_type("assignment_declined", assignment_id=created["assignment_id"]))
    assert declined["data"]["reason"] == "report cancelled: pelapor menelepon: salah lapor"
    officer = store.officer(nrp)
    assert officer["status"] == "available" and officer["assignment_id"] is None
    assignment = store.assignment(created["assignment_id"])
    assert (assignment["state"], assignment["due_at"], assignment["successor"]) == (
        "declined", None, "report_cancelled")

    # a redelivery says the same thing again (same id); nobody else was tried meanwhile
    with entrypoint_waiter(container, "handle_report_cancelled"):
        publish_raw(cancelled, exchange="reports.events", routing_key="report_cancelled")
    first, again = matching(events, of_type("assignment_declined", assignment_id=created["assignment_id"]), 2)
    assert again["id"] == first["id"] == declined["id"]
    assert [a["_id"] for a in store.assignments_for(report_id)] == [created["assignment_id"]]
    assert [e["type"] for e in events.drain() if e["type"] in ("assignment_created", "assignment_escalated")] == [
        "assignment_created"]


def test_a_report_cancelled_before_dispatch_saw_it_ends_declined_with_its_officer_free(
        reports_rpc, publish_raw, reports_events, tap, store, start_dispatch, mongo_client, db_names):
    """Dispatch does not look for a cancellation before claiming (a read per report saved): in whichever
    order report_received and report_cancelled reach it, the assignment ends and the officer is free."""
    events = tap(("dispatch.events", "#"))
    report = received_report(publish_raw, reports_events)  # dispatch is not running: both events wait
    reports_rpc.cancel_report(report["report_id"], "salah lapor", "piket.menteng")
    start_dispatch()

    created = events.wait_for(of_type("assignment_created"))["data"]
    declined = events.wait_for(of_type("assignment_declined", assignment_id=created["assignment_id"]))["data"]
    assert declined["reason"] == "report cancelled: salah lapor"
    officer = wait_until(lambda: store.officer(created["officer"]["nrp"]), lambda o: o["status"] == "available")
    assert officer["assignment_id"] is None
    assert [a["_id"] for a in store.assignments_for(report["report_id"])] == [created["assignment_id"]]
    reports = mongo_client[db_names["reports"]].reports
    assert reports.find_one({"_id": report["report_id"]})["status"] == "cancelled"


# ---------------------------------------------------------------- console

@pytest.fixture
def system(declared_with_console, mongo_client, db_names, container_factory, config_for):
    """reports, dispatch (demo roster) and the console, as the demo runs them."""
    return start_console(container_factory, config_for, mongo_client, db_names, reports=True)


def test_the_console_cancels_its_own_polseks_report_and_the_board_shows_it_cancelled(
        system, publish_raw, tap, mongo_client, db_names):
    events = tap(("dispatch.events", "#"), ("reports.events", "report_cancelled"))
    client = ConsoleClient(base_url(system))
    assert client.log_in().status_code == 200
    publish_raw(create_incident())
    created = events.wait_for(of_type("assignment_created"))["data"]
    report_id = created["report"]["report_id"]
    client.wait_for_card(lambda c: c["report_id"] == report_id and c["status"] == "assigned")

    gambir = ConsoleClient(base_url(system))
    assert gambir.log_in("piket.gambir").status_code == 200
    refused = gambir.post(f"/api/reports/{report_id}/cancel", {"reason": "bukan urusan kami"})
    assert refused.status_code == 403 and "bukan wilayah Polsek Anda" in refused.json()["error"]
    missing = client.post(f"/api/reports/{report_id}/cancel", {"reason": "  "})
    assert (missing.status_code, missing.json()["error"]) == (400, "Isi alasan pembatalan.")
    assert client.post(f"/api/reports/{report_id}/cancel", {"reason": "x"}, csrf=False).status_code == 403

    response = client.post(f"/api/reports/{report_id}/cancel", {"reason": "Pelapor menelepon: salah lapor"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    cancelled = events.wait_for(of_type("report_cancelled", report_id=report_id))
    assert cancelled["data"]["cancelled_by"] == "piket.menteng"
    events.wait_for(of_type("assignment_declined", assignment_id=created["assignment_id"]))
    card = client.wait_for_card(lambda c: c["report_id"] == report_id and c["status"] == "cancelled")
    assert card["open"] is False and card["assignment"] is None
    assert card["cancellation"]["reason"] == "Pelapor menelepon: salah lapor"
    assert card["timeline"][-1]["state"] in ("cancelled", "declined")
    officer = mongo_client[db_names["dispatch"]].officers.find_one({"_id": created["officer"]["nrp"]})
    assert officer["status"] == "available" and officer["assignment_id"] is None

    again = client.post(f"/api/reports/{report_id}/cancel", {"reason": "sekali lagi"})
    assert again.status_code == 200 and again.json()["cancellation"]["reason"] == "Pelapor menelepon: salah lapor"
    assert gambir.board() == []


def test_the_console_shows_reports_reason_when_a_report_cannot_be_cancelled(
        system, publish_raw, tap, mongo_client, db_names):
    events = tap(("dispatch.events", "#"))
    client = ConsoleClient(base_url(system))
    assert client.log_in().status_code == 200
    publish_raw(create_incident())
    created = events.wait_for(of_type("assignment_created"))["data"]
    report_id = created["report"]["report_id"]
    client.wait_for_card(lambda c: c["report_id"] == report_id)
    assert client.act(created["assignment_id"], "complete", outcome="Selesai di tempat").status_code == 200
    reports = mongo_client[db_names["reports"]].reports
    wait_until(lambda: reports.find_one({"_id": report_id}), lambda doc: doc["status"] == "resolved")
    response = client.post(f"/api/reports/{report_id}/cancel", {"reason": "salah lapor"})
    assert response.status_code == 409
    assert "already resolved" in response.json()["error"]
    assert client.post("/api/reports/no-such-report/cancel", {"reason": "x"}).status_code == 404
