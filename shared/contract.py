"""The one place that names every event type, who publishes it and the schema of its `data`.

Producers dump through `dump_event`, consumers load through `load_event`; the AsyncAPI document
in `contract/` is generated from this table and a test fails when the two drift apart.
Schemas live beside the service that owns them and are imported lazily by dotted path so that
a service only needs the schemas it actually touches.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError

from shared.envelope import (
    ENVELOPE,
    SPECVERSION,
    Event,
    InvalidMessage,
    derived_id,
    load_envelope,
    utcnow,
)


@dataclass(frozen=True)
class EventType:
    name: str
    publisher: str  # the service (or outside party) whose `<publisher>.events` exchange carries it
    schema_path: str  # "module:SchemaClass" of the `data` payload
    summary: str

    @property
    def exchange(self) -> str:
        return f"{self.publisher}.events"

    @cached_property
    def schema(self) -> Schema:
        module_name, class_name = self.schema_path.split(":")
        return getattr(importlib.import_module(module_name), class_name)()

    def __str__(self) -> str:
        return self.name


def _event(name: str, publisher: str, schema: str, summary: str) -> EventType:
    owner = {"intake": "reports", "gateway": "notify"}.get(publisher, publisher)
    return EventType(name, publisher, f"services.{owner}.schemas:{schema}", summary)


# Upstream apps (citizen apps, hotline 110, CCTV, Siskamling posts, officer apps) on intake.events.
INCIDENT_REPORTED = _event(
    "incident_reported", "intake", "IncidentReportedSchema",
    "An upstream app (citizen app, hotline 110, CCTV, Siskamling post, patrol) reports an incident.")
OFFICER_LOCATION_UPDATED = EventType(
    "officer_location_updated", "intake", "services.dispatch.schemas:OfficerLocationUpdatedSchema",
    "An officer's app reports where the officer is.")
OFFICER_STATUS_CHANGED = EventType(
    "officer_status_changed", "intake", "services.dispatch.schemas:OfficerStatusChangedSchema",
    "An officer's app reports going on or off duty, or unavailable.")

# reports
REPORT_RECEIVED = _event(
    "report_received", "reports", "ReportReceivedSchema",
    "An incident passed validation and is stored as a new report that needs an officer.")
REPORT_REJECTED = _event(
    "report_rejected", "reports", "ReportRejectedSchema",
    "An incident could not be accepted; carries the sender's source and id and every reason.")
# The brief calls this `report_duplicate`; house style names facts in the past tense.
DUPLICATE_REPORTED = _event(
    "duplicate_reported", "reports", "DuplicateReportedSchema",
    "An incident repeats an open report nearby: linked to it, not dispatched again.")
REPORT_CANCELLED = _event(
    "report_cancelled", "reports", "ReportCancelledSchema",
    "A duty officer cancelled an open report (final): its assignment ends and its officer is freed.")

# dispatch
ASSIGNMENT_CREATED = _event(
    "assignment_created", "dispatch", "AssignmentCreatedSchema",
    "An officer was claimed for a report and must acknowledge before the deadline.")
ASSIGNMENT_ACKNOWLEDGED = _event(
    "assignment_acknowledged", "dispatch", "AssignmentAcknowledgedSchema", "The officer took the assignment.")
ASSIGNMENT_DECLINED = _event(
    "assignment_declined", "dispatch", "AssignmentDeclinedSchema",
    "The officer declined (with a reason); the next candidate is tried.")
ASSIGNMENT_DEPARTED = _event(
    "assignment_departed", "dispatch", "AssignmentDepartedSchema", "The officer is en route.")
ASSIGNMENT_ARRIVED = _event(
    "assignment_arrived", "dispatch", "AssignmentArrivedSchema", "The officer is on scene.")
ASSIGNMENT_COMPLETED = _event(
    "assignment_completed", "dispatch", "AssignmentCompletedSchema",
    "The officer finished (with an outcome); the report is resolved and the officer free.")
ASSIGNMENT_EXPIRED = _event(
    "assignment_expired", "dispatch", "AssignmentExpiredSchema",
    "No acknowledgement by the deadline, or the officer was unreachable; the officer is released.")
ASSIGNMENT_ESCALATED = _event(
    "assignment_escalated", "dispatch", "AssignmentEscalatedSchema",
    "No suitable officer was free: the Polsek duty desk must handle the report.")

# notify
SMS_REQUESTED = _event(
    "sms_requested", "notify", "SmsRequestedSchema", "An SMS the gateway should send; consumed by the SMS gateway.")
SMS_FAILED = _event(
    "sms_failed", "notify", "SmsFailedSchema",
    "The gateway never accepted an SMS after every retry; its recipient is unreachable.")
OFFICER_REPLIED = _event(
    "officer_replied", "notify", "OfficerRepliedSchema",
    "The assigned officer answered an assignment by SMS (acknowledge, decline, en route, on scene, complete).")

# The SMS gateway (or its simulator) on gateway.events.
SMS_ACCEPTED = _event("sms_accepted", "gateway", "SmsAcceptedSchema", "The gateway took an SMS for sending.")
SMS_REFUSED = _event(
    "sms_refused", "gateway", "SmsRefusedSchema", "The gateway did not take an SMS (temporary or final).")
SMS_DELIVERY_REPORTED = _event(
    "sms_delivery_reported", "gateway", "SmsDeliveryReportedSchema", "A delivery receipt from the network.")
SMS_RECEIVED = _event("sms_received", "gateway", "SmsReceivedSchema", "An inbound SMS from a phone.")

EVENT_TYPES: dict[str, EventType] = {
    event_type.name: event_type
    for event_type in (
        INCIDENT_REPORTED, OFFICER_LOCATION_UPDATED, OFFICER_STATUS_CHANGED,
        REPORT_RECEIVED, REPORT_REJECTED, DUPLICATE_REPORTED, REPORT_CANCELLED,
        ASSIGNMENT_CREATED, ASSIGNMENT_ACKNOWLEDGED, ASSIGNMENT_DECLINED, ASSIGNMENT_DEPARTED,
        ASSIGNMENT_ARRIVED, ASSIGNMENT_COMPLETED, ASSIGNMENT_EXPIRED, ASSIGNMENT_ESCALATED,
        SMS_REQUESTED, SMS_FAILED, OFFICER_REPLIED,
        SMS_ACCEPTED, SMS_REFUSED, SMS_DELIVERY_REPORTED, SMS_RECEIVED,
    )
}

# Consumers outside the nameko services, each with a durable queue declared up front.
EXTERNAL_CONSUMERS: dict[str, tuple[EventType, ...]] = {
    "sms-gateway": (SMS_REQUESTED,),
    "upstream-apps": (REPORT_REJECTED,),  # senders read why their incident was not taken
}


def load_event(document: dict[str, Any], expected: EventType) -> Event:
    """Validate envelope and data; raise InvalidMessage with every reason."""
    envelope = load_envelope(document)
    if envelope["type"] != expected.name:
        raise InvalidMessage(
            {"type": f"expected {expected.name!r}, got {envelope['type']!r}"},
            source=envelope["source"], id=envelope["id"],
        )
    try:
        data = expected.schema.load(envelope["data"])
    except ValidationError as exc:
        raise InvalidMessage({"data": exc.messages}, source=envelope["source"], id=envelope["id"]) from None
    return Event(
        id=envelope["id"],
        source=envelope["source"],
        type=envelope["type"],
        time=envelope["time"],
        data=data,
        correlationid=envelope["correlationid"],
        causationid=envelope["causationid"],
    )


def dump_event(
    event_type: EventType,
    data: dict[str, Any],
    *,
    source: str,
    cause: Event | None = None,
    discriminator: str = "",
    id: str | None = None,
    correlationid: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """Build the JSON-ready envelope for `data`, validating it against the contract first.

    Derived events take a deterministic id and inherit the correlation id from their cause.
    """
    dumped = event_type.schema.dump(data)
    errors = event_type.schema.validate(dumped)
    if errors:
        raise ValueError(f"{event_type.name} data breaks the contract: {errors}")
    if id is None:
        if cause is None:
            raise ValueError("an event needs an explicit id or a cause to derive one from")
        id = derived_id(cause, event_type.name, discriminator)
    return ENVELOPE.dump({
        "specversion": SPECVERSION,
        "id": id,
        "source": source,
        "type": event_type.name,
        "time": time or utcnow(),
        "datacontenttype": "application/json",
        "correlationid": correlationid or (cause.correlationid if cause else None),
        "causationid": cause.id if cause else None,
        "data": dumped,
    })
