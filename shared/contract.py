"""The one place that names every event type, who publishes it and the schema of its `data`.

Producers dump through `dump_event`, consumers load through `load_event`; the AsyncAPI document
in `contract/` is generated from this table and a test fails when the two drift apart.
The `data` schemas live in `shared.events`, one module per publisher, so that what one service
needs from another comes through the contract and never through the other's modules.
"""
from __future__ import annotations

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
from shared.events import community, dispatch, gateway, intake, notify, reports


@dataclass(frozen=True)
class EventType:
    name: str
    publisher: str  # the service (or outside party) whose `<publisher>.events` exchange carries it
    schema_class: type[Schema]  # of the `data` payload
    summary: str
    # Addressed to one party (routing key `<name>.<party>`), so that a party can be allowed to bind
    # only its own: an app's rejections carry its reporters' phones.
    addressed: bool = False

    @property
    def exchange(self) -> str:
        return f"{self.publisher}.events"

    def routing_key(self, to: str | None = None) -> str:
        return f"{self.name}.{to or UNKNOWN_PARTY}" if self.addressed else self.name

    @property
    def binding_key(self) -> str:
        """What a consumer of every party's events binds with."""
        return f"{self.name}.*" if self.addressed else self.name

    @cached_property
    def schema(self) -> Schema:
        return self.schema_class()

    def __str__(self) -> str:
        return self.name


# Upstream apps (citizen apps, hotline 110, CCTV, Siskamling posts, officer apps) on intake.events.
INCIDENT_REPORTED = EventType(
    "incident_reported", "intake", intake.IncidentReportedSchema,
    "An upstream app (citizen app, hotline 110, CCTV, Siskamling post, patrol) reports an incident.")
OFFICER_LOCATION_UPDATED = EventType(
    "officer_location_updated", "intake", intake.OfficerLocationUpdatedSchema,
    "An officer's app reports where the officer is.")
OFFICER_STATUS_CHANGED = EventType(
    "officer_status_changed", "intake", intake.OfficerStatusChangedSchema,
    "An officer's app reports going on or off duty, or unavailable.")

# reports
REPORT_RECEIVED = EventType(
    "report_received", "reports", reports.ReportReceivedSchema,
    "An incident passed validation and is stored as a new report that needs an officer.")
REPORT_REJECTED = EventType(
    "report_rejected", "reports", reports.ReportRejectedSchema,
    "An incident could not be accepted; carries the sender's source and id and every reason. "
    "Routing key `report_rejected.<party>`: each app binds only its own.", addressed=True)
# The brief calls this `report_duplicate`; house style names facts in the past tense.
DUPLICATE_REPORTED = EventType(
    "duplicate_reported", "reports", reports.DuplicateReportedSchema,
    "An incident repeats an open report nearby: linked to it, not dispatched again.")
REPORT_CANCELLED = EventType(
    "report_cancelled", "reports", reports.ReportCancelledSchema,
    "A duty officer cancelled an open report (final): its assignment ends and its officer is freed.")

# dispatch
ASSIGNMENT_CREATED = EventType(
    "assignment_created", "dispatch", dispatch.AssignmentCreatedSchema,
    "An officer was claimed for a report and must acknowledge before the deadline.")
ASSIGNMENT_ACKNOWLEDGED = EventType(
    "assignment_acknowledged", "dispatch", dispatch.AssignmentAcknowledgedSchema, "The officer took the assignment.")
ASSIGNMENT_DECLINED = EventType(
    "assignment_declined", "dispatch", dispatch.AssignmentDeclinedSchema,
    "The officer declined (with a reason); the next candidate is tried.")
ASSIGNMENT_DEPARTED = EventType(
    "assignment_departed", "dispatch", dispatch.AssignmentDepartedSchema, "The officer is en route.")
ASSIGNMENT_ARRIVED = EventType(
    "assignment_arrived", "dispatch", dispatch.AssignmentArrivedSchema, "The officer is on scene.")
ASSIGNMENT_COMPLETED = EventType(
    "assignment_completed", "dispatch", dispatch.AssignmentCompletedSchema,
    "The officer finished (with an outcome); the report is resolved and the officer free.")
ASSIGNMENT_EXPIRED = EventType(
    "assignment_expired", "dispatch", dispatch.AssignmentExpiredSchema,
    "No acknowledgement by the deadline, or the officer was unreachable; the officer is released.")
ASSIGNMENT_ESCALATED = EventType(
    "assignment_escalated", "dispatch", dispatch.AssignmentEscalatedSchema,
    "No suitable officer was free: the Polsek duty desk must handle the report.")
REPLY_REFUSED = EventType(
    "reply_refused", "dispatch", dispatch.ReplyRefusedSchema,
    "An SMS reply notify could not match acts on no assignment either: why, and the phone's open tasks.")

# notify
SMS_REQUESTED = EventType(
    "sms_requested", "notify", notify.SmsRequestedSchema,
    "An SMS the gateway should send; consumed by the SMS gateway.")
SMS_FAILED = EventType(
    "sms_failed", "notify", notify.SmsFailedSchema,
    "The gateway never accepted an SMS after every retry; its recipient is unreachable.")
OFFICER_REPLIED = EventType(
    "officer_replied", "notify", notify.OfficerRepliedSchema,
    "The assigned officer answered an assignment by SMS (acknowledge, decline, en route, on scene, complete).")
REPLY_UNMATCHED = EventType(
    "reply_unmatched", "notify", notify.ReplyUnmatchedSchema,
    "An inbound SMS that acts on none of the assignments notify sent to its phone; dispatch reads it against "
    "the assignments it holds.")

# The SMS gateway (or its simulator) on gateway.events.
SMS_ACCEPTED = EventType(
    "sms_accepted", "gateway", gateway.SmsAcceptedSchema, "The gateway took an SMS for sending.")
SMS_REFUSED = EventType(
    "sms_refused", "gateway", gateway.SmsRefusedSchema, "The gateway did not take an SMS (temporary or final).")
SMS_DELIVERY_REPORTED = EventType(
    "sms_delivery_reported", "gateway", gateway.SmsDeliveryReportedSchema, "A delivery receipt from the network.")
SMS_RECEIVED = EventType(
    "sms_received", "gateway", gateway.SmsReceivedSchema, "An inbound SMS from a phone.")

# community (visits, Siskamling posts, community alerts)
VISIT_RECORDED = EventType(
    "visit_recorded", "community", community.VisitRecordedSchema,
    "An officer recorded a visit (sambang, patroli dialogis) by SMS or from the console: who, where, when, "
    "what residents raised.")
CONCERN_REPORTED = EventType(
    "concern_reported", "community", community.ConcernReportedSchema,
    "A concern raised on a visit (source patrol_dialog) or a Siskamling post leader's SMS (source siskamling), "
    "reported as an incident: reports takes it in like incident_reported.")
COMMUNITY_ALERT_ISSUED = EventType(
    "community_alert_issued", "community", community.CommunityAlertIssuedSchema,
    "A community alert to an area (RW, village, district), shaped after OASIS CAP 1.2; its SMS go to the "
    "consenting residents and the Siskamling posts of the area.")
COMMUNITY_ALERT_CANCELLED = EventType(
    "community_alert_cancelled", "community", community.CommunityAlertCancelledSchema,
    "A community alert withdrawn: nobody it has not reached yet is sent it.")
COMMUNITY_SMS_REQUESTED = EventType(
    "community_sms_requested", "community", community.CommunitySmsRequestedSchema,
    "An SMS community wrote (an alert, an answer to a community SMS command) for notify to send.")

EVENT_TYPES: dict[str, EventType] = {
    event_type.name: event_type
    for event_type in (
        INCIDENT_REPORTED, OFFICER_LOCATION_UPDATED, OFFICER_STATUS_CHANGED,
        REPORT_RECEIVED, REPORT_REJECTED, DUPLICATE_REPORTED, REPORT_CANCELLED,
        ASSIGNMENT_CREATED, ASSIGNMENT_ACKNOWLEDGED, ASSIGNMENT_DECLINED, ASSIGNMENT_DEPARTED,
        ASSIGNMENT_ARRIVED, ASSIGNMENT_COMPLETED, ASSIGNMENT_EXPIRED, ASSIGNMENT_ESCALATED, REPLY_REFUSED,
        SMS_REQUESTED, SMS_FAILED, OFFICER_REPLIED, REPLY_UNMATCHED,
        SMS_ACCEPTED, SMS_REFUSED, SMS_DELIVERY_REPORTED, SMS_RECEIVED,
        VISIT_RECORDED, CONCERN_REPORTED, COMMUNITY_ALERT_ISSUED, COMMUNITY_ALERT_CANCELLED, COMMUNITY_SMS_REQUESTED,
    )
}

UNKNOWN_PARTY = "unknown"


@dataclass(frozen=True)
class Party:
    """An outside party with its own broker user, `<instance>-<name>`: what it may state and what it reads.

    The broker vouches for who sent a message (the AMQP `user_id`, which RabbitMQ checks against
    the connection's user); this table says what that party may say. Its events' `source` is theirs
    alone (`/<name>/…`: `source` + `id` is the idempotency key, so a borrowed source could make
    another app's next incident look like a redelivery)."""

    name: str
    states: tuple[EventType, ...] = ()
    source_kinds: tuple[str, ...] = ()  # the kinds of incident it may report
    reads: tuple[EventType, ...] = ()  # from its own durable queue; addressed ones only its own

    def refusal(self, event: Event) -> str | None:
        if EVENT_TYPES[event.type] not in self.states:
            return f"{event.type} is not one of the facts it states"
        if not (event.source == f"/{self.name}" or event.source.startswith(f"/{self.name}/")):
            return f"source {event.source!r} is not under /{self.name}/"
        if event.type == INCIDENT_REPORTED.name and event.data["source_kind"] not in self.source_kinds:
            return f"it does not report {event.data['source_kind']} incidents"
        if event.data.get("source_kind") == "patrol" and not vouched_officer(event):
            return "a patrol incident names the officer whose app sent it (source /officer-app/<nrp>)"
        if event.type in (OFFICER_LOCATION_UPDATED.name, OFFICER_STATUS_CHANGED.name) \
                and event.source != f"/{self.name}/{event.data['nrp']}":
            return "an officer's whereabouts come from that officer's app (source /officer-app/<nrp>)"
        return None


def vouched_officer(event: Event) -> bool:
    nrp = (event.data.get("details") or {}).get("officer_nrp")
    return isinstance(nrp, str) and event.source == f"/officer-app/{nrp}"


def upstream_app(name: str, *source_kinds: str) -> Party:
    return Party(name, (INCIDENT_REPORTED,), source_kinds, (REPORT_REJECTED,))


PARTIES: dict[str, Party] = {party.name: party for party in (
    upstream_app("citizen-app", "citizen_app"),
    upstream_app("hotline-110", "hotline_110"),
    upstream_app("cctv", "cctv"),
    upstream_app("siskamling", "siskamling"),
    Party("officer-app", (INCIDENT_REPORTED, OFFICER_LOCATION_UPDATED, OFFICER_STATUS_CHANGED), ("patrol",),
          (REPORT_REJECTED,)),
    Party("sms-gateway", (SMS_ACCEPTED, SMS_REFUSED, SMS_DELIVERY_REPORTED, SMS_RECEIVED), reads=(SMS_REQUESTED,)),
    # A CAP aggregator (a regional alert hub, a warning siren's controller) reads the community alerts.
    Party("cap-feed", reads=(COMMUNITY_ALERT_ISSUED, COMMUNITY_ALERT_CANCELLED)),
)}


def refusal(party: str, event: Event) -> str | None:
    """Why `party` (as the broker knows it) may not state `event`; None when it may. A service states
    only its own events, which its broker user alone may publish; anyone else only what PARTIES says."""
    if party in PARTIES:
        return PARTIES[party].refusal(event)
    if party not in SERVICES:
        return "an unknown party"
    if EVENT_TYPES[event.type].publisher != party:
        return f"{event.type} is {EVENT_TYPES[event.type].publisher}'s to state"
    if event.source != f"/siaga/{party}":
        return f"source {event.source!r} is not /siaga/{party}"
    return None


# The services (their events' exchanges are theirs); `intake` and `gateway` are the outside parties' exchanges.
SERVICES = ("reports", "dispatch", "notify", "console", "community")


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
