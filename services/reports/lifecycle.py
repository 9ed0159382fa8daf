"""What dispatch's assignment events make of a report: the rules of shared/lifecycle.py as reports
applies them. No I/O; the store turns them into one atomic update per event.

Events arrive on one queue per event type, so in any order and any of them twice. Each assignment
keeps every step it went through (first time seen), its furthest rank and whether it ended; the
report follows its *latest* assignment — the one with the latest event time, because dispatch
creates the next assignment only after the previous one ended. An assignment that ended unfinished
(declined, expired) while still the latest leaves the report awaiting the next officer, until the
next assignment_created (later in time) takes over, whichever of the two is processed first.
The duty desk's escalation is recorded as an assignment of its own, after every one tried.
Final statuses (resolved, cancelled) never move.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.envelope import Event
from shared.lifecycle import (
    AWAITING_OFFICER,
    BY_EVENT,
    BY_STATE,
    COMPLETED,
    CREATED,
    ESCALATED,
    FINAL_STATUSES,
    ON_SCENE,
    OPEN_STATUSES,
    RESOLVED,
    STEPS,
)

ESCALATION = "escalation"  # the key the duty desk's step is recorded under
# The report's status while its latest assignment's furthest step has this rank (and it did not end
# unfinished).
STATUS_OF_RANK: dict[int, str] = {step.rank: step.report_status for step in STEPS if step.rank > 0}
# Reports dispatch never saw (held for review, duplicates) ignore assignment events.
TRACKED_STATUSES = OPEN_STATUSES + FINAL_STATUSES
LIVE_STATUSES = OPEN_STATUSES + (RESOLVED,)  # all but cancelled: the common case, in one update


@dataclass(frozen=True)
class AssignmentStep:
    """One step of one assignment, as an event told it."""

    report_id: str
    assignment_id: str
    state: str  # a state of shared.lifecycle: the step's name
    at: datetime
    officer: dict[str, Any] | None = None
    note: str | None = None

    @property
    def rank(self) -> int:
        return BY_STATE[self.state].rank

    @property
    def ends(self) -> bool:
        return BY_STATE[self.state].ends


def step_from(event: Event) -> AssignmentStep:
    """The step any assignment_* event tells (created and escalated have their own shapes)."""
    data, kind = event.data, BY_EVENT[event.type]
    if kind is ESCALATED:
        return AssignmentStep(data["report"]["report_id"], ESCALATION, kind.state, event.time,
                              _officer(data.get("duty_desk")), data.get("reason"))
    if kind is CREATED:
        # A patrol officer's own report starts on scene: no acknowledgement is awaited.
        state = ON_SCENE.state if data.get("state") == ON_SCENE.state else CREATED.state
        return AssignmentStep(data["report"]["report_id"], _safe_key(data["assignment_id"]), state, event.time,
                              _officer(data["officer"]), data.get("reason"))
    note = data.get("reason") or data.get("outcome")
    return AssignmentStep(data["report_id"], _safe_key(data["assignment_id"]), kind.state, data["at"],
                          _officer(data["officer"]), note)


def status_of(rank: int, ended: bool) -> str:
    """The report's status while an assignment of this furthest rank is its latest: one that ended
    before completion waits for the next officer; a completion beats a decline that raced it."""
    if ended and rank < COMPLETED.rank:
        return AWAITING_OFFICER
    return STATUS_OF_RANK[rank]


def transition(status: str, at: datetime, assignment_id: str | None = None,
               officer_nrp: str | None = None) -> dict[str, Any]:
    """One entry of a report's `history`: every change of its status, when and through whom."""
    return {"status": status, "at": at, "assignment_id": assignment_id, "officer_nrp": officer_nrp}


def _officer(ref: dict[str, Any] | None) -> dict[str, Any] | None:
    return {key: ref.get(key) for key in ("nrp", "name", "rank", "role")} if ref else None


def _safe_key(assignment_id: str) -> str:
    """Assignment ids become field names: no dots or dollars."""
    return re.sub(r"[.$]", "_", assignment_id)
