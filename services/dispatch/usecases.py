"""Dispatch's use cases, each a plain function of (store, publish, settings, now, …): what the service
does when a report arrives, when an officer answers, when a deadline passes, when a console steps in.

The store answers single-document questions (claimed? moved? inserted?); the decisions are here.
Every decision is stored under an id derived from its cause before it is said, so a redelivery (or
a follow-up a sweep finishes after a crash) finds it and says the same events again instead of
deciding anew.

Round trips from report_received to assignment_created: one indexed query for the area officers,
duty desk and reporting officer; one ring query only when no area officer could be claimed; one
update per claim attempt; one insert, which meets a decision already taken (no read for it first,
see `assign`). No read of
the cancellations: a report cancelled before its report_received arrived is caught by reports,
which says report_cancelled again when the assignment appears. No read of the archive either, but for a
report_received old enough to have had its decision archived (shared/archive.py).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from services.dispatch import assignments, choice, officers
from services.dispatch.assignments import Outcome
from services.dispatch.exceptions import DispatchError, OfficerNotFound, OfficerOnAssignment
from services.dispatch.roster import parse_officer
from services.dispatch.settings import Settings
from services.dispatch.storage import DispatchStore
from shared import archive, lifecycle, reply_matching
from shared.contract import ASSIGNMENT_ARRIVED, ASSIGNMENT_CREATED, ASSIGNMENT_ESCALATED, REPLY_REFUSED
from shared.envelope import Event, derived_id, to_millisecond

log = logging.getLogger(__name__)
Publish = Callable[..., Any]  # EventPublisher's: publish(event_type, data, cause=…, time=…)
# Compare-and-set moves read the assignment again when it changed meanwhile, this many times.
ATTEMPTS = 3


# ---------------------------------------------------------------- a report arrives

def assign_report(store: DispatchStore, publish: Publish, settings: Settings, now: datetime,
                  received: Event) -> Outcome:
    """Claim the best free officer for the report, or hand it to the Polsek duty desk. A report whose
    decision was archived was decided and said long ago: nothing is claimed or said again."""
    assignment_id = derived_id(received, "assignment")
    if archive.may_be_archived(received.time, now, store.archive) and store.archived_decision(assignment_id):
        log.info("report_received %s: its decision %s is archived, nothing to do", received.id, assignment_id)
        return Outcome()
    request = assignments.request_from_report(received.data, store.atlas)
    outcome = assign(store, settings, now, request, assignment_id, received)
    publish_outcome(publish, outcome, received)
    return outcome


def assign(store: DispatchStore, settings: Settings, now: datetime, request: dict[str, Any], assignment_id: str,
           cause: Event, *, attempt: int = 1, tried: Iterable[str] = (), after: str | None = None) -> Outcome:
    """Claim the best free officer for a report and store the assignment, or say why nobody.

    Decided once, by the insert rather than by a read before it: the id is derived from the cause, so a
    redelivered report (or a repeated follow-up) meets the decision stored first, takes it, and frees
    the officer it claimed meanwhile. It neither keeps a second officer nor escalates a report whose
    officer has since become free; and a report's first delivery, nearly every one, spends no round
    trip looking for a decision that is not there. Except where the officer who reported it on patrol may
    be taken: his claim takes him whatever his status, which undoing it could not give back."""
    if request.get("reporting_officer_nrp") and (decided := store.decision(assignment_id)) is not None:
        return assignments.outcome_of(decided)
    place, tried = request["place"], list(tried)
    area = store.officers_by_keys(choice.request_keys(request))
    taken: dict[str, str] = {}
    rules = dict(now=now, skills=request["skills"], settings=settings, exclude=tried, taken=taken,
                 reporting_nrp=request.get("reporting_officer_nrp"))
    chosen = choice.choose(place, area, assignment_id, **rules)
    winner = claim_first(store, chosen, assignment_id, taken)
    if winner is None and choice.origin(place) is not None:
        nearby = store.officers_near(place, request["skills"], assignment_id)
        chosen = choice.choose(place, area, assignment_id, nearby=nearby, **rules)
        winner = claim_first(store, chosen, assignment_id, taken)
    if winner is None:
        return escalate(store, now, assignment_id, assignments.escalation_event_data(
            request, chosen.duty_desk, choice.escalation_rules(chosen, request), chosen.skipped,
            attempts=attempt - 1, last_assignment_id=after), request)
    assignment = assignments.new_assignment(assignment_id, request, winner, chosen.skipped, now, cause,
                                            settings=settings, attempt=attempt, tried=tried)
    stored = store.add_assignment(assignment)
    if stored is not assignment and (stored["state"] == assignments.ESCALATED or stored["officer"]["nrp"] != winner.nrp
                                     or stored["state"] in assignments.TERMINAL):
        store.release(winner.nrp, assignment_id)  # decided before (or by a concurrent delivery): undo this claim
    return assignments.outcome_of(stored)


def claim_first(store: DispatchStore, chosen: choice.Choice, assignment_id: str,
                taken: dict[str, str]) -> choice.Candidate | None:
    """The first candidate whose claim succeeds; the others lost to another report are noted in `taken`."""
    for candidate in chosen.candidates:
        if candidate.own or store.claim(candidate.nrp, assignment_id,
                                        on_scene=candidate.rule == choice.REPORTING_RULE):
            return candidate
        taken[candidate.nrp] = "was taken by another report meanwhile"
    return None


def escalate(store: DispatchStore, now: datetime, decision_id: str, escalation: dict[str, Any],
             request: dict[str, Any] | None = None) -> Outcome:
    """Store the decision to escalate (or find the one a concurrent delivery stored first)."""
    return assignments.outcome_of(store.add_assignment(
        assignments.escalation_record(decision_id, escalation, now, request)))


# ---------------------------------------------------------------- after an assignment ends

def settle(store: DispatchStore, publish: Publish, settings: Settings, now: datetime, ended: dict[str, Any]) -> Outcome:
    """Say the assignment expired (or was declined), then try the next officer or the duty desk."""
    publish_step(publish, ended)
    return follow_up(store, publish, settings, now, ended)


def follow_up(store: DispatchStore, publish: Publish, settings: Settings, now: datetime,
              ended: dict[str, Any]) -> Outcome:
    """After a decline or expiry the officer is free; then the officer a console named, else the next
    candidate not yet tried, or the duty desk after N tries; nobody for a cancelled report. Marked done
    last, so a sweep finishes a follow-up a dead worker left half done."""
    update_officer(store, ended)  # again, when finishing what a dead worker left
    if store.is_cancelled(ended["report_id"]):
        store.finish_follow_up(ended, assignments.CANCELLED_SUCCESSOR, now)
        return Outcome()
    outcome = next_decision(store, settings, assignments.after_end_of(ended, now), ended)
    publish_outcome(publish, outcome, assignments.step_cause(ended, ended["state"]))
    store.finish_follow_up(ended, assignments.successor_of(outcome), now)
    return outcome


def next_decision(store: DispatchStore, settings: Settings, now: datetime, ended: dict[str, Any]) -> Outcome:
    successor = assignments.successor_id(ended)
    decided = store.decision(successor)
    if decided is not None:  # a follow-up repeated after a crash says what was decided
        return assignments.outcome_of(decided)
    request = ended["request"] | {"reporting_officer_nrp": None}
    cause = assignments.step_cause(ended, ended["state"])
    if named := assignments.named_officer(ended):
        outcome = assign_named(store, settings, now, request, successor, *named, cause,
                               attempt=ended["attempt"] + 1, tried=ended["tried"])
        if outcome is not None:
            return outcome
        # the named officer was taken by another report meanwhile: the usual rules choose
    if ended["attempt"] >= settings.max_tries:
        return engage_duty_desk(store, now, ended, request)
    return assign(store, settings, now, request, successor, cause,
                  attempt=ended["attempt"] + 1, tried=ended["tried"], after=ended["_id"])


def engage_duty_desk(store: DispatchStore, now: datetime, ended: dict[str, Any], request: dict[str, Any]) -> Outcome:
    polsek = choice.polsek_of(request["place"])
    desk = next(iter(store.officers_by_keys([officers.desk_key(polsek)] if polsek else [])), None)
    skipped = [{"nrp": nrp, "reason": "was tried and did not take it"} for nrp in ended["tried"]]
    return escalate(store, now, assignments.successor_id(ended), assignments.escalation_event_data(
        request, desk, ["tries_exhausted"], skipped,
        attempts=ended["attempt"], last_assignment_id=ended["_id"]), request)


def assign_named(store: DispatchStore, settings: Settings, now: datetime, request: dict[str, Any],
                 assignment_id: str, nrp: str, reason: str, cause: Event, *, attempt: int,
                 tried: Iterable[str]) -> Outcome | None:
    """Claim the officer a console named (same compare-and-set as any claim); None if not free now."""
    try:
        officer = store.officer(nrp)
    except OfficerNotFound:
        return None
    own = officer.get("assignment_id") == assignment_id  # a repeated follow-up finds its own claim
    if not own and not store.claim(nrp, assignment_id):
        return None
    assignment = assignments.new_assignment(assignment_id, request, assignments.named_candidate(officer, reason, own),
                                            [], now, cause, settings=settings, attempt=attempt, tried=tried)
    return assignments.outcome_of(store.add_assignment(assignment))


# ---------------------------------------------------------------- moving an assignment

def move(store: DispatchStore, assignment: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any] | None:
    """Move the assignment from the state it was read in (None if it moved meanwhile); the officer follows."""
    after = store.move(assignment, entry)
    if after is not None:
        update_officer(store, after)
    return after


def update_officer(store: DispatchStore, assignment: dict[str, Any]) -> None:
    """The officer's status follows his assignment's state, and he is free again when it ends: the one
    place an assignment lets its officer go. Only while this assignment still holds him (idempotent)."""
    status, nrp = assignments.OFFICER_STATUS[assignment["state"]], assignment["officer"]["nrp"]
    if status is None:
        store.release(nrp, assignment["_id"])
    else:
        store.hold(nrp, assignment["_id"], status)


def act(store: DispatchStore, publish: Publish, settings: Settings, now: datetime, assignment_id: str,
        action: str, via: str, note: str | None = None, by_nrp: str | None = None,
        by_operator: str | None = None) -> dict[str, Any]:
    """One step of an assignment (by console or SMS), said as its event; a repeat says the same event
    again; a decline goes to the next officer. A console's step is recorded under its operator."""
    by_operator = assignments.console_operator(by_operator) if via == "console" else None
    assignment, decision = advance(store, now, assignment_id, action, via, note, by_nrp, by_operator)
    if decision in (assignments.ADVANCE, assignments.REPEAT):
        publish_step(publish, assignment)
    if decision == assignments.ADVANCE and assignment["state"] == lifecycle.DECLINED.state:
        follow_up(store, publish, settings, now, assignment)
    return assignment


def advance(store: DispatchStore, now: datetime, assignment_id: str, action: str, via: str,
            note: str | None = None, by_nrp: str | None = None,
            by_operator: str | None = None) -> tuple[dict[str, Any], str]:
    """Apply an action with a compare-and-set on the state it was read in; re-read if it changed meanwhile."""
    for _ in range(ATTEMPTS):
        assignment = store.assignment(assignment_id)
        decision = assignments.decide(assignment, action, by_nrp)
        if decision != assignments.ADVANCE:
            return assignment, decision
        after = move(store, assignment, assignments.step(assignment, assignments.ACTIONS[action], now, via, note,
                                                         by_operator))
        if after is not None:
            return after, decision
    raise DispatchError("the assignment changed several times while this action was applied; try again")


def read_reply(store: DispatchStore, publish: Publish, settings: Settings, now: datetime, unmatched: Event) -> None:
    """A reply notify could not match, read against the assignments held: acted on, or refused with why.

    The phone is the gateway's word for who sent it, so it may act only on its officer's own tasks.
    A step the assignment already took (a redelivery) is said again by act(); a reply that acts on
    nothing is answered with the officer's open tasks, an unknown number with nothing an officer reads."""
    reply = unmatched.data
    officer = store.officer_by_phone(reply["phone"])
    held = assignments.reply_candidates(store.assignments_of_officer(officer["_id"])) if officer else []
    match = reply_matching.match_reply(reply["action"], reply["number"], held)
    if officer is not None and match.assignment is not None:
        act(store, publish, settings, now, match.assignment["_id"], reply["action"], "sms", reply.get("text"),
            by_nrp=officer["_id"])
        return
    publish(REPLY_REFUSED, {
        "phone": reply["phone"], "nrp": officer and officer["_id"], "action": reply["action"],
        "reason": match.refusal if officer else reply_matching.STRANGER, "number": reply["number"],
        "open_numbers": reply_matching.open_numbers(held)}, cause=unmatched)


def expire(store: DispatchStore, publish: Publish, settings: Settings, now: datetime, assignment: dict[str, Any],
           reason: str = assignments.NO_ACK_REASON) -> None:
    """Expire an unacknowledged assignment and follow it up."""
    if ended := mark_expired(store, now, assignment, reason):
        settle(store, publish, settings, now, ended)


def mark_expired(store: DispatchStore, now: datetime, assignment: dict[str, Any], reason: str) -> dict[str, Any] | None:
    """The assignment, expired; None when another replica (or the officer's answer) got there first."""
    if assignment["state"] != lifecycle.CREATED.state:
        return None
    return move(store, assignment, assignments.step(assignment, lifecycle.EXPIRED.state, now, "system", reason))


def expire_overdue(store: DispatchStore, publish: Publish, settings: Settings, now: datetime) -> None:
    """Deadlines live in the database: whichever replica wins the compare-and-set expires each one,
    once, or says it again; a follow-up a dead worker left half done is leased and finished."""
    said = []
    for assignment in store.overdue(now):
        if assignment["ack_deadline"] <= now:
            expire(store, publish, settings, now, assignment)
        elif reannounce(store, publish, now, assignment):
            said.append(assignment["report"]["number"])
    if said:
        log.info("sweep: %d assignment(s) unacknowledged after %gs said again: %s", len(said), settings.reannounce_s,
                 ", ".join(said))
    for assignment in store.stalled_follow_ups(now - timedelta(seconds=settings.follow_up_grace_s)):
        if store.lease_follow_up(assignment, now):
            settle(store, publish, settings, now, assignment)


def reannounce(store: DispatchStore, publish: Publish, now: datetime, assignment: dict[str, Any]) -> bool:
    """An assignment its officer has not answered after REANNOUNCE_S is said again, once, as stored (same id).

    notify's record of the officer's SMS may have been lost after the SMS went out (a disk that lied,
    a restore); said again, it is recorded again, the gateway (which never sends an SMS twice) answers
    as before, and the officer's receipt and replies are tracked. Where the record exists nothing
    happens. Its time is the assignment's first `due_at` (assignments.new_assignment), so the sweep
    finds it on the deadlines' index, never by reading every assignment still waiting."""
    if not store.mark_reannounced(assignment, now):
        return False
    publish(ASSIGNMENT_CREATED, assignments.created_event_data(assignment), id=assignment["event_id"],
            correlationid=assignment["correlationid"], time=assignment["created_at"])
    return True


def expire_unreachable(store: DispatchStore, publish: Publish, settings: Settings, now: datetime,
                       sms: dict[str, Any]) -> None:
    """The officer's assignment SMS failed: expire the assignment now (he cannot acknowledge it)."""
    if sms["recipient_role"] != "officer" or not sms.get("assignment_id"):
        return
    if sms.get("kind") not in (None, "officer_assignment"):
        return  # a help text or a reply confirmation that failed says nothing about the assignment
    assignment = store.assignment(sms["assignment_id"])
    expire(store, publish, settings, now, assignment, f"officer unreachable by SMS ({sms['reason']})")


# ---------------------------------------------------------------- by hand, from a console

def reassign(store: DispatchStore, publish: Publish, settings: Settings, now: datetime, assignment_id: str,
             nrp: str, reason: str, by_operator: str | None = None) -> tuple[dict[str, Any], Outcome]:
    """By hand, to a named free officer: the current assignment ends, the follow-up claims that officer."""
    ended = mark_reassigned(store, now, assignment_id, nrp, reason, assignments.console_operator(by_operator))
    return ended, settle(store, publish, settings, now, ended)


def mark_reassigned(store: DispatchStore, now: datetime, assignment_id: str, nrp: str, reason: str,
                    by_operator: str | None = None) -> dict[str, Any]:
    """The assignment, ended as declined via the console naming the officer who takes over (so a follow-up
    a sweep finishes after a crash still claims him). Checked against fresh reads, moved with a compare-and-set."""
    for _ in range(ATTEMPTS):
        assignment, officer = store.assignment(assignment_id), store.officer(nrp)
        assignments.check_reassignment(assignment, officer)
        ended = move(store, assignment, assignments.reassignment_step(assignment, officer, reason, now, by_operator))
        if ended is not None:
            return ended
    raise DispatchError("the assignment changed several times while it was reassigned; try again")


def cancel_report(store: DispatchStore, publish: Publish, now: datetime, report_id: str,
                  reason: str, by_operator: str | None = None) -> list[dict[str, Any]]:
    """Remember the cancellation first (a late follow-up then claims nobody), then end the report's open
    assignments, freeing their officers. Says every assignment the cancellation ended, including ones an
    earlier delivery ended (the same event again, same id)."""
    store.remember_cancellation(report_id, now)
    for escalation in store.escalations_for(report_id):
        store.end_escalation(escalation["_id"], now)
    ended = []
    for assignment in store.assignments_for(report_id):
        for _ in range(ATTEMPTS):
            if assignment["state"] not in assignments.TERMINAL:
                after = move(store, assignment, assignments.cancellation_step(assignment, reason, now, by_operator))
                if after is None:  # the officer answered meanwhile: read it again
                    assignment = store.assignment(assignment["_id"])
                    continue
                ended.append(after)
            elif assignments.ended_by_cancellation(assignment):
                update_officer(store, assignment)  # a crash may have left him held
                ended.append(assignment)
            break
    for assignment in ended:
        publish_step(publish, assignment)
    return ended


# ---------------------------------------------------------------- the roster

def record_location(store: DispatchStore, now: datetime, fix: dict[str, Any]) -> str | None:
    """Where the officer is, for the nearest-officer rule; why the fix changed nothing, if it did not."""
    if not officers.plausible_fix_time(fix["at"], now):
        return f"fix time {fix['at']} is in the future"
    if not store.update_location(fix["nrp"], fix["lat"], fix["lon"], fix["at"], fix.get("accuracy_m")):
        return f"unknown NRP {fix['nrp']} or an older fix"
    return None


def change_officer_status(store: DispatchStore, nrp: str, status: str, at: datetime) -> dict[str, Any]:
    """On or off duty (app or console); refused while an assignment holds the officer, and an older report
    than the one already applied changes nothing."""
    changed = store.update_status(nrp, status, at)
    officer = store.officer(nrp)
    if not changed and officer.get("assignment_id"):
        raise OfficerOnAssignment(f"{officer['name']} is {officer['status']} on assignment "
                                  f"{officer['assignment_id']}: complete or decline it first")
    return officer


def set_status_by_console(store: DispatchStore, now: datetime, nrp: str, status: str) -> dict[str, Any]:
    officers.check_console_status(status)
    return change_officer_status(store, nrp, status, now)


def save_officer(store: DispatchStore, entry: dict[str, Any]) -> dict[str, Any]:
    """Add an officer or change a roster entry (same rules as the roster file)."""
    officer = parse_officer(entry)
    store.replace_roster([officer])
    return store.officer(officer["_id"])


def roster(store: DispatchStore, now: datetime, polsek: str, village: str | None = None,
           status: str | None = None) -> list[dict[str, Any]]:
    """A Polsek's roster for a console: role, areas, status, shift and the current assignment."""
    wanted = officers.roster_filter(polsek, village, status)
    return [officers.roster_entry(officer, assignment, now) for officer, assignment in store.roster(**wanted)]


# ---------------------------------------------------------------- saying it

def publish_step(publish: Publish, assignment: dict[str, Any]) -> None:
    """Said again after a redelivery: same id, same data, and the time the step was taken."""
    state = assignment["state"]
    data = assignments.step_event_data(assignment, state)
    publish(assignments.STEP_EVENTS[state], data, cause=assignments.assignment_cause(assignment),
            time=to_millisecond(data["at"]))


def publish_outcome(publish: Publish, outcome: Outcome, cause: Event) -> None:
    """Said again after a redelivery: same id, same data, and the time it was decided."""
    if outcome.assignment is None:
        publish(ASSIGNMENT_ESCALATED, outcome.escalation, cause=cause, time=outcome.at)
        return
    assignment = outcome.assignment
    publish(ASSIGNMENT_CREATED, assignments.created_event_data(assignment), cause=cause, time=outcome.at)
    if assignment["rule"] == choice.REPORTING_RULE:
        publish(ASSIGNMENT_ARRIVED, assignments.step_event_data(assignment, lifecycle.ON_SCENE.state),
                cause=assignments.assignment_cause(assignment))
