"""notify: turns dispatch events into SMS requests for the gateway.

Consumes  dispatch.events  assignment_created, assignment_escalated
Publishes notify.events    sms_requested
"""
from services.notify import domain
from services.notify.schemas import SmsRequestedSchema
from services.notify.storage import Notifications
from shared.contract import ASSIGNMENT_CREATED, ASSIGNMENT_ESCALATED, SMS_REQUESTED
from shared.envelope import Event
from shared.messaging import EventPublisher, handles

_SMS_FIELDS = tuple(SmsRequestedSchema().fields)


class NotifyService:
    name = "notify"

    notifications = Notifications()
    publish = EventPublisher()

    @handles(ASSIGNMENT_CREATED)
    def handle_assignment_created(self, created: Event) -> None:
        """Tell the officer what, where, and how to answer."""
        self.request_sms(domain.officer_assignment_sms(created.data, created), created)

    @handles(ASSIGNMENT_ESCALATED)
    def handle_assignment_escalated(self, escalated: Event) -> None:
        """Tell the Polsek duty desk that nobody in the area could take the report."""
        message = domain.duty_desk_escalation_sms(escalated.data, escalated)
        if message:
            self.request_sms(message, escalated)

    def request_sms(self, message: dict, cause: Event) -> None:
        stored = self.notifications.add(message)
        self.publish(SMS_REQUESTED, {key: stored[key] for key in _SMS_FIELDS},
                     cause=cause, discriminator=stored["to"])
