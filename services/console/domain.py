"""Pure console rules: the live board built from events, who may see and act on what, and what a
board card shows. No I/O: the store and the service call these.

The board keeps one document per report. Events arrive on one queue per event type, so in any
order and any of them twice; a board document is therefore a function of the *set* of events seen,
not of their order:
- each assignment of the report keeps the furthest state any event said (created < acknowledged <
  en_route < on_scene < declined/expired < completed): a late `acknowledged` never moves an
  assignment back, and a completion beats a decline that raced it;
- the report follows its latest assignment (highest attempt: dispatch creates the next one only
  after the previous ended); an escalation counts after every assignment tried before it;
- a report with any completed assignment is resolved; a duplicate is closed when linked.
So the report's status (received < assigned < acknowledged < en_route < on_scene < resolved, or
escalated) moves back only when it truly does: a decline hands the report to the next officer.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from services.console.exceptions import Forbidden, InvalidRequest, NotFound
from shared import wilayah
from shared.categories import CATEGORIES
from shared.contract import (
    ASSIGNMENT_ACKNOWLEDGED,
    ASSIGNMENT_ARRIVED,
    ASSIGNMENT_COMPLETED,
    ASSIGNMENT_CREATED,
    ASSIGNMENT_DECLINED,
    ASSIGNMENT_DEPARTED,
    ASSIGNMENT_ESCALATED,
    ASSIGNMENT_EXPIRED,
    DUPLICATE_REPORTED,
    REPORT_CANCELLED,
    REPORT_RECEIVED,
)
from shared.envelope import Event

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# "Open: always on the board". A date rather than null so one range query finds the board.
OPEN_UNTIL = datetime(2100, 1, 1, tzinfo=timezone.utc)

STEP_STATES = {
    ASSIGNMENT_ACKNOWLEDGED.name: "acknowledged", ASSIGNMENT_DEPARTED.name: "en_route",
    ASSIGNMENT_ARRIVED.name: "on_scene", ASSIGNMENT_COMPLETED.name: "completed",
    ASSIGNMENT_DECLINED.name: "declined", ASSIGNMENT_EXPIRED.name: "expired",
}
ASSIGNMENT_RANK = {"created": 1, "acknowledged": 2, "en_route": 3, "on_scene": 4,
                   "declined": 5, "expired": 5, "completed": 6}
ENDED = ("declined", "expired", "completed")
STATUS_OF_STATE = {"created": "assigned", "acknowledged": "acknowledged", "en_route": "en_route",
                   "on_scene": "on_scene"}
REPORT_RANK = {"received": 0, "assigned": 1, "acknowledged": 2, "en_route": 3, "on_scene": 4, "resolved": 5}
STATUSES = (*REPORT_RANK, "escalated", "duplicate", "cancelled")
CLOSED = ("resolved", "duplicate", "cancelled")
PRIORITY_ORDER = {"P1": 0, "P2": 1, "P3": 2, "P4": 3}

# What a console may ask of dispatch for an assignment, and what each needs from the operator.
ACTIONS = {
    "acknowledge": ("acknowledge_assignment", ()),
    "decline": ("decline_assignment", ("reason",)),
    "en_route": ("mark_assignment_en_route", ()),
    "on_scene": ("mark_assignment_on_scene", ()),
    "complete": ("complete_assignment", ("outcome",)),
    "reassign": ("reassign_assignment", ("nrp", "reason")),
}
FIELD_TEXT = {"reason": "alasan", "outcome": "hasil penanganan", "nrp": "petugas pengganti (NRP)"}
NOTE_LIMITS = {"reason": 300, "outcome": 500, "nrp": 18}


@dataclass(frozen=True)
class Settings:
    """The console's tunables (config.yml `CONSOLE:`)."""

    session_hours: float = 12.0
    cookie_secure: bool = False
    max_failed_logins: int = 5
    lock_minutes: float = 15.0
    closed_visible_minutes: float = 120.0
    feed_poll_seconds: float = 0.5
    rpc_timeout_seconds: float = 10.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> "Settings":
        section, defaults = dict(section or {}), cls()
        return cls(
            session_hours=float(section.get("SESSION_HOURS", defaults.session_hours)),
            cookie_secure=str(section.get("COOKIE_SECURE", defaults.cookie_secure)).lower() in ("true", "1", "yes"),
            max_failed_logins=int(section.get("MAX_FAILED_LOGINS", defaults.max_failed_logins)),
            lock_minutes=float(section.get("LOCK_MINUTES", defaults.lock_minutes)),
            closed_visible_minutes=float(section.get("CLOSED_VISIBLE_MINUTES", defaults.closed_visible_minutes)),
            feed_poll_seconds=float(section.get("FEED_POLL_SECONDS", defaults.feed_poll_seconds)),
            rpc_timeout_seconds=float(section.get("RPC_TIMEOUT_SECONDS", defaults.rpc_timeout_seconds)),
        )


DEFAULT_SETTINGS = Settings()


# ---------------------------------------------------------------- events → board changes

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
    if kind in STEP_STATES:
        return [Change(data["report_id"], event.key, STEP_STATES[kind], data, event.time)]
    raise ValueError(f"the board does not follow {kind!r}")


def new_entry(report_id: str) -> dict[str, Any]:
    return {"_id": report_id, "report": None, "polsek": None, "assignments": [], "escalation": None,
            "duplicate_of": None, "duplicates": [], "seen": [], "version": 0}


def applied(entry: Mapping[str, Any] | None, change: Change, now: datetime,
            settings: Settings = DEFAULT_SETTINGS) -> dict[str, Any] | None:
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
    assignment = {"assignment_id": assignment_id, "attempt": None, "state": "created", "officer": None,
                  "rule": None, "reason": None, "ack_deadline": None, "distance_m": None, "skipped": 0,
                  "first_at": at, "steps": {}}
    entry["assignments"].append(assignment)
    return assignment


def _advance(assignment: dict[str, Any], state: str) -> None:
    if ASSIGNMENT_RANK[state] > ASSIGNMENT_RANK[assignment["state"]]:
        assignment["state"] = state


def _record_created(entry: dict[str, Any], change: Change) -> None:
    data = change.data
    _fill_report(entry, data["report"], change.at)
    assignment = _assignment(entry, data["assignment_id"], change.at)
    assignment.update({key: data.get(key) for key in ("attempt", "officer", "rule", "reason", "ack_deadline",
                                                      "distance_m")})
    assignment["skipped"] = len(data.get("skipped") or ())
    assignment["first_at"] = min(assignment["first_at"], change.at)
    assignment["steps"].setdefault("created", {"at": change.at, "via": "system"})
    _advance(assignment, data.get("state") or "created")


def _record_step(entry: dict[str, Any], change: Change) -> None:
    data, state = change.data, change.kind
    assignment = _assignment(entry, data["assignment_id"], data["at"])
    assignment["officer"] = assignment["officer"] or data["officer"]
    if data.get("attempt") and not assignment["attempt"]:
        assignment["attempt"] = data["attempt"]
    step = {"at": data["at"], "via": data["via"]}
    for note in ("reason", "outcome"):
        if data.get(note):
            step[note] = data[note]
    assignment["steps"].setdefault(state, step)
    _advance(assignment, state)


def _record_escalated(entry: dict[str, Any], change: Change) -> None:
    data = change.data
    _fill_report(entry, data["report"], change.at)
    entry["polsek"] = entry["polsek"] or data["polsek"] or None
    entry["escalation"] = {"reason": data["reason"], "polsek": data["polsek"], "duty_desk": data.get("duty_desk"),
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


def summary(entry: Mapping[str, Any], settings: Settings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """Status, current assignment and board visibility, derived from everything recorded."""
    assignments = sorted(entry["assignments"], key=_order)
    latest = assignments[-1] if assignments else None
    completed = next((a for a in assignments if a["state"] == "completed"), None)
    escalation = entry.get("escalation")
    closed_at = None
    if entry.get("duplicate_of"):
        status, closed_at = "duplicate", (entry["report"] or {}).get("received_at") or EPOCH
    elif entry.get("cancellation"):  # final, like in reports: no later assignment event reopens it
        status, closed_at = "cancelled", entry["cancellation"]["at"]
    elif completed is not None:
        status, latest, closed_at = "resolved", completed, completed["steps"]["completed"]["at"]
    elif escalation and (latest is None or (latest["state"] in ENDED
                                            and (latest.get("attempt") or 0) <= escalation["attempts"])):
        status = "escalated"
    elif latest is not None and latest["state"] not in ENDED:
        status = STATUS_OF_STATE[latest["state"]]
    else:
        status = "received"
    if entry.get("report") is None:
        visible_until = EPOCH  # only an event about it so far: nothing to show yet
    elif closed_at is None:
        visible_until = OPEN_UNTIL
    else:
        visible_until = closed_at + timedelta(minutes=settings.closed_visible_minutes)
    return {"status": status, "open": status not in CLOSED, "closed_at": closed_at,
            "current": latest["assignment_id"] if latest else None, "visible_until": visible_until}


def polsek_of(place: Mapping[str, Any]) -> str | None:
    """The Polsek (Kemendagri district code) responsible for a place: its village code's district."""
    village = place.get("village_code")
    return wilayah.district_code(village) if village else None


# ---------------------------------------------------------------- what a card shows

def card(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A board entry as the browser shows it: JSON-ready, labels looked up, bookkeeping left out."""
    report = entry["report"] or {}
    assignments = {a["assignment_id"]: a for a in entry["assignments"]}
    current = assignments.get(entry.get("current"))
    cancelled = bool(entry.get("cancellation"))
    active = current if current and current["state"] not in ENDED and not cancelled else None
    ended = current if current and current["state"] in ("declined", "expired") else None
    category = CATEGORIES.get(report.get("category"))
    return _json({
        "report_id": entry["_id"], "version": entry["version"], "updated_at": entry.get("updated_at"),
        "number": report.get("number"), "category": report.get("category"),
        "category_name": category.name_id if category else report.get("category"),
        "priority": report.get("priority"), "description": report.get("description"),
        "place": report.get("place"), "polsek": entry.get("polsek"), "source_kind": report.get("source_kind"),
        "received_at": report.get("received_at"), "reporter": report.get("reporter"),
        "status": entry.get("status"), "open": entry.get("open"), "closed_at": entry.get("closed_at"),
        "assignment": _assignment_card(active) if active else None,
        "resolved": _assignment_card(current) if current and current["state"] == "completed" else None,
        "last_ended": _assignment_card(ended) if ended else None,
        "escalation": entry.get("escalation"),
        "cancellation": entry.get("cancellation"),
        "duplicate_of": entry.get("duplicate_of"),
        "duplicates": entry.get("duplicates") or [],
        "timeline": timeline(entry),
    })


def _assignment_card(assignment: Mapping[str, Any]) -> dict[str, Any]:
    return {key: assignment.get(key) for key in ("assignment_id", "state", "officer", "rule", "reason", "attempt",
                                                  "ack_deadline", "distance_m", "skipped")} | {
        "steps": assignment.get("steps") or {}}


def timeline(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every step of every assignment, oldest first, for the card's history."""
    steps = []
    for assignment in sorted(entry["assignments"], key=_order):
        name = (assignment.get("officer") or {}).get("name")
        for state, step in assignment["steps"].items():
            steps.append({"at": step["at"], "state": state, "officer": name, "via": step.get("via"),
                          "note": step.get("reason") or step.get("outcome")})
    if entry.get("escalation"):
        steps.append({"at": entry["escalation"]["at"], "state": "escalated", "officer": None, "via": "system",
                      "note": entry["escalation"]["reason"]})
    if entry.get("cancellation"):
        steps.append({"at": entry["cancellation"]["at"], "state": "cancelled", "officer": None, "via": "console",
                      "note": f"{entry['cancellation']['reason']} ({entry['cancellation']['by']})"})
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


# ---------------------------------------------------------------- operators and their Polsek

POLSEK_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")


def sees(operator: Mapping[str, Any], polsek: str | None) -> bool:
    return polsek is not None and polsek in operator["polseks"]


def check_may_act(operator: Mapping[str, Any], assignment: Mapping[str, Any]) -> None:
    """Only the Polsek whose area the report lies in acts on it (dispatch's own view of the assignment)."""
    polsek = polsek_of(assignment["report"])
    if not sees(operator, polsek):
        raise Forbidden(f"Laporan #{assignment['report']['number']} bukan wilayah Polsek Anda "
                        f"({', '.join(operator['polseks'])}).")


def check_may_send(operator: Mapping[str, Any], officer: Mapping[str, Any]) -> None:
    if not sees(operator, officer.get("polsek")):
        raise Forbidden(f"{officer['name']} bukan personel Polsek Anda.")


def chosen_polsek(operator: Mapping[str, Any], asked: str | None) -> str:
    """The Polsek a roster view shows: the one asked for, if it is the operator's; else their first."""
    if not asked:
        return operator["polseks"][0]
    if asked not in operator["polseks"]:
        raise Forbidden(f"Polsek {asked} bukan wilayah Anda.")
    return asked


def action_call(action: str, body: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    """(dispatch RPC, arguments after the assignment id) for a console action; InvalidRequest says what is missing."""
    if action not in ACTIONS:
        raise InvalidRequest(f"Tindakan {action!r} tidak dikenal.")
    method, needs = ACTIONS[action]
    body = body or {}
    arguments, missing = [], []
    for name in needs:
        value = " ".join(str(body.get(name) or "").split())
        if not value:
            missing.append(FIELD_TEXT[name])
        elif len(value) > NOTE_LIMITS[name]:
            raise InvalidRequest(f"{FIELD_TEXT[name].capitalize()} terlalu panjang (paling banyak "
                                 f"{NOTE_LIMITS[name]} huruf).")
        arguments.append(value)
    if missing:
        raise InvalidRequest(f"Isi {' dan '.join(missing)}.")
    return method, arguments


def check_may_cancel(operator: Mapping[str, Any], entry: Mapping[str, Any] | None) -> None:
    """Only the report's own Polsek cancels it; the board entry (built from events) knows the Polsek."""
    if entry is None or entry.get("report") is None:
        raise NotFound("Laporan tidak ada di papan: periksa nomornya atau tunggu sampai muncul.")
    if not sees(operator, entry.get("polsek")):
        raise Forbidden(f"Laporan #{entry['report']['number']} bukan wilayah Polsek Anda "
                        f"({', '.join(operator['polseks'])}).")


def cancel_reason(body: Mapping[str, Any] | None) -> str:
    """The operator's reason for cancelling a report; InvalidRequest when missing or too long."""
    reason = " ".join(str((body or {}).get("reason") or "").split())
    if not reason:
        raise InvalidRequest("Isi alasan pembatalan.")
    if len(reason) > NOTE_LIMITS["reason"]:
        raise InvalidRequest(f"Alasan terlalu panjang (paling banyak {NOTE_LIMITS['reason']} huruf).")
    return reason


def polsek_directory(polseks: list[str]) -> list[dict[str, Any]]:
    """Each Polsek of an operator with its villages (for the roster's filters and the map's labels)."""
    names = wilayah.names()
    return [{"code": code, "name": names.get(code, code),
             "zone": wilayah.time_zone(code)[0], "utc_offset": wilayah.time_zone(code)[1],
             "villages": [{"code": village, "name": name} for village, name in sorted(names.items())
                          if village.startswith(code + ".")]}
            for code in polseks]


def login_locked_until(operator: Mapping[str, Any], now: datetime) -> datetime | None:
    locked = operator.get("locked_until")
    return locked if locked and locked > now else None


def after_failed_login(operator: Mapping[str, Any], now: datetime, settings: Settings = DEFAULT_SETTINGS,
                       ) -> dict[str, Any]:
    """$set for one more failed login: the account locks for a while after too many in a row."""
    failures = int(operator.get("failed_logins") or 0) + 1
    if failures >= settings.max_failed_logins:
        return {"failed_logins": 0, "locked_until": now + timedelta(minutes=settings.lock_minutes)}
    return {"failed_logins": failures}
