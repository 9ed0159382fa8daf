"""dispatch: decides which officer goes to a report, and follows the assignment until it ends.

Consumes  reports.events   report_received, report_cancelled
          intake.events    officer_location_updated, officer_status_changed   (officer apps)
          notify.events    officer_replied, sms_failed
          timer            expire_overdue_assignments (every DISPATCH.SWEEP_SECONDS, on every replica)
RPC       acknowledge_assignment, decline_assignment, mark_assignment_en_route, mark_assignment_on_scene,
          complete_assignment, reassign_assignment, get_assignment, list_officers, get_officer, save_officer,
          update_officer_status
Publishes dispatch.events  assignment_created, assignment_escalated, assignment_acknowledged,
          assignment_declined, assignment_departed, assignment_arrived, assignment_completed, assignment_expired
"""
import logging

from nameko.rpc import rpc

from services.dispatch import domain
from services.dispatch.exceptions import DispatchError
from services.dispatch.roster import parse_officer
from services.dispatch.settings import every_sweep
from services.dispatch.storage import Dispatch
from shared.contract import (
    ASSIGNMENT_ARRIVED,
    ASSIGNMENT_CREATED,
    ASSIGNMENT_ESCALATED,
    OFFICER_LOCATION_UPDATED,
    OFFICER_REPLIED,
    OFFICER_STATUS_CHANGED,
    REPORT_CANCELLED,
    REPORT_RECEIVED,
    SMS_FAILED,
)
from shared.envelope import Event, derived_id, utcnow
from shared.messaging import EventPublisher, handles

log = logging.getLogger(__name__)


class DispatchService:
    name = "dispatch"

    dispatch = Dispatch()
    publish = EventPublisher()

    # ------------------------------------------------------------ choosing

    @handles(REPORT_RECEIVED)
    def handle_report_received(self, received: Event) -> None:
        """Claim the best free officer for the report, or hand it to the Polsek duty desk.

        No cancellation check here, to keep a read off every report: a report cancelled before this
        (late) delivery gets its assignment answered by reports with report_cancelled again, which ends it."""
        request = domain.request_from_report(received.data)
        outcome = self.dispatch.assign(request, derived_id(received, "assignment"), utcnow(), received)
        self.publish_outcome(outcome, received)

    @handles(REPORT_CANCELLED)
    def handle_report_cancelled(self, cancelled: Event) -> None:
        """The report's open assignment ends (declined: "report cancelled: …") and its officer is free;
        nobody follows it. A redelivery says the same assignment_declined again."""
        for ended in self.dispatch.cancel_report(cancelled.data["report_id"], cancelled.data["reason"], utcnow()):
            self.publish_step(ended)

    @every_sweep
    def expire_overdue_assignments(self) -> None:
        """Deadlines live in the database: whichever replica wins the compare-and-set expires each one,
        once; a follow-up a dead worker left half done is leased and finished."""
        now = utcnow()
        for assignment in self.dispatch.overdue(now):
            self.settle(self.dispatch.expire(assignment, now, domain.NO_ACK_REASON))
        for assignment in self.dispatch.stalled_follow_ups(now):
            if self.dispatch.lease_follow_up(assignment, now):
                self.settle(assignment)

    @handles(SMS_FAILED)
    def handle_sms_failed(self, failed: Event) -> None:
        """An officer whom the assignment SMS never reached cannot acknowledge it: expire it now."""
        sms = failed.data
        if sms["recipient_role"] != "officer" or not sms.get("assignment_id"):
            return
        if sms.get("kind") not in (None, "officer_assignment"):
            return  # a help text or a reply confirmation that failed says nothing about the assignment
        try:
            assignment = self.dispatch.assignment(sms["assignment_id"])
        except DispatchError as exc:
            log.warning("sms_failed %s ignored: %s", failed.id, exc.reason)
            return
        reason = f"officer unreachable by SMS ({sms['reason']})"
        self.settle(self.dispatch.expire(assignment, utcnow(), reason))

    # ------------------------------------------------------------ the officer's answers

    @handles(OFFICER_REPLIED)
    def handle_officer_replied(self, replied: Event) -> None:
        """An SMS answer that does not fit (late, wrong officer) is logged, not retried or dead-lettered."""
        reply = replied.data
        try:
            self.act(reply["assignment_id"], reply["action"], "sms", reply.get("text"), by_nrp=reply["nrp"])
        except DispatchError as exc:
            log.warning("officer_replied %s (%s by %s) has no effect: %s",
                        replied.id, reply["action"], reply["nrp"], exc.reason)

    @rpc(expected_exceptions=DispatchError)
    def acknowledge_assignment(self, assignment_id: str) -> dict:
        return self.act(assignment_id, "acknowledge", "console")

    @rpc(expected_exceptions=DispatchError)
    def decline_assignment(self, assignment_id: str, reason: str) -> dict:
        return self.act(assignment_id, "decline", "console", reason)

    @rpc(expected_exceptions=DispatchError)
    def mark_assignment_en_route(self, assignment_id: str) -> dict:
        return self.act(assignment_id, "en_route", "console")

    @rpc(expected_exceptions=DispatchError)
    def mark_assignment_on_scene(self, assignment_id: str) -> dict:
        return self.act(assignment_id, "on_scene", "console")

    @rpc(expected_exceptions=DispatchError)
    def complete_assignment(self, assignment_id: str, outcome: str) -> dict:
        return self.act(assignment_id, "complete", "console", outcome)

    @rpc(expected_exceptions=DispatchError)
    def reassign_assignment(self, assignment_id: str, nrp: str, reason: str) -> dict:
        """By hand, to a named free officer (who called in by radio): the current assignment ends as declined
        via the console and the named officer is claimed like any other, one event per step."""
        ended = self.dispatch.reassign(assignment_id, nrp, reason, utcnow())
        self.publish_step(ended)
        outcome = self.follow_up(ended)
        return {"ended": domain.assignment_view(ended),
                "assignment": domain.assignment_view(outcome.assignment) if outcome.assignment else None,
                "escalation": outcome.escalation and {"reason": outcome.escalation["reason"]}}

    @rpc(expected_exceptions=DispatchError)
    def get_assignment(self, assignment_id: str) -> dict:
        return domain.assignment_view(self.dispatch.assignment(assignment_id))

    # ------------------------------------------------------------ the roster

    @handles(OFFICER_LOCATION_UPDATED)
    def handle_officer_location_updated(self, updated: Event) -> None:
        """Where the officer is, for the nearest-officer rule; older or unknown fixes change nothing."""
        fix = updated.data
        if not domain.plausible_fix_time(fix["at"], utcnow()):
            log.warning("officer_location_updated %s ignored: fix time %s is in the future", updated.id, fix["at"])
        elif not self.dispatch.update_location(fix["nrp"], fix["lat"], fix["lon"], fix["at"], fix.get("accuracy_m")):
            log.info("officer_location_updated %s ignored: unknown NRP %s or an older fix", updated.id, fix["nrp"])

    @handles(OFFICER_STATUS_CHANGED)
    def handle_officer_status_changed(self, changed: Event) -> None:
        """On or off duty from the officer's app; ignored (with a log line) while an assignment holds the officer."""
        try:
            self.dispatch.update_status(changed.data["nrp"], changed.data["status"], changed.data["at"])
        except DispatchError as exc:
            log.warning("officer_status_changed %s has no effect: %s", changed.id, exc.reason)

    @rpc(expected_exceptions=DispatchError)
    def get_officer(self, nrp: str) -> dict:
        return domain.officer_view(self.dispatch.officer(nrp))

    @rpc(expected_exceptions=DispatchError)
    def list_officers(self, polsek: str, village: str | None = None, status: str | None = None) -> list[dict]:
        """A Polsek's roster for a console: role, areas, status, shift and the current assignment."""
        wanted, now = domain.roster_filter(polsek, village, status), utcnow()
        return [domain.roster_entry(officer, assignment, now) for officer, assignment in self.dispatch.roster(**wanted)]

    @rpc(expected_exceptions=DispatchError)
    def save_officer(self, entry: dict) -> dict:
        """Add an officer or change a roster entry (same rules as the roster file)."""
        officer = parse_officer(entry)
        self.dispatch.replace_roster([officer])
        return domain.officer_view(self.dispatch.officer(officer["_id"]))

    @rpc(expected_exceptions=DispatchError)
    def update_officer_status(self, nrp: str, status: str) -> dict:
        """A console puts an officer on or off duty (off_duty, available, unavailable)."""
        if status not in ("off_duty", "available", "unavailable"):
            raise DispatchError(f"status {status!r}: a console may set off_duty, available or unavailable")
        return domain.officer_view(self.dispatch.update_status(nrp, status, utcnow()))

    # ------------------------------------------------------------ helpers (not entrypoints)

    def act(self, assignment_id: str, action: str, via: str, note: str | None = None,
            by_nrp: str | None = None) -> dict:
        """One step of an assignment, said as its event; a repeat says the same event again."""
        assignment, decision = self.dispatch.advance(assignment_id, action, utcnow(), via, note, by_nrp)
        if decision in (domain.ADVANCE, domain.REPEAT):
            self.publish_step(assignment)
        if decision == domain.ADVANCE and assignment["state"] == "declined":
            self.follow_up(assignment)
        return domain.assignment_view(assignment)

    def settle(self, ended: dict | None) -> None:
        """Say the assignment expired (or was declined), then try the next officer or the duty desk."""
        if ended is not None:
            self.publish_step(ended)
            self.follow_up(ended)

    def follow_up(self, ended: dict) -> domain.Outcome:
        if self.dispatch.is_cancelled(ended["report_id"]):
            self.dispatch.release(ended["officer"]["nrp"], ended["_id"])
            self.dispatch.finish_follow_up(ended, domain.Outcome())  # nobody follows a cancelled report
            return domain.Outcome()
        outcome = self.dispatch.follow_up(ended, utcnow())
        self.publish_outcome(outcome, domain.step_cause(ended, ended["state"]))
        self.dispatch.finish_follow_up(ended, outcome)
        return outcome

    def publish_step(self, assignment: dict) -> None:
        state = assignment["state"]
        self.publish(domain.STEP_EVENTS[state], domain.step_event_data(assignment, state),
                     cause=domain.assignment_cause(assignment))

    def publish_outcome(self, outcome: domain.Outcome, cause: Event) -> None:
        """Said again after a redelivery: same id, same data, and the time it was decided."""
        if outcome.assignment is None:
            self.publish(ASSIGNMENT_ESCALATED, outcome.escalation, cause=cause, time=outcome.at)
            return
        assignment = outcome.assignment
        self.publish(ASSIGNMENT_CREATED, domain.created_event_data(assignment), cause=cause, time=outcome.at)
        if assignment["rule"] == domain.REPORTING_RULE:
            self.publish(ASSIGNMENT_ARRIVED, domain.step_event_data(assignment, "on_scene"),
                         cause=domain.assignment_cause(assignment))
