"""An assignment's life, pure: the stored decision (an assignment or an escalation), how it moves from
created to its end along the one lifecycle (shared/lifecycle.py), what each step's event says, and the
moves a console makes by hand (reassign, cancel). No I/O: the use cases read and write through the store."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from services.dispatch.choice import (
    ESCALATION_RULES,
    NAMED_RULE,
    REPORTING_RULE,
    Candidate,
    ack_deadline,
    escalation_reason_bahasa,
    polsek_of,
)
from services.dispatch.exceptions import DispatchError, InvalidTransition, NotAssignedOfficer, OfficerNotFree
from services.dispatch.settings import DEFAULT_SETTINGS, Settings
from shared import lifecycle, wilayah
from shared.boundaries import Atlas
from shared.contract import ASSIGNMENT_CREATED, EventType
from shared.envelope import Event, derived_id, to_millisecond
from shared.reply_matching import canonical_number

SOURCE = "/siaga/dispatch"
NO_ACK_REASON = "not acknowledged by the deadline"


@dataclass
class Outcome:
    """What assigning came to: a claimed officer's assignment, or the data of an escalation (and
    when it was decided: a decision said again keeps its time, so consumers order it right)."""

    assignment: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None
    at: datetime | None = None


# A decision to escalate is stored beside the assignments, under the id the assignment would have
# had, so a redelivered report (or a repeated follow-up) finds it instead of deciding anew.
ESCALATED = lifecycle.ESCALATED.state


def escalation_record(decision_id: str, escalation: dict[str, Any], now: datetime,
                      request: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Kept with what choosing needs (`request`), for the officer the duty desk may send by hand."""
    return {"_id": decision_id, "state": ESCALATED, "report_id": escalation["report"]["report_id"],
            "escalation": escalation, "created_at": now, "request": dict(request) if request else None}


def outcome_of(stored: Mapping[str, Any]) -> Outcome:
    """A decision as stored: an assignment, or an escalation record. Its time to the millisecond, as
    the database keeps it, so the first telling and a repeat carry the same time."""
    at = to_millisecond(stored["created_at"])
    if stored["state"] == ESCALATED:
        return Outcome(escalation=stored["escalation"], at=at)
    return Outcome(assignment=dict(stored), at=at)


def successor_of(outcome: Outcome) -> str:
    """What a finished follow-up records as the ended assignment's successor."""
    return outcome.assignment["_id"] if outcome.assignment else ESCALATED


# ---------------------------------------------------------------- assignments

def officer_ref(officer: Mapping[str, Any]) -> dict[str, Any]:
    return {key: officer[key] for key in ("name", "rank", "role", "phone")} | {"nrp": officer["_id"]}


def report_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    place = report["place"]
    return {
        "report_id": report["report_id"],
        "number": report["number"],
        "category": report["category"],
        "priority": report["priority"],
        "description": report["description"],
        "village_code": place.get("village_code"),
        "village_name": place.get("village_name"),
        "rw": place.get("rw"),
        "address": place.get("address"),
    }


def request_from_report(report: Mapping[str, Any], atlas: Atlas | None = None) -> dict[str, Any]:
    """What choosing needs, kept with each assignment so a reassignment can choose again: the place,
    with the villages bordering it in its Polsek and its centre (from the boundaries dispatch loaded)."""
    place = {key: report["place"].get(key) for key in ("lat", "lon", "village_code", "rw")}
    village = place["village_code"]
    if atlas is not None and village:
        place["neighbours"] = list(atlas.neighbours(village))
        centre = atlas.centroid(village)
        place["centre"] = list(centre) if centre else None
    return {
        "report": report_summary(report),
        "place": place,
        "skills": list(report.get("skills") or ()),
        "reporting_officer_nrp": report.get("reporting_officer_nrp"),
    }


def created_event_id(cause: Event) -> str:
    return derived_id(cause, ASSIGNMENT_CREATED.name)


def new_assignment(assignment_id: str, request: Mapping[str, Any], candidate: Candidate,
                   skipped: list[dict[str, str]], now: datetime, cause: Event, *,
                   settings: Settings = DEFAULT_SETTINGS, attempt: int = 1,
                   tried: Iterable[str] = ()) -> dict[str, Any]:
    """A fresh assignment awaiting acknowledgement (or, for the reporting officer, already on scene)."""
    on_scene = candidate.rule == REPORTING_RULE
    deadline = now if on_scene else ack_deadline(request["report"]["priority"], now, settings.ack_seconds)
    history = [{"state": "created", "at": now, "via": "system"}]
    if on_scene:
        history.append({"state": "on_scene", "at": now, "via": "officer_app"})
    return {
        "_id": assignment_id,
        "report_id": request["report"]["report_id"],
        "report": request["report"],
        "request": dict(request),
        "officer": officer_ref(candidate.officer),
        "rule": candidate.rule,
        "reason": candidate.reason,
        "reason_bahasa": candidate.reason_bahasa or candidate.reason,
        "distance_m": None if candidate.distance_m is None else round(candidate.distance_m),
        "skipped": skipped,
        "attempt": attempt,
        "tried": [*tried, candidate.nrp],
        "state": "on_scene" if on_scene else "created",
        "created_at": now,
        "ack_deadline": deadline,
        # the sweep's work list, (state, due_at): its next work on this one, saying it again or the deadline
        "due_at": None if on_scene else min(deadline, now + timedelta(seconds=settings.reannounce_s)),
        "history": history,
        "event_id": created_event_id(cause),
        "correlationid": cause.correlationid or request["report"]["report_id"],
    }


def successor_id(assignment: Mapping[str, Any]) -> str:
    """The next attempt's id is fixed by the one before it, so a retried follow-up finds its own work."""
    return derived_id(f"{SOURCE}|{assignment['_id']}", "assignment", "next")


def created_event_data(assignment: Mapping[str, Any]) -> dict[str, Any]:
    """The same data however far the assignment has moved since, so a republished event is the same event."""
    return {"assignment_id": assignment["_id"]} | {
        key: assignment[key] for key in
        ("officer", "report", "rule", "reason", "skipped", "ack_deadline", "distance_m", "attempt")
    } | {"reason_bahasa": assignment.get("reason_bahasa") or assignment["reason"],
         "state": "on_scene" if assignment["rule"] == REPORTING_RULE else "created"}


def escalation_event_data(request: Mapping[str, Any], duty_desk: dict[str, Any] | None,
                          rules: list[str], skipped: list[dict[str, str]], *, attempts: int = 0,
                          last_assignment_id: str | None = None) -> dict[str, Any]:
    """`rules`: why nobody was claimed (choice.ESCALATION_RULES), in English for logs and Bahasa for people."""
    reason = "; ".join(ESCALATION_RULES[rule][0] for rule in rules)
    if "tries_exhausted" in rules:
        reason = f"{attempts} {reason}"
    return {
        "report": request["report"],
        "polsek": polsek_of(request["place"]) or "",
        "duty_desk": officer_ref(duty_desk) if duty_desk else None,
        "reason": reason,
        "rules": list(rules),
        "reason_bahasa": escalation_reason_bahasa(rules, attempts),
        "skipped": skipped,
        "attempts": attempts,
        "last_assignment_id": last_assignment_id,
    }


# ---------------------------------------------------------------- the assignment's life

# Forward progress; an action may skip steps (an officer may reply "on scene" without "OK").
PROGRESS = lifecycle.PROGRESS
TERMINAL = lifecycle.TERMINAL
ACTIONS = {"acknowledge": lifecycle.ACKNOWLEDGED.state, "decline": lifecycle.DECLINED.state,
           "en_route": lifecycle.EN_ROUTE.state, "on_scene": lifecycle.ON_SCENE.state,
           "complete": lifecycle.COMPLETED.state}
# The steps after an assignment is created, each said by its event.
STEPS_AFTER_CREATED = (*PROGRESS[1:], *lifecycle.ENDING)
STEP_EVENTS: dict[str, EventType] = {state: lifecycle.BY_STATE[state].event for state in STEPS_AFTER_CREATED}
# What the officer's own status becomes; None = released (free for the next report).
OFFICER_STATUS = {state: lifecycle.BY_STATE[state].officer_status for state in STEPS_AFTER_CREATED}
STATE_TEXT = {"created": "waiting for acknowledgement", "acknowledged": "acknowledged", "en_route": "en route",
              "on_scene": "on scene", "completed": "completed", "declined": "declined", "expired": "expired"}

ADVANCE, REPEAT, PASSED = "advance", "repeat", "passed"


def decide(assignment: Mapping[str, Any], action: str, by_nrp: str | None = None) -> str:
    """ADVANCE (do it), REPEAT (done before: say it again, same event), PASSED (a later step
    already implies it: nothing to do); InvalidTransition with a reason a person can read.

    `by_nrp`: the officer answering for himself (an SMS reply), who must be the assigned one.
    """
    state, target = assignment["state"], ACTIONS[action]
    number = assignment["report"]["number"]
    if by_nrp is not None and by_nrp != assignment["officer"]["nrp"]:
        raise NotAssignedOfficer(f"report #{number} is assigned to {assignment['officer']['name']}, "
                                 f"not to NRP {by_nrp}")
    if ended_by_cancellation(assignment):
        at = _local_time(_history_at(assignment, state), assignment)
        raise InvalidTransition(f"report #{number} was cancelled at {at}: the officer is no longer needed there")
    if state == target:
        return REPEAT
    if state in TERMINAL:
        at = _local_time(_history_at(assignment, state), assignment)
        raise InvalidTransition(f"assignment for report #{number} was already {STATE_TEXT[state]} at {at}"
                                f"{'; it went to the next officer' if state in lifecycle.ENDING else ''}")
    if action == "decline":
        if state in ("created", "acknowledged"):
            return ADVANCE
        raise InvalidTransition(f"the officer is already {STATE_TEXT[state]} for report #{number}: "
                                "complete it with an outcome instead of declining")
    return ADVANCE if PROGRESS.index(target) > PROGRESS.index(state) else PASSED


def after_end_of(ended: Mapping[str, Any], now: datetime) -> datetime:
    """When the successor of an ended assignment is decided: after the step that ended it, by at least
    the millisecond the database keeps, since reports follows the assignment said latest."""
    return max(now, to_millisecond(ended["history"][-1]["at"]) + timedelta(milliseconds=1))


OPERATOR_LIMIT = 80  # AssignmentStepSchema.by_operator


def console_operator(by_operator: Any) -> str:
    """The console operator an action is recorded under: every step a console takes names who took it."""
    name = str(by_operator or "").strip()
    if not 0 < len(name) <= OPERATOR_LIMIT:
        raise DispatchError(f"say which console operator acts (1 to {OPERATOR_LIMIT} characters): "
                            "every console action is recorded under its operator")
    return name


def step(assignment: Mapping[str, Any], target: str, now: datetime, via: str,
         note: str | None = None, by_operator: str | None = None) -> dict[str, Any]:
    """The history entry for a move to `target`; the note is the decline reason or the outcome; a console's
    step names its operator."""
    entry: dict[str, Any] = {"state": target, "at": now, "via": via}
    if by_operator:
        entry["by_operator"] = by_operator
    if target == "declined":
        entry["reason"] = note or "declined without a reason"
    elif target == "completed":
        entry["outcome"] = note or "completed"
    elif target == "expired":
        entry["reason"] = note or NO_ACK_REASON
    return entry


def moved(assignment: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """The assignment after a step (what the store wrote with its compare-and-set). `ended_at` once nothing
    follows it any more (completed, or ended with its report's cancellation; a decline or expiry gets it when
    its follow-up is decided, an escalation when the duty desk acts): the archive's clock (shared/archive.py)."""
    cancelled = bool(entry.get("report_cancelled"))
    ended = entry["state"] in lifecycle.ENDING and not cancelled
    after = dict(assignment) | {
        "state": entry["state"],
        "history": [*assignment["history"], dict(entry)],
        # a declined/expired assignment stays due until its follow-up (next officer or duty desk) is done;
        # one ended because its report was cancelled has no follow-up at all
        "due_at": entry["at"] if ended else None,
    } | ({"successor": CANCELLED_SUCCESSOR} if cancelled else {})
    if entry["state"] in TERMINAL and after["due_at"] is None:
        after["ended_at"] = entry["at"]
    return after


def step_event_data(assignment: Mapping[str, Any], state: str) -> dict[str, Any]:
    entry = next(e for e in reversed(assignment["history"]) if e["state"] == state)
    data = {
        "assignment_id": assignment["_id"],
        "report_id": assignment["report_id"],
        "number": assignment["report"]["number"],
        "officer": assignment["officer"],
        "at": entry["at"],
        "via": entry["via"],
    }
    if state in ("declined", "expired"):
        data["reason"] = entry["reason"]
    if state == "completed":
        data["outcome"] = entry["outcome"]
    if state == "expired":
        data["attempt"] = assignment["attempt"]
    if state == "completed" and assignment.get("desk_outcome"):
        data["desk_outcome"] = assignment["desk_outcome"]
    if entry.get("report_cancelled"):
        data["report_cancelled"] = True
    if entry.get("by_operator"):
        data["by_operator"] = entry["by_operator"]
    return data


def assignment_cause(assignment: Mapping[str, Any]) -> Event:
    """The assignment_created event, as the cause of every later step of the assignment."""
    return Event(id=assignment["event_id"], source=SOURCE, type=ASSIGNMENT_CREATED.name,
                 time=assignment["created_at"], data={}, correlationid=assignment.get("correlationid"))


def step_cause(assignment: Mapping[str, Any], state: str) -> Event:
    """A step event (e.g. the expiry), as the cause of what follows it (the next officer)."""
    event_type = STEP_EVENTS[state]
    created = assignment_cause(assignment)
    return Event(id=derived_id(created, event_type.name), source=SOURCE, type=event_type.name,
                 time=_history_at(assignment, state), data={}, correlationid=created.correlationid)


def _history_at(assignment: Mapping[str, Any], state: str) -> datetime:
    return next((e["at"] for e in reversed(assignment["history"]) if e["state"] == state), assignment["created_at"])


def _local_time(at: datetime, assignment: Mapping[str, Any]) -> str:
    zone, offset = wilayah.time_zone(assignment["report"].get("village_code") or "31")
    return (at + timedelta(hours=offset)).strftime(f"%H:%M {zone}")


def assignment_view(assignment: Mapping[str, Any]) -> dict[str, Any]:
    """What a console sees: JSON-ready (times as ISO 8601 UTC), without internal bookkeeping."""
    def iso(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value
    return {
        "assignment_id": assignment["_id"],
        "report": assignment["report"],
        "officer": assignment["officer"],
        "state": assignment["state"],
        "rule": assignment["rule"],
        "reason": assignment["reason"],
        "distance_m": assignment.get("distance_m"),
        "attempt": assignment["attempt"],
        "skipped": assignment["skipped"],
        "ack_deadline": iso(assignment["ack_deadline"]),
        "history": [{key: iso(value) for key, value in entry.items()} for entry in assignment["history"]],
    }


def reassignment_view(ended: Mapping[str, Any], outcome: Outcome) -> dict[str, Any]:
    """What a console sees of a reassignment: the assignment it ended, the one that follows or the escalation."""
    return {"ended": assignment_view(ended),
            "assignment": assignment_view(outcome.assignment) if outcome.assignment else None,
            "escalation": outcome.escalation and {"reason": outcome.escalation["reason"]}}


# ---------------------------------------------------------------- by hand, from a console

REASSIGN_NOTE_LIMIT = 300  # AssignmentDeclinedSchema.reason


def check_reassignment(assignment: Mapping[str, Any], officer: Mapping[str, Any]) -> None:
    """May a console move this assignment to this officer? InvalidTransition / OfficerNotFree say why not.

    The duty officer heard the officer on the radio, so shifts are not checked; a busy officer is refused
    (the claim would fail anyway) so the current assignment is not ended for nothing.
    """
    state, number = assignment["state"], assignment["report"]["number"]
    if state in TERMINAL:
        at = _local_time(_history_at(assignment, state), assignment)
        what = "cancelled with its report" if ended_by_cancellation(assignment) else f"already {STATE_TEXT[state]}"
        raise InvalidTransition(f"assignment for report #{number} was {what} at {at}; nothing to reassign")
    if officer["_id"] == assignment["officer"]["nrp"]:
        raise InvalidTransition(f"report #{number} is already assigned to {officer['name']}")
    if officer["role"] == "duty_desk":
        raise OfficerNotFree(f"{officer['name']} is the duty desk, not an officer one can send")
    if officer.get("assignment_id") or officer.get("status") != "available":
        busy = f" on another report (assignment {officer['assignment_id']})" if officer.get("assignment_id") else ""
        raise OfficerNotFree(f"{officer['name']} is {officer.get('status')}{busy}: choose a free officer")


def reassignment_step(assignment: Mapping[str, Any], officer: Mapping[str, Any], reason: str,
                      now: datetime, by_operator: str | None = None) -> dict[str, Any]:
    """The current assignment ends as declined via the console, naming who takes over (so a follow-up
    finished later by a sweep, after a crash, still claims the named officer)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise DispatchError("say why the report is reassigned (for the record and the next shift)")
    note = f"reassigned by console to {officer['name']} ({officer['_id']}): {reason}"
    entry = step(assignment, "declined", now, "console", note[:REASSIGN_NOTE_LIMIT], by_operator)
    return entry | {"reassign_to": officer["_id"], "reassign_reason": reason}


def named_officer(ended: Mapping[str, Any]) -> tuple[str, str] | None:
    """(NRP, reason) when the assignment ended because a console named the next officer."""
    last = ended["history"][-1]
    return (last["reassign_to"], last.get("reassign_reason", "")) if last.get("reassign_to") else None


def named_candidate(officer: dict[str, Any], reason: str, own: bool = False) -> Candidate:
    return Candidate(officer, NAMED_RULE, f"named by the duty officer on the console: {reason}", None, own,
                     f"ditunjuk piket lewat konsol: {reason}")


# ---------------------------------------------------------------- a report cancelled on a console
#
# reports publishes report_cancelled; the report's open assignment (whatever its state) ends as
# declined via the console with the reason "report cancelled: …", and nobody follows it: no next
# officer, no duty desk (successor "report_cancelled", never due for the sweep). Declined is the
# existing terminal state every consumer already handles (reports ignores it on a cancelled report,
# notify closes the officer's SMS replies, the board ends the assignment); a separate `cancelled`
# state would need an assignment event of its own.

CANCELLED_SUCCESSOR = "report_cancelled"


def cancellation_step(assignment: Mapping[str, Any], reason: str, now: datetime,
                      by_operator: str | None = None) -> dict[str, Any]:
    note = f"report cancelled: {' '.join((reason or '').split()) or 'no reason given'}"
    return step(assignment, "declined", now, "console", note[:REASSIGN_NOTE_LIMIT],
                by_operator) | {"report_cancelled": True}


def ended_by_cancellation(assignment: Mapping[str, Any]) -> bool:
    return assignment["state"] == "declined" and bool(assignment["history"][-1].get("report_cancelled"))




def reply_candidates(held: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """An officer's assignments as shared.reply_matching reads them: open while not ended (an escalation
    record is the duty desk's, never an officer's task)."""
    return [{"_id": a["_id"], "number": a["report"]["number"], "number_key": canonical_number(a["report"]["number"]),
             "open": a["state"] not in lifecycle.TERMINAL, "ended": a["state"] if a["state"] in lifecycle.TERMINAL
             else None} for a in held if a["state"] != ESCALATED]
