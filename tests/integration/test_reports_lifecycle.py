"""The report follows dispatch's events, in whatever order and however often they arrive."""
from __future__ import annotations

import itertools
import random
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest

from services.reports import domain, storage
from services.reports.lifecycle import AssignmentStep, step_from
from services.reports.service import ReportsService
from services.reports.settings import IntakeSettings
from services.reports.storage import ReportStore
from shared.contract import INCIDENT_REPORTED, load_event
from shared.lifecycle import BY_STATE
from tests.factories import create_incident, of_type, wait_until
from tests.factories.reports import dispatch_event_at

pytestmark = pytest.mark.integration

T0 = datetime.now(timezone.utc).replace(microsecond=0)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def store(mongo_client, db_names):
    store = ReportStore(mongo_client[db_names["reports"]])
    store.ensure_indexes()
    return store


def stored_report(store: ReportStore, **overrides) -> str:
    report = domain.new_report(load_event(create_incident(), INCIDENT_REPORTED), IntakeSettings(), T0) | overrides
    store.add(report)
    return report["_id"]


def step(state: str, report_id: str, assignment: str, minutes: float) -> AssignmentStep:
    event_type = BY_STATE[state].event
    return step_from(load_event(dispatch_event_at(event_type.name, report_id, assignment, at(minutes)), event_type))


HAPPY_PATH = [("created", "A", 1), ("acknowledged", "A", 2), ("en_route", "A", 3), ("on_scene", "A", 4),
              ("completed", "A", 5)]
REASSIGNED = [("created", "A", 1), ("declined", "A", 2), ("created", "B", 3), ("acknowledged", "B", 4)]
EXPIRED_THEN_ESCALATED = [("created", "A", 1), ("expired", "A", 3), ("escalated", None, 4)]


@pytest.mark.parametrize("steps, final, officer", [
    (HAPPY_PATH, "resolved", "90120344"), (REASSIGNED, "acknowledged", "90120344"),
    (EXPIRED_THEN_ESCALATED, "escalated", None),
], ids=["happy-path", "declined-then-reassigned", "expired-then-escalated"])
def test_every_order_of_the_same_events_ends_in_the_same_status(store, steps, final, officer):
    orders = list(itertools.permutations(steps))
    random.Random(4).shuffle(orders)
    for order in orders[:24]:
        report_id = stored_report(store)
        ids = {"A": str(uuid.uuid4()), "B": str(uuid.uuid4()), None: None}
        for name, assignment, minutes in order + order[:2]:  # and the first two again: redelivered
            # as the service does: an assignment_created tries the plain update for a fresh report first
            store.apply_step(step(name, report_id, ids[assignment], minutes), first=name == "created")
        report = store.get(report_id)
        assert report["status"] == final, [s[0] for s in order]
        assert (report.get("officer") or {}).get("nrp") == officer or final == "escalated"


def test_in_order_every_transition_is_kept_with_its_time(store):
    report_id = stored_report(store)
    assignment = str(uuid.uuid4())
    for name, _, minutes in HAPPY_PATH:
        store.apply_step(step(name, report_id, assignment, minutes))
    report = store.get(report_id)
    assert [(h["status"], h["at"]) for h in report["history"]] == [
        ("received", T0), ("assigned", at(1)), ("acknowledged", at(2)), ("en_route", at(3)),
        ("on_scene", at(4)), ("resolved", at(5))]
    assert report["assignments"][assignment]["steps"] == {
        "created": at(1), "acknowledged": at(2), "en_route": at(3), "on_scene": at(4), "completed": at(5)}
    assert report["assignments"][assignment]["notes"]["completed"] == "korban dibawa ke RS"


LIFECYCLE_FIELDS = ("assignments", "status", "current", "current_at", "officer", "history", "updated_at")


@pytest.mark.parametrize("name, assignment", [
    ("created", "A"), ("on_scene", "A"), ("declined", "A"), ("expired", "A"), ("completed", "A"),
    ("escalated", None)])
def test_the_plain_first_step_update_stores_what_the_pipeline_stores(store, name, assignment):
    fast, slow = stored_report(store), stored_report(store)
    assignment_id = assignment and str(uuid.uuid4())
    assert store.apply_step(step(name, fast, assignment_id, 1), first=True)
    store.db.reports.update_one(*storage.lifecycle_update(step(name, slow, assignment_id, 1)))
    first_step = store.db.reports.find_one({"_id": fast}, LIFECYCLE_FIELDS)
    pipeline = store.db.reports.find_one({"_id": slow}, LIFECYCLE_FIELDS)
    assert first_step["status"] != "received"
    assert {k: v for k, v in first_step.items() if k != "_id"} == {k: v for k, v in pipeline.items() if k != "_id"}


def test_first_steps_sharing_a_command_with_a_touched_reports_each_land_once(store):
    """Grouped, a first step cannot tell whether its own plain update matched when another's did not: the
    pipeline that follows gives the same result again, and adds nothing to the history."""
    touched, first = stored_report(store), str(uuid.uuid4())
    store.apply_step(step("created", touched, first, 1), first=True)
    store.apply_step(step("declined", touched, first, 2))
    fresh = [stored_report(store) for _ in range(6)]
    steps = [step("created", report_id, str(uuid.uuid4()), 3) for report_id in [*fresh, touched]]

    applied = list(eventlet.GreenPool(len(steps)).imap(lambda s: store.apply_step(s, first=True), steps))

    assert applied == [True] * len(steps)
    for report_id, assignment in zip([*fresh, touched], steps):
        report = store.get(report_id)
        assert (report["status"], report["current"]) == ("assigned", assignment.assignment_id)
        assert [h["status"] for h in report["history"]][-2:] == (
            ["received", "assigned"] if report_id in fresh else ["awaiting_officer", "assigned"])


def test_the_plain_first_step_update_leaves_a_touched_report_to_the_pipeline(store):
    report_id = stored_report(store)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    store.apply_step(step("created", report_id, first, 1), first=True)
    store.apply_step(step("declined", report_id, first, 2))
    fresh, update = storage.first_step_update(step("created", report_id, second, 3))
    assert store.db.reports.update_one(fresh, update).matched_count == 0
    assert store.apply_step(step("created", report_id, second, 3), first=True)
    report = store.get(report_id)
    assert (report["status"], report["current"]) == ("assigned", second)
    assert [h["status"] for h in report["history"]] == ["received", "assigned", "awaiting_officer", "assigned"]


def test_a_late_acknowledgement_never_moves_a_report_backwards(store):
    report_id = stored_report(store)
    assignment = str(uuid.uuid4())
    store.apply_step(step("on_scene", report_id, assignment, 4))
    store.apply_step(step("acknowledged", report_id, assignment, 2))
    store.apply_step(step("created", report_id, assignment, 1))
    report = store.get(report_id)
    assert report["status"] == "on_scene"
    assert [h["status"] for h in report["history"]] == ["received", "on_scene"]
    assert set(report["assignments"][assignment]["steps"]) == {"created", "acknowledged", "on_scene"}


def test_a_declined_assignment_returns_the_report_to_waiting_for_the_next_officer(store):
    report_id = stored_report(store)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    store.apply_step(step("created", report_id, first, 1))
    store.apply_step(step("declined", report_id, first, 2))
    assert store.get(report_id)["status"] == "awaiting_officer"
    store.apply_step(step("created", report_id, second, 3))
    report = store.get(report_id)
    assert (report["status"], report["current"]) == ("assigned", second)
    store.apply_step(step("expired", report_id, first, 2.5))  # a stale end of the first one changes nothing
    assert store.get(report_id)["status"] == "assigned"


def test_resolved_is_final(store):
    report_id = stored_report(store)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    store.apply_step(step("completed", report_id, first, 5))
    store.apply_step(step("created", report_id, second, 9))
    assert store.get(report_id)["status"] == "resolved"


def test_reports_dispatch_never_saw_ignore_assignment_events(store):
    held = stored_report(store, status="needs_review")
    assert store.apply_step(step("created", held, str(uuid.uuid4()), 1)) is False
    assert store.apply_step(step("created", "no-such-report", str(uuid.uuid4()), 1)) is False
    assert store.get(held)["status"] == "needs_review"


def test_out_of_order_events_on_the_broker_end_resolved(declared, tap, publish_raw, container_factory, config_for,
                                                      mongo_client, db_names):
    received = tap(("reports.events", "report_received"))
    container_factory(ReportsService, config_for("reports")).start()
    publish_raw(create_incident())
    report_id = received.wait_for(of_type("report_received"))["data"]["report_id"]
    assignment = str(uuid.uuid4())
    for event_type, minutes in [("assignment_completed", 5), ("assignment_arrived", 4), ("assignment_created", 1),
                                ("assignment_acknowledged", 2), ("assignment_completed", 5)]:
        publish_raw(dispatch_event_at(event_type, report_id, assignment, at(minutes)), exchange="dispatch.events",
                    routing_key=event_type)
    reports = mongo_client[db_names["reports"]].reports
    report = wait_until(lambda: reports.find_one({"_id": report_id}),
                        lambda r: len((r["assignments"].get(assignment) or {}).get("steps", {})) == 4)
    assert report["status"] == "resolved"
    assert report["history"][-1] == {"status": "resolved", "at": at(5), "assignment_id": assignment,
                                     "officer_nrp": "90120344"}
