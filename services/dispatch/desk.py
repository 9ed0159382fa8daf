"""The duty desk's own hands: an escalated report is not a dead end. From a console, the duty desk
either sends a named free officer of the Polsek (the same claim, deadline and SMS as any assignment,
rule `named_by_console`), or closes the report itself with an outcome (ditangani SPKT, diteruskan ke
Polres, laporan palsu …), said as `assignment_completed` of the desk (`desk_outcome`), which resolves the
report and tells its reporters.

Either is decided once per escalation: its id derives from the escalation's (`desk_decision_id`), so a
repeated request says the same event again, and two operators racing are settled by the insert (the
loser's claim is undone). A desk-sent officer who declines or lets the deadline pass is followed up
like any other (the next officer, or the duty desk again: a new escalation to act on).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from services.dispatch import assignments, usecases
from services.dispatch.choice import NAMED_RULE, Candidate, polsek_of
from services.dispatch.exceptions import DispatchError, InvalidTransition, OfficerNotFree
from services.dispatch.settings import Settings
from services.dispatch.storage import DispatchStore
from shared.envelope import Event, derived_id

# What the duty desk may close a report with: code → what a person reads (and the reporter's SMS says).
OUTCOMES = {
    "handled_by_desk": "ditangani SPKT",
    "referred_to_polres": "diteruskan ke Polres",
    "false_report": "laporan palsu",
    "no_action_needed": "tidak perlu tindakan polisi",
}
NOTE_LIMIT = 300


def desk_decision_id(escalation_id: str) -> str:
    return derived_id(f"{assignments.SOURCE}|{escalation_id}", "assignment", "desk")


def open_escalation(store: DispatchStore, report_id: str) -> dict[str, Any]:
    """The report's latest escalation, if nothing came after it; InvalidTransition says why not."""
    escalations = sorted(store.escalations_for(report_id), key=lambda e: e["created_at"])
    if not escalations:
        raise InvalidTransition(f"report {report_id} is not escalated to the duty desk: act on its assignment")
    latest = escalations[-1]
    later = [a for a in store.assignments_for(report_id) if a["created_at"] > latest["created_at"]
             and a["_id"] != desk_decision_id(latest["_id"])]
    if later:
        raise InvalidTransition(f"report #{latest['escalation']['report']['number']} already went to "
                                f"{later[-1]['officer']['name']} after the escalation")
    return latest


def request_of(escalation: Mapping[str, Any]) -> dict[str, Any]:
    """What choosing needs again if the desk's officer does not take it (kept with the escalation)."""
    if escalation.get("request"):
        return dict(escalation["request"])
    report = escalation["escalation"]["report"]
    return {"report": report, "place": {"lat": None, "lon": None, "village_code": report.get("village_code"),
                                        "rw": report.get("rw")}, "skills": [], "reporting_officer_nrp": None}


def desk_cause(escalation: Mapping[str, Any], action: str) -> Event:
    """The console's act on an escalation, as the cause of what it makes (a deterministic id)."""
    return Event(id=derived_id(f"{assignments.SOURCE}|{escalation['_id']}", "duty_desk", action),
                 source=assignments.SOURCE, type=f"duty_desk_{action}", time=escalation["created_at"], data={},
                 correlationid=escalation["report_id"])


def send_officer(store: DispatchStore, publish, settings: Settings, now: datetime, report_id: str, nrp: str,
                 reason: str, by_operator: str) -> dict[str, Any]:
    """Claim the named free officer of the escalation's Polsek and say assignment_created, as any assignment."""
    by_operator = assignments.console_operator(by_operator)
    reason = " ".join((reason or "").split())[:NOTE_LIMIT] or "dikirim piket"
    escalation = open_escalation(store, report_id)
    decision_id = desk_decision_id(escalation["_id"])
    done = store.decision(decision_id)
    if done is None:
        officer = store.officer(nrp)
        check_sendable(officer, escalation)
        request = request_of(escalation)
        outcome = usecases.assign_named(store, settings, now, request, decision_id, nrp, reason,
                                        desk_cause(escalation, "sent"),
                                        attempt=escalation["escalation"].get("attempts", 0) + 1, tried=[])
        if outcome is None:
            raise OfficerNotFree(f"{officer['name']} was taken by another report meanwhile: choose a free officer")
        done = outcome.assignment
        if done["officer"]["nrp"] != nrp:
            store.release(nrp, decision_id)  # another operator decided first
    if done["rule"] != NAMED_RULE or done["officer"]["nrp"] != nrp:
        raise InvalidTransition(already_decided(done))
    store.end_escalation(escalation["_id"], now)
    usecases.publish_outcome(publish, assignments.outcome_of(done), desk_cause(escalation, "sent"))
    return done


def close(store: DispatchStore, publish, now: datetime, report_id: str, outcome: str, note: str | None,
          by_operator: str) -> dict[str, Any]:
    """The duty desk handled it itself: an assignment of the desk, completed with the outcome, said as
    assignment_completed (the report resolves; its reporters are told)."""
    by_operator = assignments.console_operator(by_operator)
    if outcome not in OUTCOMES:
        raise DispatchError(f"outcome {outcome!r}: one of {', '.join(OUTCOMES)}")
    escalation = open_escalation(store, report_id)
    desk = escalation["escalation"].get("duty_desk")
    if not desk:
        raise InvalidTransition(f"Polsek {escalation['escalation']['polsek']} has no duty desk on the roster")
    text = OUTCOMES[outcome] + (f": {' '.join(note.split())}" if note and note.strip() else "")
    record = closed_by_desk(escalation, desk, outcome, text[:NOTE_LIMIT], now, by_operator)
    stored = store.add_assignment(record)
    if stored.get("desk_outcome") != outcome:
        raise InvalidTransition(already_decided(stored))
    store.end_escalation(escalation["_id"], now)
    usecases.publish_step(publish, stored)
    return stored


def closed_by_desk(escalation: Mapping[str, Any], desk: Mapping[str, Any], outcome: str, text: str,
                   now: datetime, by_operator: str) -> dict[str, Any]:
    request = request_of(escalation)
    officer = {"_id": desk["nrp"], **{key: desk[key] for key in ("name", "rank", "role", "phone")}}
    candidate = Candidate(officer, NAMED_RULE, "the duty desk handled it", None, False, "ditangani piket")
    created = assignments.new_assignment(desk_decision_id(escalation["_id"]), request, candidate, [], now,
                                         desk_cause(escalation, "closed"),
                                         attempt=escalation["escalation"].get("attempts", 0) + 1)
    entry = assignments.step(created, "completed", now, "console", text, by_operator)
    return assignments.moved(created, entry) | {"due_at": None, "desk_outcome": outcome}


def check_sendable(officer: Mapping[str, Any], escalation: Mapping[str, Any]) -> None:
    polsek = escalation["escalation"].get("polsek") or polsek_of(request_of(escalation)["place"])
    if officer.get("polsek") != polsek:
        raise OfficerNotFree(f"{officer['name']} is not an officer of Polsek {polsek}")
    if officer["role"] == "duty_desk":
        raise OfficerNotFree(f"{officer['name']} is the duty desk: close the report instead")
    if officer.get("assignment_id") or officer.get("status") != "available":
        raise OfficerNotFree(f"{officer['name']} is {officer.get('status')}: choose a free officer")


def already_decided(done: Mapping[str, Any]) -> str:
    number = done["report"]["number"]
    if done.get("desk_outcome"):
        return f"report #{number} was already closed by the duty desk ({OUTCOMES[done['desk_outcome']]})"
    return f"report #{number} was already sent to {done['officer']['name']} by the duty desk"
