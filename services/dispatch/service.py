"""dispatch: decides which officer goes to a report, and follows the assignment until it ends.

Consumes  reports.events   report_received, report_cancelled
          intake.events    officer_location_updated, officer_status_changed   (officer apps)
          notify.events    officer_replied, reply_unmatched, sms_failed
          timer            expire_overdue_assignments (every DISPATCH.SWEEP_SECONDS, on every replica)
                           archive_ended_assignments (every ARCHIVE.SECONDS): assignments over long ago move
                           to assignments_archive (shared/archive.py)
RPC       acknowledge_assignment, decline_assignment, mark_assignment_en_route, mark_assignment_on_scene,
          complete_assignment, reassign_assignment, get_assignment, list_officers, get_officer, save_officer,
          find_officer_by_phone (community),
          update_officer_status; send_officer_to_escalated_report, close_escalated_report (the duty desk)
Publishes dispatch.events  assignment_created, assignment_escalated, assignment_acknowledged,
          assignment_declined, assignment_departed, assignment_arrived, assignment_completed, assignment_expired,
          reply_refused
"""
import logging

from services.dispatch import desk, usecases
from services.dispatch.assignments import assignment_view, reassignment_view
from services.dispatch.exceptions import DispatchError
from services.dispatch.officers import officer_view
from services.dispatch.settings import Settings
from services.dispatch.storage import Dispatch
from shared import archive
from shared.archive import ArchiveSettings
from shared.contract import (
    OFFICER_LOCATION_UPDATED,
    OFFICER_REPLIED,
    OFFICER_STATUS_CHANGED,
    REPLY_UNMATCHED,
    REPORT_CANCELLED,
    REPORT_RECEIVED,
    SMS_FAILED,
)
from shared.envelope import Event, utcnow
from shared.messaging import EventPublisher, handles
from shared.metrics import Metrics
from shared.rpc import rpc
from shared.settings import SettingsProvider, every

log = logging.getLogger(__name__)


class DispatchService:
    name = "dispatch"

    dispatch = Dispatch()
    publish = EventPublisher()
    metrics = Metrics()  # /metrics and /healthz on METRICS.ADDRESS (shared/metrics.py)
    settings = SettingsProvider(Settings)

    def context(self) -> tuple:
        """What every use case is handed: the store, the publisher, the settings and the time now."""
        return self.dispatch, self.publish, self.settings, utcnow()

    # ------------------------------------------------------------ choosing

    @handles(REPORT_RECEIVED)
    def handle_report_received(self, received: Event) -> None:
        """Claim the best free officer for the report, or hand it to the Polsek duty desk.

        No cancellation check here, to keep a read off every report: a report cancelled before this
        (late) delivery gets its assignment answered by reports with report_cancelled again, which ends it."""
        usecases.assign_report(*self.context(), received)

    @handles(REPORT_CANCELLED)
    def handle_report_cancelled(self, cancelled: Event) -> None:
        """The report's open assignment ends (declined: "report cancelled: …") and its officer is free;
        nobody follows it. A redelivery says the same assignment_declined again."""
        usecases.cancel_report(self.dispatch, self.publish, utcnow(), cancelled.data["report_id"],
                               cancelled.data["reason"], cancelled.data["cancelled_by"])

    @every(Settings, "sweep_seconds")
    def expire_overdue_assignments(self) -> None:
        """Runs on every replica; the database decides which one expires each assignment."""
        usecases.expire_overdue(*self.context())

    @every(ArchiveSettings, "interval")
    def archive_ended_assignments(self) -> None:
        """Assignments and escalations over long ago leave the live collection."""
        self.metrics.archived(archive.sweep(self.dispatch, self.dispatch.archive, utcnow()))

    @handles(SMS_FAILED)
    def handle_sms_failed(self, failed: Event) -> None:
        """An officer whom the assignment SMS never reached cannot acknowledge it: expire it now."""
        try:
            usecases.expire_unreachable(*self.context(), failed.data)
        except DispatchError as exc:
            log.warning("sms_failed %s ignored: %s", failed.id, exc.reason)

    # ------------------------------------------------------------ the officer's answers

    @handles(OFFICER_REPLIED)
    def handle_officer_replied(self, replied: Event) -> None:
        """An SMS answer that does not fit (late, wrong officer) is logged, not retried or dead-lettered."""
        reply = replied.data
        try:
            usecases.act(*self.context(), reply["assignment_id"], reply["action"], "sms", reply.get("text"),
                         by_nrp=reply["nrp"])
        except DispatchError as exc:
            log.warning("officer_replied %s (%s by %s) has no effect: %s",
                        replied.id, reply["action"], reply["nrp"], exc.reason)

    @handles(REPLY_UNMATCHED)
    def handle_reply_unmatched(self, unmatched: Event) -> None:
        """notify's records did not match the reply; the assignments here decide (reply_refused if nothing)."""
        try:
            usecases.read_reply(*self.context(), unmatched)
        except DispatchError as exc:
            log.warning("reply_unmatched %s has no effect: %s", unmatched.id, exc.reason)

    # A console's actions: `by_operator` is the console session's operator, stored on the step and said in its
    # event, so an auditor sees who did what.

    @rpc(expected_exceptions=DispatchError)
    def acknowledge_assignment(self, assignment_id: str, *, by_operator: str) -> dict:
        return assignment_view(usecases.act(*self.context(), assignment_id, "acknowledge", "console",
                                            by_operator=by_operator))

    @rpc(expected_exceptions=DispatchError)
    def decline_assignment(self, assignment_id: str, reason: str, *, by_operator: str) -> dict:
        return assignment_view(usecases.act(*self.context(), assignment_id, "decline", "console", reason,
                                            by_operator=by_operator))

    @rpc(expected_exceptions=DispatchError)
    def mark_assignment_en_route(self, assignment_id: str, *, by_operator: str) -> dict:
        return assignment_view(usecases.act(*self.context(), assignment_id, "en_route", "console",
                                            by_operator=by_operator))

    @rpc(expected_exceptions=DispatchError)
    def mark_assignment_on_scene(self, assignment_id: str, *, by_operator: str) -> dict:
        return assignment_view(usecases.act(*self.context(), assignment_id, "on_scene", "console",
                                            by_operator=by_operator))

    @rpc(expected_exceptions=DispatchError)
    def complete_assignment(self, assignment_id: str, outcome: str, *, by_operator: str) -> dict:
        return assignment_view(usecases.act(*self.context(), assignment_id, "complete", "console", outcome,
                                            by_operator=by_operator))

    @rpc(expected_exceptions=DispatchError)
    def reassign_assignment(self, assignment_id: str, nrp: str, reason: str, *, by_operator: str) -> dict:
        """By hand, to a named free officer (who called in by radio): the current assignment ends as declined
        via the console and the named officer is claimed like any other, one event per step."""
        return reassignment_view(*usecases.reassign(*self.context(), assignment_id, nrp, reason, by_operator))

    @rpc(expected_exceptions=DispatchError)
    def send_officer_to_escalated_report(self, report_id: str, nrp: str, reason: str, *, by_operator: str) -> dict:
        """The duty desk sends a named free officer of the Polsek to an escalated report: claimed, given a
        deadline and told by SMS like any assignment (rule named_by_console)."""
        return assignment_view(desk.send_officer(*self.context(), report_id, nrp, reason, by_operator))

    @rpc(expected_exceptions=DispatchError)
    def close_escalated_report(self, report_id: str, outcome: str, note: str | None = None, *,
                               by_operator: str) -> dict:
        """The duty desk handled an escalated report itself: assignment_completed of the desk, with its outcome."""
        store, publish, _, now = self.context()
        return assignment_view(desk.close(store, publish, now, report_id, outcome, note, by_operator))

    @rpc(expected_exceptions=DispatchError)
    def get_assignment(self, assignment_id: str) -> dict:
        """Live or archived: a console may look at an assignment that ended long ago (and act on none)."""
        return assignment_view(self.dispatch.assignment(assignment_id, archived=True))

    # ------------------------------------------------------------ the roster

    @handles(OFFICER_LOCATION_UPDATED)
    def handle_officer_location_updated(self, updated: Event) -> None:
        """Where the officer is, for the nearest-officer rule; older or unknown fixes change nothing."""
        if ignored := usecases.record_location(self.dispatch, utcnow(), updated.data):
            log.info("officer_location_updated %s ignored: %s", updated.id, ignored)

    @handles(OFFICER_STATUS_CHANGED)
    def handle_officer_status_changed(self, changed: Event) -> None:
        """On or off duty from the officer's app; ignored (with a log line) while an assignment holds the officer."""
        try:
            usecases.change_officer_status(self.dispatch, changed.data["nrp"], changed.data["status"],
                                           changed.data["at"])
        except DispatchError as exc:
            log.warning("officer_status_changed %s has no effect: %s", changed.id, exc.reason)

    @rpc(expected_exceptions=DispatchError)
    def get_officer(self, nrp: str) -> dict:
        return officer_view(self.dispatch.officer(nrp))

    @rpc(expected_exceptions=DispatchError)
    def find_officer_by_phone(self, phone: str) -> dict | None:
        """The officer an inbound SMS came from (the phone the gateway vouches for), or None: community's
        trust in a visit recorded by SMS."""
        officer = self.dispatch.officer_by_phone(phone)
        return officer_view(officer) if officer else None

    @rpc(expected_exceptions=DispatchError)
    def list_officers(self, polsek: str, village: str | None = None, status: str | None = None) -> list[dict]:
        return usecases.roster(self.dispatch, utcnow(), polsek, village, status)

    @rpc(expected_exceptions=DispatchError)
    def save_officer(self, entry: dict) -> dict:
        return officer_view(usecases.save_officer(self.dispatch, entry))

    @rpc(expected_exceptions=DispatchError)
    def update_officer_status(self, nrp: str, status: str) -> dict:
        """A console puts an officer on or off duty (off_duty, available, unavailable)."""
        return officer_view(usecases.set_status_by_console(self.dispatch, utcnow(), nrp, status))
