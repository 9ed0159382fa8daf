"""What dispatch's events make of a report, from the one lifecycle table: the step each event tells
and the status an assignment gives its report."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.reports import lifecycle
from shared.contract import EVENT_TYPES, load_event
from shared.lifecycle import BY_STATE, STEPS
from tests.factories.reports import dispatch_event_at

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("state", [step.state for step in STEPS])
def test_each_assignment_event_tells_the_step_named_by_its_state(state):
    event_type = BY_STATE[state].event.name
    step = lifecycle.step_from(load_event(dispatch_event_at(event_type, "rep-1", "a.1", T0), EVENT_TYPES[event_type]))
    assert step.state == state and step.report_id == "rep-1"
    assert step.assignment_id == (lifecycle.ESCALATION if state == "escalated" else "a_1")


def test_a_patrol_officers_own_report_starts_on_scene():
    document = dispatch_event_at("assignment_created", "rep-1", "a1", T0)
    document["data"]["state"] = "on_scene"
    assert lifecycle.step_from(load_event(document, EVENT_TYPES["assignment_created"])).state == "on_scene"


@pytest.mark.parametrize("rank, ended, status", [
    (1, False, "assigned"), (2, False, "acknowledged"), (3, False, "en_route"), (4, False, "on_scene"),
    (5, False, "escalated"), (6, True, "resolved"), (0, True, "awaiting_officer"), (3, True, "awaiting_officer"),
])
def test_the_status_an_assignment_gives_its_report(rank, ended, status):
    assert lifecycle.status_of(rank, ended) == status


def test_one_step_alone_gives_the_report_status_the_table_names():
    assert all(lifecycle.status_of(step.rank, step.ends) == step.report_status for step in STEPS)
