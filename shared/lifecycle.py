"""The one report lifecycle: each step of an assignment, the event that says it, and what it makes
of the officer and of the report. dispatch moves assignments along it, reports and the console
derive a report's status from it; nobody writes these rules a second time.

Events arrive on one queue per type, so in any order and any of them twice. The rank orders the
steps of one assignment: a step never moves an assignment (or its report) back to a lower rank,
so a late `acknowledged` after `on_scene` changes nothing. Two steps end an assignment without
the work done (declined, expired): while that assignment is the report's latest, the report waits
for the next officer. `completed` beats a decline that raced it. `escalated` is the duty desk's
step, after every assignment tried before it.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared import contract


@dataclass(frozen=True)
class Step:
    state: str  # the assignment's state once this step happened (dispatch's word for it)
    event: contract.EventType  # the fact dispatch publishes
    report_status: str  # the report's status while this step is its latest assignment's furthest
    rank: int  # order within one assignment; ending steps rank below every step of progress
    officer_status: str | None  # the officer's status in this state; None: free again
    ends: bool = False  # the assignment is over


CREATED = Step("created", contract.ASSIGNMENT_CREATED, "assigned", 1, "assigned")
ACKNOWLEDGED = Step("acknowledged", contract.ASSIGNMENT_ACKNOWLEDGED, "acknowledged", 2, "assigned")
EN_ROUTE = Step("en_route", contract.ASSIGNMENT_DEPARTED, "en_route", 3, "en_route")
ON_SCENE = Step("on_scene", contract.ASSIGNMENT_ARRIVED, "on_scene", 4, "on_scene")
ESCALATED = Step("escalated", contract.ASSIGNMENT_ESCALATED, "escalated", 5, None)
COMPLETED = Step("completed", contract.ASSIGNMENT_COMPLETED, "resolved", 6, None, ends=True)
DECLINED = Step("declined", contract.ASSIGNMENT_DECLINED, "awaiting_officer", 0, None, ends=True)
EXPIRED = Step("expired", contract.ASSIGNMENT_EXPIRED, "awaiting_officer", 0, None, ends=True)

STEPS: tuple[Step, ...] = (CREATED, ACKNOWLEDGED, EN_ROUTE, ON_SCENE, ESCALATED, COMPLETED, DECLINED, EXPIRED)
BY_STATE: dict[str, Step] = {step.state: step for step in STEPS}
BY_EVENT: dict[str, Step] = {step.event.name: step for step in STEPS}

# An officer's assignment moves forward along these (an action may skip some); the others end it.
PROGRESS: tuple[str, ...] = tuple(s.state for s in sorted(STEPS, key=lambda s: s.rank)
                                  if s.rank > 0 and s is not ESCALATED)
ENDING: tuple[str, ...] = tuple(s.state for s in STEPS if s.ends and s.rank == 0)
TERMINAL: tuple[str, ...] = tuple(s.state for s in STEPS if s.ends)

# A report's statuses. `received`: stored, no assignment yet; `needs_review`: held for a person
# (a CCTV detection below the floor), dispatch never sees it; `duplicate`: linked to an open report.
RECEIVED, AWAITING_OFFICER, RESOLVED, CANCELLED = "received", "awaiting_officer", "resolved", "cancelled"
NEEDS_REVIEW, DUPLICATE = "needs_review", "duplicate"
OPEN_STATUSES: tuple[str, ...] = (RECEIVED, AWAITING_OFFICER, CREATED.report_status, ACKNOWLEDGED.report_status,
                                  EN_ROUTE.report_status, ON_SCENE.report_status, ESCALATED.report_status)
FINAL_STATUSES: tuple[str, ...] = (RESOLVED, CANCELLED)
CLOSED_STATUSES: tuple[str, ...] = (*FINAL_STATUSES, DUPLICATE)
REPORT_STATUSES: tuple[str, ...] = (*OPEN_STATUSES, NEEDS_REVIEW, *CLOSED_STATUSES)

