"""notify: turns report and dispatch events into SMS, tracks the gateway's answers, reads officers' replies.

Consumes  reports.events   report_received, duplicate_reported, report_rejected
          dispatch.events  assignment_created, assignment_departed, assignment_completed,
                           assignment_declined, assignment_expired, assignment_escalated
                           reply_refused
          gateway.events   sms_accepted, sms_refused, sms_delivery_reported, sms_received
          community.events community_sms_requested (alerts and community's answers, sent like notify's own)
Publishes notify.events    sms_requested, sms_failed, officer_replied, reply_unmatched
RPC       sms_spending     a Polsek's SMS count and spend today and this month, against its budget (consoles)
Timer     recount_spending every Polsek's spending this month, for the budget (SMS_PRICE.RECOUNT_SECONDS)
          retry_due_sms    retries, answer timeouts, failure reports, duty desks' digests of held escalations
                           and overdue receipts (a sweep: the gateway is asked again), from the database
                           (SMS.RETRY_POLL)
          archive_settled_sms every SMS settled long ago moves to notifications_archive (ARCHIVE.SECONDS,
                           shared/archive.py)
"""
import logging
from datetime import timedelta

from services.notify import answers, community, domain, sending, spending, templates
from services.notify.settings import SendPolicy
from services.notify.storage import Notifications
from shared import archive, contract, sms_commands
from shared.archive import ArchiveSettings
from shared.envelope import Event, utcnow
from shared.messaging import EventPublisher, handles
from shared.metrics import Metrics
from shared.phones import mask_phone
from shared.rpc import rpc
from shared.settings import SettingsProvider, every
from shared.sms_pricing import SmsPrices, sms_price

log = logging.getLogger(__name__)


class NotifyService:
    name = "notify"

    notifications = Notifications()
    policy = SettingsProvider(SendPolicy)
    prices = SettingsProvider(SmsPrices)
    publish = EventPublisher()
    metrics = Metrics()  # /metrics and /healthz on METRICS.ADDRESS (shared/metrics.py)

    # ---- who gets what -------------------------------------------------------------------------

    @handles(contract.REPORT_RECEIVED)
    def handle_report_received(self, received: Event) -> None:
        """Tell its reporter (unless anonymous) it arrived; that SMS record remembers whom to tell later."""
        self.send(domain.report_received_sms(received), received)

    @handles(contract.DUPLICATE_REPORTED)
    def handle_duplicate_reported(self, duplicate: Event) -> None:
        """The duplicate's reporter learns it is being handled; recorded under the original, it follows that."""
        self.send(domain.duplicate_reported_sms(duplicate), duplicate)

    @handles(contract.REPORT_REJECTED)
    def handle_report_rejected(self, rejected: Event) -> None:
        """A sender with a known phone gets one clear SMS that the report was not taken, and why."""
        self.send(domain.report_rejected_sms(rejected), rejected)

    @handles(contract.ASSIGNMENT_CREATED)
    def handle_assignment_created(self, created: Event) -> None:
        """Tell the officer what, where, and how to answer; the SMS record is what a reply is matched to."""
        self.send(domain.officer_assignment_sms(created), created)

    @handles(contract.ASSIGNMENT_DEPARTED)
    def handle_assignment_departed(self, departed: Event) -> None:
        """The reporters learn who is on the way: rank and name, never the officer's phone."""
        followed = self.notifications.followed(departed.data["report_id"])
        self.send(domain.reporter_update_sms(departed, followed, templates.REPORTER_EN_ROUTE), departed)

    @handles(contract.ASSIGNMENT_COMPLETED)
    def handle_assignment_completed(self, completed: Event) -> None:
        """The reporters learn the report is resolved; the officer's replies to it stop counting."""
        self.notifications.close_assignment(completed.data["assignment_id"], "completed")
        followed = self.notifications.followed(completed.data["report_id"])
        desk = completed.data.get("desk_outcome")
        template = templates.REPORTER_CLOSED_BY_DESK if desk else templates.REPORTER_RESOLVED
        self.send(domain.reporter_update_sms(completed, followed, template), completed)

    @handles(contract.ASSIGNMENT_DECLINED)
    def handle_assignment_declined(self, declined: Event) -> None:
        """Closed for replies; the report counts one more officer who did not take it, for the duty desk.
        Declined because the report was cancelled: the officer is told to stand down."""
        self.notifications.close_assignment(declined.data["assignment_id"], "declined")
        self.notifications.count_not_taken(declined.data["report_id"], declined.data["assignment_id"])
        self.send(domain.officer_report_cancelled_sms(declined), declined)

    @handles(contract.ASSIGNMENT_EXPIRED)
    def handle_assignment_expired(self, expired: Event) -> None:
        """A late reply to an expired assignment must not act on it; the officer did not take the report."""
        self.notifications.close_assignment(expired.data["assignment_id"], "expired")
        self.notifications.count_not_taken(expired.data["report_id"], expired.data["assignment_id"])

    @handles(contract.ASSIGNMENT_ESCALATED)
    def handle_assignment_escalated(self, escalated: Event) -> None:
        """The Polsek duty desk takes over: nobody in the area was free, or officers declined or kept silent."""
        not_taken = self.notifications.not_taken(escalated.data["report"]["report_id"])
        for message in domain.duty_desk_escalation_sms(escalated, not_taken):
            self.send_to_desk(message, escalated)

    @handles(contract.COMMUNITY_SMS_REQUESTED)
    def handle_community_sms_requested(self, requested: Event) -> None:
        """An SMS community wrote (an alert, an answer to a community command): stored, sent and retried here."""
        self.send(community.community_sms(requested), requested)

    # ---- the gateway's answers -----------------------------------------------------------------

    @handles(contract.SMS_ACCEPTED)
    def handle_sms_accepted(self, accepted: Event) -> None:
        """Only an SMS the gateway accepted counts as sent."""
        self.notifications.accept(accepted.data["sms_id"], accepted.data["gateway_id"], accepted.data["at"],
                                  sending.receipt_due(utcnow(), self.policy))

    @handles(contract.SMS_REFUSED)
    def handle_sms_refused(self, refused: Event) -> None:
        """Refused for now: retried after a backoff. Refused for good, or too often: given up, and said so."""
        stored = self.notifications.waiting_for_answer(refused.data["sms_id"], refused.data["attempt"])
        if stored is None:
            return  # already answered, or an answer to an attempt no longer waited for
        changes = sending.after_refusal(stored["attempt"], refused.data, utcnow(), self.policy)
        if self.notifications.move(stored, changes):
            self.settle(stored | changes)

    @handles(contract.SMS_DELIVERY_REPORTED)
    def handle_sms_delivery_reported(self, receipt: Event) -> None:
        """Keep the receipt; a phone that never got the SMS makes its recipient unreachable (sms_failed)."""
        data = receipt.data
        changes = sending.after_delivery(data["status"], utcnow())
        if self.notifications.record_delivery(data["sms_id"], data["status"], data["gateway_id"], data["at"], changes):
            if changes["state"] == sending.FAILING:
                self.settle(self.notifications.get(data["sms_id"]))

    @every(SendPolicy, "retry_poll")
    def retry_due_sms(self) -> None:
        """Retry, time out, report failures and ask for overdue receipts from the database: survives restarts,
        once across replicas (CAS)."""
        now = utcnow()
        due = self.notifications.due(now)
        for phone in {stored["to"] for stored in due if stored["state"] == sending.HELD}:
            self.send_digest(phone, now)
        for stored in due:
            if stored["state"] == sending.HELD:
                continue
            changes = sending.due_step(stored, now, self.policy)
            if stored["state"] == sending.SENT:
                self.sweep_receipt(stored, changes)
                continue
            if stored["state"] == sending.FAILING:
                self.publish_failure(stored)
            if self.notifications.move(stored, changes):
                self.settle(stored | changes)

    @every(ArchiveSettings, "interval")
    def archive_settled_sms(self) -> None:
        """SMS settled long ago leave the live collection (a reporter's first SMS is read there later, and the
        spending counts both)."""
        self.metrics.archived(archive.sweep(self.notifications, self.notifications.archive, utcnow()))

    # ---- officers' replies ---------------------------------------------------------------------

    @handles(contract.SMS_RECEIVED)
    def handle_sms_received(self, inbound: Event) -> None:
        """A reply to one of the assignments sent to this phone becomes officer_replied; anything else is read
        again by dispatch (reply_unmatched), which holds the assignments: notify's records may be behind. A
        command of another service (shared/sms_commands.py) is that service's to answer."""
        if sms_commands.owner(inbound.data["text"]) not in (None, self.name):
            return
        phone, at = answers.sender_phone(inbound.data["sender"]), inbound.data["at"]
        if phone is None:
            log.warning("inbound SMS %s from a sender that is no phone number: no reply", inbound.id)
            return
        answer = self.notifications.answered(inbound.id)
        if answer is None:  # answered once, from the state it found; a repeat says the same again
            answer = self.notifications.answer(inbound.id, answers.reply_answer(
                inbound.data["text"], self.notifications.assignments_of(phone), phone, at), utcnow())
        if "unmatched" in answer:
            self.publish(contract.REPLY_UNMATCHED, answer["unmatched"], cause=inbound)
            return
        self.publish(contract.OFFICER_REPLIED, answer["replied"], cause=inbound, correlationid=answer["report_id"])

    @handles(contract.REPLY_REFUSED)
    def handle_reply_refused(self, refused: Event) -> None:
        """dispatch found nothing for the reply to act on: a short answer, at most one per kind and interval.
        dispatch reads a redelivered reply against the assignments as they are by then, so a refusal said again
        may name other tasks, another kind or a later time: it is answered as it was the first time."""
        help_sms = self.notifications.answer(refused.id, {"help": answers.refusal_help(
            refused.data, refused.time, self.policy)}, utcnow())["help"]
        log.info("inbound SMS from %s not acted on (%s): sending %s", mask_phone(refused.data["phone"]),
                 refused.data["reason"], help_sms["kind"])
        self.send([help_sms], refused)

    # ---- what SMS cost ---------------------------------------------------------------------------

    @every(SmsPrices, "recount_seconds")
    def recount_spending(self) -> None:
        """Each Polsek's spending this month, counted in one go for the budget checks of the SMS that follow."""
        self.notifications.recount(utcnow())

    @rpc
    def sms_spending(self, polsek: str) -> dict:
        """A Polsek's SMS today and this month (count, segments, rupiah) against its budget, for its console;
        `counted` is what the budget checks go by until the next count."""
        today, month = spending.periods(polsek, utcnow())
        return spending.summary(polsek, self.notifications.spent(polsek, today),
                                self.notifications.spent(polsek, month),
                                self.notifications.held_over_budget(polsek, month), self.prices) | {
            "counted": self.notifications.month_spent(polsek)}

    # ---- helpers -------------------------------------------------------------------------------

    def send(self, messages: list[dict], cause: Event) -> None:
        """Store each SMS once, priced, then publish it; a redelivered cause republishes an unanswered first
        attempt. A reporter's update past the Polsek's monthly budget is stored, held, not published. A cause
        old enough for its SMS to have been archived finds them there: sent long ago, not sent again."""
        now = utcnow()
        for message in messages:
            if self.archived_long_ago(message, cause, now):
                continue
            message = message | sms_price(message["to"], message["segments"], self.prices)
            if spending.holds(message, self.notifications.month_spent, self.prices):
                log.warning("SMS %s to %s held: Polsek %s's SMS budget for the month is spent", message["kind"],
                            mask_phone(message["to"]), message["polsek"])
                self.notifications.hold_over_budget(message, now)
                continue
            stored, fresh = self.notifications.add(message, now, self.policy)
            if fresh:
                self.metrics.sms_priced(stored)
            elif (stored["state"], stored["attempt"]) != (sending.REQUESTED, 1):
                continue
            log.info("SMS %s to %s (%s): %s, %d segment(s)", stored["kind"], mask_phone(stored["to"]),
                     stored["recipient_role"], stored["encoding"], stored["segments"])
            self.publish(contract.SMS_REQUESTED, sending.sms_requested_data(stored), cause=cause,
                         id=sending.sms_requested_id(stored), correlationid=correlation(stored))

    def send_to_desk(self, message: dict, cause: Event) -> None:
        """An escalation goes to the duty desk at once, unless one went within the desk's window: then it is
        held and told in one digest SMS when the window closes (a burst of 80 is two SMS, not 80)."""
        now = utcnow()
        if self.archived_long_ago(message, cause, now):
            return
        if self.policy.desk_window > 0 and self.notifications.get(message["sms_id"]) is None:
            until = self.notifications.desk_window(message["to"], now, now + timedelta(seconds=self.policy.desk_window))
            if until is not None:
                self.notifications.hold(message, now, until, cause.id)
                return
        self.send([message], cause)

    def send_digest(self, phone: str, now) -> None:
        """The escalations held for a desk whose window closed, in one SMS; marked told once it is stored."""
        held = self.notifications.held_for(phone, now)
        if held:
            digest = domain.duty_desk_digest_sms(phone, held)
            self.send([digest], domain.digest_cause(held))
            self.notifications.group(digest["grouped"], digest["sms_id"], now)

    def archived_long_ago(self, message: dict, cause: Event, now) -> bool:
        """The SMS was made long ago and archived (only an old cause is looked up there: shared/archive.py)."""
        return archive.may_be_archived(cause.time, now, self.notifications.archive) and (
            self.notifications.archived(message["sms_id"]) is not None)

    def settle(self, moved: dict) -> None:
        """Publish what a state change means: the next attempt, or the failure."""
        if moved["state"] == sending.REQUESTED:
            log.info("SMS %s to %s: attempt %d", moved["_id"], mask_phone(moved["to"]), moved["attempt"])
            self.publish(contract.SMS_REQUESTED, sending.sms_requested_data(moved), id=sending.sms_requested_id(moved),
                         correlationid=correlation(moved))
        elif moved["state"] == sending.FAILING:
            self.publish_failure(moved)
            self.notifications.move(moved, sending.failed(utcnow()))

    def sweep_receipt(self, stored: dict, changes: dict) -> None:
        """An accepted SMS whose receipt is overdue: its request said again (same id), which the gateway
        answers with the receipt it holds; or, asked enough, left unconfirmed."""
        if not self.notifications.ask_receipt(stored, changes):
            return
        if changes.get("state") == sending.UNCONFIRMED:
            log.warning("sweep: SMS %s to %s: no receipt after %d asks, left unconfirmed", stored["_id"],
                        mask_phone(stored["to"]), stored.get("receipt_asks", 0))
            return
        log.warning("sweep: SMS %s to %s accepted %s ago without a receipt: the gateway is asked again",
                    stored["_id"], mask_phone(stored["to"]), utcnow() - stored["accepted_at"])
        self.publish(contract.SMS_REQUESTED, sending.sms_requested_data(stored), id=sending.sms_requested_id(stored),
                     correlationid=correlation(stored))

    def publish_failure(self, stored: dict) -> None:
        log.warning("SMS %s to %s failed: %s", stored["_id"], mask_phone(stored["to"]), stored.get("failure"))
        self.publish(contract.SMS_FAILED, sending.sms_failed_data(stored), id=sending.sms_failed_id(stored),
                     correlationid=correlation(stored))


def correlation(sms: dict) -> str | None:
    """The report an SMS is about: a duplicate's reporter's SMS follows the original but belongs to the duplicate."""
    return sms.get("correlationid") or sms.get("report_id")
