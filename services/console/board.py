"""The live board, built from events: one entry per report, and what a card shows. No I/O.

Events arrive on one queue per event type, so in any order and any of them twice; a board entry is
therefore a function of the *set* of events seen, not of their order. The rules are those of
shared/lifecycle.py:
- each assignment keeps the furthest state any event said (progress by rank; an ending beats any
  progress, and a completion beats a decline that raced it): a late `acknowledged` never moves an
  assignment back;
- the report follows its latest assignment (highest attempt: dispatch creates the next one only
  after the previous ended); an escalation counts after every assignment tried before it;
- a report with any completed assignment is resolved; a duplicate is closed when linked; a
  cancelled one is final.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from services.console.settings import DEFAULTS, ConsoleSettings
from shared import wilayah
from shared.categories import CATEGORIES
from shared.contract import (
    ASSIGNMENT_CREATED,
    ASSIGNMENT_ESCALATED,
    DUPLICATE_REPORTED,
    REPORT_CANCELLED,
    REPORT_RECEIVED,
)
from shared.envelope import Event
from shared.lifecycle import (
    AWAITING_OFFICER,
    BY_EVENT,
    BY_STATE,
    CANCELLED,
    CLOSED_STATUSES,
    COMPLETED,
    CREATED,
    DUPLICATE,
    ENDING,
    ESCALATED,
    RECEIVED,
    TERMINAL,
)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# "Open: always on the board". A date rather than null so one range query finds the board.
OPEN_UNTIL = datetime(2100, 1, 1, tzinfo=timezone.utc)
PRIORITY_ORDER = {"P1": 0, "P2": 1, "P3": 2, "P4": 3}

@dataclass(frozen=True)
class Change:
    """What one event says about one report's board entry."""

    report_id: str
    key: str  # the event's idempotency key: applied once per board entry
    kind: str  # report | duplicate | duplicated | created | escalated | a step state
    data: Mapping[str, Any]
    at: datetime  # the event's time


def changes_from(event: Event) -> list[Change]:
    """The board entries an event touches (a duplicate touches its original too)."""
    data, kind = event.data, event.type
    if kind == REPORT_RECEIVED.name:
        return [Change(data["report_id"], event.key, "report", data, event.time)]
    if kind == DUPLICATE_REPORTED.name:
        return [Change(data["report_id"], event.key, "duplicate", data, event.time),
                Change(data["original_report_id"], event.key, "duplicated", data, event.time)]
    if kind == ASSIGNMENT_CREATED.name:
        return [Change(data["report"]["report_id"], event.key, "created", data, event.time)]
    if kind == ASSIGNMENT_ESCALATED.name:
        return [Change(data["report"]["report_id"], event.key, "escalated", data, event.time)]
    if kind == REPORT_CANCELLED.name:
        return [Change(data["report_id"], event.key, "cancelled", data, event.time)]
    if kind in BY_EVENT:
        return [Change(data["report_id"], event.key, BY_EVENT[kind].state, data, event.time)]
    raise ValueError(f"the board does not follow {kind!r}")


def new_entry(report_id: str) -> dict[str, Any]:
    return {"_id": report_id, "report": None, "polsek": None, "assignments": [], "escalation": None,
            "duplicate_of": None, "duplicates": [], "seen": [], "version": 0}


def applied(entry: Mapping[str, Any] | None, change: Change, now: datetime,
            settings: ConsoleSettings = DEFAULTS) -> dict[str, Any] | None:
    """The board entry after `change`, or None when this event was applied to it already."""
    entry = copy.deepcopy(dict(entry)) if entry else new_entry(change.report_id)
    if change.key in entry["seen"]:
        return None
    entry["seen"].append(change.key)
    RECORDERS.get(change.kind, _record_step)(entry, change)
    return entry | summary(entry, settings) | {"version": entry["version"] + 1, "updated_at": now}


def _record_report(entry: dict[str, Any], change: Change) -> None:
    data = change.data
    entry["report"] = {
        "number": data["number"], "category": data["category"], "priority": data["priority"],
        "description": data["description"], "place": dict(data["place"]), "source_kind": data["source_kind"],
        "received_at": data["received_at"], "occurred_at": data.get("occurred_at"),
        "reporter": None if data["anonymous"] else data.get("reporter"), "partial": False,
    }
    entry["polsek"] = polsek_of(data["place"]) or entry["polsek"]


def _fill_report(entry: dict[str, Any], report: Mapping[str, Any], at: datetime) -> None:
    """An assignment event that overtook report_received still says enough to show the report."""
    if entry["report"] is None:
        place = {key: report.get(key) for key in ("village_code", "village_name", "rw", "address")}
        entry["report"] = {
            "number": report["number"], "category": report["category"], "priority": report["priority"],
            "description": report.get("description", ""), "place": place | {"lat": None, "lon": None},
            "source_kind": report.get("source_kind"), "received_at": report.get("received_at") or at,
            "occurred_at": None, "reporter": None, "partial": True,
        }
    entry["polsek"] = entry["polsek"] or polsek_of(report)


def _record_duplicate(entry: dict[str, Any], change: Change) -> None:
    data = change.data
    _fill_report(entry, {**data, **data["place"], "description": ""}, change.at)
    entry["duplicate_of"] = {"report_id": data["original_report_id"], "number": data["original_number"]}


def _record_duplicated(entry: dict[str, Any], change: Change) -> None:
    data = change.data
    if all(d["report_id"] != data["report_id"] for d in entry["duplicates"]):
        entry["duplicates"].append({"report_id": data["report_id"], "number": data["number"],
                                    "source_kind": data.get("source_kind"), "received_at": data["received_at"]})


def _assignment(entry: dict[str, Any], assignment_id: str, at: datetime) -> dict[str, Any]:
    for assignment in entry["assignments"]:
        if assignment["assignment_id"] == assignment_id:
            return assignment
    assignment = {"assignment_id": assignment_id, "attempt": None, "state": CREATED.state, "officer": None,
                  "rule": None, "reason": None, "reason_bahasa": None, "ack_deadline": None, "distance_m": None,
                  "skipped": 0,
                  "first_at": at, "steps": {}}
    entry["assignments"].append(assignment)
    return assignment


def _furthest(state: str) -> tuple[bool, int]:
    """An assignment's states in the order they replace each other: progress by rank, then an ending."""
    step = BY_STATE[state]
    return step.ends, step.rank


def _advance(assignment: dict[str, Any], state: str) -> None:
    if _furthest(state) > _furthest(assignment["state"]):
        assignment["state"] = state


def _record_created(entry: dict[str, Any], change: Change) -> None:
    data = change.data
    _fill_report(entry, data["report"], change.at)
    assignment = _assignment(entry, data["assignment_id"], change.at)
    assignment.update({key: data.get(key) for key in ("attempt", "officer", "rule", "reason", "reason_bahasa",
                                                      "ack_deadline", "distance_m")})
    assignment["skipped"] = len(data.get("skipped") or ())
    assignment["first_at"] = min(assignment["first_at"], change.at)
    assignment["steps"].setdefault(CREATED.state, {"at": change.at, "via": "system"})
    _advance(assignment, data.get("state") or CREATED.state)


def _record_step(entry: dict[str, Any], change: Change) -> None:
    data, state = change.data, change.kind
    assignment = _assignment(entry, data["assignment_id"], data["at"])
    assignment["officer"] = assignment["officer"] or data["officer"]
    if data.get("attempt") and not assignment["attempt"]:
        assignment["attempt"] = data["attempt"]
    step = {"at": data["at"], "via": data["via"]}
    for note in ("reason", "outcome", "by_operator"):
        if data.get(note):
            step[note] = data[note]
    assignment["steps"].setdefault(state, step)
    _advance(assignment, state)


def _record_escalated(entry: dict[str, Any], change: Change) -> None:
    data = change.data
    _fill_report(entry, data["report"], change.at)
    entry["polsek"] = entry["polsek"] or data["polsek"] or None
    entry["escalation"] = {"reason": data.get("reason_bahasa") or data["reason"], "rules": data.get("rules") or [],
                           "polsek": data["polsek"], "duty_desk": data.get("duty_desk"),
                           "attempts": data.get("attempts") or 0, "at": change.at}


def _record_cancelled(entry: dict[str, Any], change: Change) -> None:
    data = change.data
    entry["polsek"] = entry["polsek"] or data.get("polsek")
    entry["cancellation"] = {"reason": data["reason"], "by": data["cancelled_by"], "at": data["at"],
                             "previous_status": data.get("previous_status")}


RECORDERS = {"report": _record_report, "duplicate": _record_duplicate, "duplicated": _record_duplicated,
             "created": _record_created, "escalated": _record_escalated, "cancelled": _record_cancelled}


def _order(assignment: Mapping[str, Any]) -> tuple:
    return (assignment.get("attempt") or 0, assignment["first_at"])


def summary(entry: Mapping[str, Any], settings: ConsoleSettings = DEFAULTS) -> dict[str, Any]:
    """Status, current assignment and board visibility, derived from everything recorded."""
    assignments = sorted(entry["assignments"], key=_order)
    latest = assignments[-1] if assignments else None
    completed = next((a for a in assignments if a["state"] == COMPLETED.state), None)
    escalation = entry.get("escalation")
    closed_at = None
    if entry.get("duplicate_of"):
        status, closed_at = DUPLICATE, (entry["report"] or {}).get("received_at") or EPOCH
    elif entry.get("cancellation"):  # final: no later assignment event reopens it
        status, closed_at = CANCELLED, entry["cancellation"]["at"]
    elif completed is not None:
        status, latest, closed_at = COMPLETED.report_status, completed, completed["steps"][COMPLETED.state]["at"]
    elif escalation and (latest is None or (latest["state"] in TERMINAL
                                            and (latest.get("attempt") or 0) <= escalation["attempts"])):
        status = ESCALATED.report_status
    elif latest is not None:
        status = BY_STATE[latest["state"]].report_status
    else:
        status = RECEIVED
    if entry.get("report") is None:
        visible_until = EPOCH  # only an event about it so far: nothing to show yet
    elif closed_at is None:
        visible_until = OPEN_UNTIL
    else:
        visible_until = closed_at + timedelta(minutes=settings.closed_visible_minutes)
    return {"status": status, "open": status not in CLOSED_STATUSES, "closed_at": closed_at,
            "current": latest["assignment_id"] if latest else None, "visible_until": visible_until}


def polsek_of(place: Mapping[str, Any]) -> str | None:
    """The Polsek (Kemendagri district code) responsible for a place: its village code's district."""
    village = place.get("village_code")
    return wilayah.district_code(village) if village else None


# --- what a card shows --------------------------------------------------------------------

def card(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A board entry as the browser shows it: JSON-ready, labels looked up, bookkeeping left out."""
    report = entry["report"] or {}
    assignments = {a["assignment_id"]: a for a in entry["assignments"]}
    current = assignments.get(entry.get("current"))
    cancelled = bool(entry.get("cancellation"))
    active = current if current and current["state"] not in TERMINAL and not cancelled else None
    status = entry.get("status")
    # Shown only while the report waits for the next officer: why the last one did not take it.
    ended = current if current and current["state"] in ENDING and status == AWAITING_OFFICER else None
    category = CATEGORIES.get(report.get("category"))
    return _json({
        "report_id": entry["_id"], "version": entry["version"], "updated_at": entry.get("updated_at"),
        "number": report.get("number"), "category": report.get("category"),
        "category_name": category.name_id if category else report.get("category"),
        "priority": report.get("priority"), "description": report.get("description"),
        "place": report.get("place"), "polsek": entry.get("polsek"), "source_kind": report.get("source_kind"),
        "received_at": report.get("received_at"), "reporter": report.get("reporter"),
        "status": status, "open": entry.get("open"), "closed_at": entry.get("closed_at"),
        "assignment": _assignment_card(active) if active else None,
        "resolved": _assignment_card(current) if current and current["state"] == COMPLETED.state else None,
        "last_ended": _assignment_card(ended) if ended else None,
        "escalation": entry.get("escalation") if status == ESCALATED.report_status else None,
        "cancellation": entry.get("cancellation"),
        "duplicate_of": entry.get("duplicate_of"),
        "duplicates": entry.get("duplicates") or [],
        "timeline": timeline(entry),
    })


def _assignment_card(assignment: Mapping[str, Any]) -> dict[str, Any]:
    return {key: assignment.get(key) for key in ("assignment_id", "state", "officer", "rule", "attempt",
                                                  "ack_deadline", "distance_m", "skipped")} | {
        "reason": assignment.get("reason_bahasa") or assignment.get("reason"), "rule_reason": assignment.get("reason"),
        "steps": assignment.get("steps") or {}}


def timeline(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every step of every assignment, oldest first, for the card's history."""
    steps = []
    for assignment in sorted(entry["assignments"], key=_order):
        name = (assignment.get("officer") or {}).get("name")
        for state, step in assignment["steps"].items():
            steps.append({"at": step["at"], "state": state, "officer": name, "via": step.get("via"),
                          "by": step.get("by_operator"), "note": step.get("reason") or step.get("outcome")})
    if entry.get("escalation"):
        steps.append({"at": entry["escalation"]["at"], "state": ESCALATED.state, "officer": None, "via": "system",
                      "by": None, "note": entry["escalation"]["reason"]})
    if entry.get("cancellation"):
        steps.append({"at": entry["cancellation"]["at"], "state": CANCELLED, "officer": None, "via": "console",
                      "by": entry["cancellation"]["by"], "note": entry["cancellation"]["reason"]})
    return sorted(steps, key=lambda step: step["at"])


def board_order(card_: Mapping[str, Any]) -> tuple:
    """Open before closed; P1 first; the oldest report first within a priority."""
    return (not card_["open"], PRIORITY_ORDER.get(card_["priority"], 9), card_["received_at"] or "")


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    return value
