"""What community publishes on `community.events`: visits, concerns reported as incidents, community alerts
(shaped after OASIS CAP 1.2) and the SMS it asks notify to send.

Residents' phones appear only in `community_sms_requested`, which notify alone consumes to send the SMS.
"""
from __future__ import annotations

from marshmallow import fields, validate

from shared import wilayah
from shared.events import E164, NRP, PRIORITIES, EventSchema
from shared.events.intake import IncidentReportedSchema

PLACE_KINDS = ("pasar", "sekolah", "ibadah", "permukiman", "kantor", "lainnya")
COMMUNITY_SOURCE_KINDS = ("patrol_dialog", "siskamling")
AREA_KINDS = ("rw", "village", "district")
CAP_STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
CAP_CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                  "CBRNE", "Other")
CAP_URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
CAP_SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CAP_CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
VILLAGE = validate.Regexp(wilayah.VILLAGE_CODE, error="must look like PP.KK.CC.DDDD")


class VisitRecordedSchema(EventSchema):
    """An officer's visit (sambang, patroli dialogis): who, where, when and what residents raised."""

    visit_id = fields.String(required=True)
    number = fields.String(required=True, metadata={"description": "short code the officer's SMS quotes"})
    nrp = fields.String(required=True, validate=NRP)
    officer_name = fields.String(load_default=None, allow_none=True)
    polsek = fields.String(required=True, validate=validate.Regexp(r"^\d{2}\.\d{2}\.\d{2}$"))
    village_code = fields.String(required=True, validate=VILLAGE)
    village_name = fields.String(load_default=None, allow_none=True)
    rw = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 999))
    place_kind = fields.String(required=True, validate=validate.OneOf(PLACE_KINDS))
    concerns = fields.String(load_default="", validate=validate.Length(max=500), metadata={
        "description": "what residents raised, as the officer wrote it (no names or phones of residents)"})
    visited_at = fields.AwareDateTime(required=True)
    recorded_via = fields.String(required=True, validate=validate.OneOf(("sms", "console")))
    recorded_by = fields.String(required=True, metadata={
        "description": "the officer's NRP (by SMS) or the console operator who entered it"})
    reported = fields.Boolean(load_default=False, metadata={
        "description": "a concern of the visit was reported as an incident (concern_reported)"})


class ConcernReportedSchema(IncidentReportedSchema):
    """An incident, as an upstream app would report it, from a concern raised on a visit (`patrol_dialog`) or
    a Siskamling post leader's SMS (`siskamling`): reports takes it in like any other."""

    source_kind = fields.String(required=True, validate=validate.OneOf(COMMUNITY_SOURCE_KINDS))


class GeocodeSchema(EventSchema):
    valueName = fields.String(required=True, metadata={"description": "KEMENDAGRI (a village or district code); "
                                                                      "KEMENDAGRI_RW (village code/RWnn)"})
    value = fields.String(required=True)


class CapAreaSchema(EventSchema):
    areaDesc = fields.String(required=True)
    geocode = fields.List(fields.Nested(GeocodeSchema), required=True)


class CapInfoSchema(EventSchema):
    language = fields.String(required=True)
    category = fields.List(fields.String(validate=validate.OneOf(CAP_CATEGORIES)), required=True)
    event = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(CAP_URGENCIES))
    severity = fields.String(required=True, validate=validate.OneOf(CAP_SEVERITIES))
    certainty = fields.String(required=True, validate=validate.OneOf(CAP_CERTAINTIES))
    expires = fields.AwareDateTime(required=True)
    senderName = fields.String(required=True)
    headline = fields.String(required=True)
    description = fields.String(required=True)
    area = fields.Nested(CapAreaSchema, required=True)


class SiagaAlertSchema(EventSchema):
    """What Siaga adds beside the CAP fields: the Polsek, the area as Siaga names it and what sending costs."""

    alert_id = fields.String(required=True)
    polsek = fields.String(required=True)
    area_kind = fields.String(required=True, validate=validate.OneOf(AREA_KINDS))
    area_code = fields.String(required=True, metadata={"description": "PP.KK.CC, PP.KK.CC.DDDD or "
                                                                      "PP.KK.CC.DDDD/RWnn"})
    sms_text = fields.String(required=True)
    segments = fields.Integer(required=True)
    recipients = fields.Integer(required=True, metadata={
        "description": "consenting residents and Siskamling posts of the area when it was issued (a count only)"})
    issued_by = fields.String(required=True)


class CommunityAlertIssuedSchema(EventSchema):
    """A community alert to an area, shaped after OASIS CAP 1.2 `alert` (one `info`, one `area`)."""

    identifier = fields.String(required=True)
    sender = fields.String(required=True)
    sent = fields.AwareDateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CAP_STATUSES))
    msgType = fields.String(required=True, validate=validate.OneOf(("Alert", "Update", "Cancel")))
    scope = fields.String(required=True, validate=validate.OneOf(("Public", "Restricted", "Private")))
    references = fields.String(load_default=None, allow_none=True)
    info = fields.Nested(CapInfoSchema, required=True)
    siaga = fields.Nested(SiagaAlertSchema, required=True)


class CommunityAlertCancelledSchema(EventSchema):
    """An alert withdrawn: no one it has not reached yet is sent it (CAP msgType Cancel referencing it)."""

    alert_id = fields.String(required=True)
    identifier = fields.String(required=True)
    polsek = fields.String(required=True)
    cancelled_by = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    sent = fields.Integer(required=True, metadata={"description": "recipients it had been sent to by then"})
    not_sent = fields.Integer(required=True, metadata={"description": "recipients it will now never reach"})


class CommunitySmsRequestedSchema(EventSchema):
    """An SMS community wrote (an alert for a resident or a post, an answer to a community SMS command); notify
    sends it like its own: stored once by `sms_id`, retried, tracked to the gateway's receipt."""

    sms_id = fields.String(required=True)
    to = fields.String(required=True, validate=E164)
    text = fields.String(required=True, validate=validate.Length(min=1, max=160), metadata={
        "description": "one GSM-7 segment, checked by community before it asks"})
    kind = fields.String(required=True, metadata={"description": "the template, e.g. community_alert, "
                                                                 "visit_recorded_reply"})
    recipient_role = fields.String(required=True, validate=validate.OneOf(("officer", "citizen")))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    alert_id = fields.String(load_default=None, allow_none=True)
