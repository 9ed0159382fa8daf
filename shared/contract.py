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
    SPECVERSION,
    EnvelopeSchema,
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


INCIDENT_REPORTED = EventType(
    "incident_reported", "intake", "services.reports.schemas:IncidentReportedSchema",
    "An upstream app (citizen app, hotline 110, CCTV, Siskamling post, patrol) reports an incident.",
)
REPORT_RECEIVED = EventType(
    "report_received", "reports", "services.reports.schemas:ReportReceivedSchema",
    "An incident passed validation and is stored as a new report that needs an officer.",
)
REPORT_REJECTED = EventType(
    "report_rejected", "reports", "services.reports.schemas:ReportRejectedSchema",
    "An incident could not be accepted; carries the sender's source and id and every reason.",
)
ASSIGNMENT_CREATED = EventType(
    "assignment_created", "dispatch", "services.dispatch.schemas:AssignmentCreatedSchema",
    "An officer was claimed for a report and must acknowledge before the deadline.",
)
ASSIGNMENT_ESCALATED = EventType(
    "assignment_escalated", "dispatch", "services.dispatch.schemas:AssignmentEscalatedSchema",
    "No suitable officer was free: the Polsek duty desk must handle the report.",
)
SMS_REQUESTED = EventType(
    "sms_requested", "notify", "services.notify.schemas:SmsRequestedSchema",
    "An SMS the gateway should send; consumed by the SMS gateway.",
)

EVENT_TYPES: dict[str, EventType] = {
    event_type.name: event_type
    for event_type in (
        INCIDENT_REPORTED,
        REPORT_RECEIVED,
        REPORT_REJECTED,
        ASSIGNMENT_CREATED,
        ASSIGNMENT_ESCALATED,
        SMS_REQUESTED,
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
    errors = event_type.schema.validate(event_type.schema.dump(data))
    if errors:
        raise ValueError(f"{event_type.name} data breaks the contract: {errors}")
    if id is None:
        if cause is None:
            raise ValueError("an event needs an explicit id or a cause to derive one from")
        id = derived_id(cause, event_type.name, discriminator)
    return EnvelopeSchema().dump({
        "specversion": SPECVERSION,
        "id": id,
        "source": source,
        "type": event_type.name,
        "time": time or utcnow(),
        "datacontenttype": "application/json",
        "correlationid": correlationid or (cause.correlationid if cause else None),
        "causationid": cause.id if cause else None,
        "data": event_type.schema.dump(data),
    })
