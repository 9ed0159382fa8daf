"""Schemas the reports service owns: what upstream apps send, what it publishes, what consoles read."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from shared import wilayah
from shared.schema import EventSchema

SOURCE_KINDS = ("citizen_app", "hotline_110", "cctv", "siskamling", "patrol", "open311")
PRIORITIES = ("P1", "P2", "P3", "P4")
# A report's life: see domain.py for how dispatch's events move it (never backwards).
STATUSES = ("needs_review", "received", "awaiting_officer", "assigned", "acknowledged", "en_route", "on_scene",
            "escalated", "resolved", "cancelled", "duplicate")
NRP = validate.Regexp(r"^\d{8,18}$", error="an NRP is 8 to 18 digits")

# Indonesia's bounding box (Sabang–Merauke, Rote–Miangas), with a margin for the outer islands.
LAT_RANGE = validate.Range(-11.5, 6.5, error="lies outside Indonesia (latitude -11.5 to 6.5)")
LON_RANGE = validate.Range(94.5, 141.5, error="lies outside Indonesia (longitude 94.5 to 141.5)")


class LocationSchema(EventSchema):
    """Where: a Kemendagri village code and/or lat+lon (both), plus RW and address text."""

    lat = fields.Float(validate=LAT_RANGE, load_default=None, allow_none=True)
    lon = fields.Float(validate=LON_RANGE, load_default=None, allow_none=True)
    village_code = fields.String(
        load_default=None, allow_none=True,
        metadata={"description": "Kemendagri village code; required unless both lat and lon are given"},
        validate=validate.Regexp(wilayah.VILLAGE_CODE, error="must look like PP.KK.CC.DDDD"),
    )
    rw = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 999))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))

    @validates_schema
    def has_a_place(self, data, **kwargs):
        """A place is a village code, or coordinates (both of them), or both."""
        errors = {}
        if (data.get("lat") is None) != (data.get("lon") is None):
            errors["lat" if data.get("lat") is None else "lon"] = ["lat and lon come together"]
        if data.get("village_code") is None and (data.get("lat") is None or data.get("lon") is None):
            errors["village_code"] = ["give a village_code or both lat and lon"]
        if errors:
            raise ValidationError(errors)


class ReporterSchema(EventSchema):
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    anonymous = fields.Boolean(load_default=False)


class IncidentReportedSchema(EventSchema):
    """What every upstream app sends; what each kind of source adds goes in `details`."""

    source_kind = fields.String(required=True, validate=validate.OneOf(SOURCE_KINDS))
    category = fields.String(required=True, validate=validate.Length(min=1, max=60), metadata={
        "description": "a category code or a Bahasa synonym (curanmor, begal, laka lantas…); unknown → other"})
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "when it happened; not in the future (a few minutes of clock skew allowed)"})
    location = fields.Nested(LocationSchema, required=True)
    reporter = fields.Nested(ReporterSchema, load_default=lambda: {"anonymous": True})
    details = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "what the source kind adds, checked by intake (a wrong one is a report_rejected reason): "
                       "citizen_app: media (URLs); hotline_110: operator_id, call_id, caller_number, priority; "
                       "cctv: camera_id, label, confidence (0–1), snapshot_url; siskamling: post_id, "
                       "guard_on_duty, guard_phone; patrol: officer_nrp; open311: service_code, "
                       "jurisdiction_id, email, first_name, last_name, media_url, attributes"})


# What each kind of source adds in `details`. Bookkeeping ids of a person-relayed report (a 110
# call, a Siskamling post) are optional: a real emergency is never refused for a missing call id.
class DetailsSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class CitizenAppDetailsSchema(DetailsSchema):
    media = fields.List(fields.Url(schemes={"http", "https"}), load_default=list, validate=validate.Length(max=10))


class Hotline110DetailsSchema(DetailsSchema):
    operator_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    call_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=80))
    caller_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    priority = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PRIORITIES))


class CctvDetailsSchema(DetailsSchema):
    camera_id = fields.String(required=True, validate=validate.Length(min=1, max=60))
    label = fields.String(required=True, validate=validate.Length(min=1, max=60))
    confidence = fields.Float(required=True, validate=validate.Range(0.0, 1.0))
    snapshot_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})


class SiskamlingDetailsSchema(DetailsSchema):
    post_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=60))
    guard_on_duty = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    guard_phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))


class PatrolDetailsSchema(DetailsSchema):
    officer_nrp = fields.String(required=True, validate=NRP)


class Open311DetailsSchema(DetailsSchema):
    service_code = fields.String(required=True)
    jurisdiction_id = fields.String(load_default=None, allow_none=True)
    client = fields.String(load_default=None, allow_none=True)
    email = fields.Email(load_default=None, allow_none=True)
    first_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    last_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    device_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    account_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    media_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    attributes = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


DETAILS_SCHEMAS: dict[str, type[DetailsSchema]] = {
    "citizen_app": CitizenAppDetailsSchema,
    "hotline_110": Hotline110DetailsSchema,
    "cctv": CctvDetailsSchema,
    "siskamling": SiskamlingDetailsSchema,
    "patrol": PatrolDetailsSchema,
    "open311": Open311DetailsSchema,
}


class PlaceSchema(EventSchema):
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    village_code = fields.String(allow_none=True)
    village_name = fields.String(allow_none=True)
    rw = fields.Integer(allow_none=True)
    address = fields.String(allow_none=True)


class ContactSchema(EventSchema):
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class ReportReceivedSchema(EventSchema):
    """Everything dispatch and notify need, so neither calls back to ask."""

    report_id = fields.String(required=True)
    number = fields.String(required=True)
    source_kind = fields.String(required=True, validate=validate.OneOf(SOURCE_KINDS))
    category = fields.String(required=True)
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    skills = fields.List(fields.String(), required=True)
    description = fields.String(required=True)
    place = fields.Nested(PlaceSchema, required=True)
    anonymous = fields.Boolean(required=True)
    reporter = fields.Nested(ContactSchema, allow_none=True, required=True)
    received_at = fields.AwareDateTime(required=True)
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True)
    reporting_officer_nrp = fields.String(load_default=None, allow_none=True, validate=NRP, metadata={
        "description": "a patrol report: the officer who reported it, already on scene, who should handle it"})


class OriginSchema(EventSchema):
    source = fields.String(allow_none=True, required=True)
    id = fields.String(allow_none=True, required=True)


class ExplanationSchema(EventSchema):
    en = fields.String(required=True)
    id = fields.String(required=True)


class ReportRejectedSchema(EventSchema):
    """Carries the sender's own source and id so the sending app can match it to what it sent."""

    original = fields.Nested(OriginSchema, required=True)
    reasons = fields.Dict(keys=fields.String(), required=True, metadata={
        "description": "every reason, in English: field → message for an incident intake refused; as the "
                       "dead letter recorded it (e.g. data → field → messages) for one that could not be read"})
    explanations = fields.Dict(
        keys=fields.String(), values=fields.Nested(ExplanationSchema), load_default=dict, metadata={
            "description": "every reason, flat: field path (e.g. location.village_code) → {en, id} "
                           "messages in English and Bahasa Indonesia, for a person to read"})
    reporter_phone = fields.String(
        load_default=None, allow_none=True,
        metadata={"description": "E.164, when the incident carried a valid phone and was not anonymous"})


class DuplicateReportedSchema(EventSchema):
    """A near-duplicate of an open report: linked, never dispatched; its reporter follows the original."""

    report_id = fields.String(required=True)
    number = fields.String(required=True)
    original_report_id = fields.String(required=True)
    original_number = fields.String(required=True)
    category = fields.String(required=True)
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    place = fields.Nested(PlaceSchema, required=True)
    anonymous = fields.Boolean(required=True)
    reporter = fields.Nested(ContactSchema, allow_none=True, required=True)
    received_at = fields.AwareDateTime(required=True)
    source_kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SOURCE_KINDS))
    distance_m = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "metres between the two reports; null when matched by village (no coordinates)"})


class ReportCancelledSchema(EventSchema):
    """A duty officer cancelled an open report: final. Dispatch ends its assignment and frees the officer."""

    report_id = fields.String(required=True)
    number = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))
    cancelled_by = fields.String(required=True, validate=validate.Length(min=1, max=80), metadata={
        "description": "the console operator's username"})
    at = fields.AwareDateTime(required=True)
    previous_status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES),
                                    metadata={"description": "the status the report was cancelled from"})
    village_code = fields.String(load_default=None, allow_none=True)
    polsek = fields.String(load_default=None, allow_none=True, metadata={
        "description": "the district code of the report's village (the Polsek responsible for it)"})


# --- What consoles read by RPC --------------------------------------------------------------

class TransitionSchema(Schema):
    status = fields.String()
    at = fields.AwareDateTime()
    assignment_id = fields.String(allow_none=True)
    officer_nrp = fields.String(allow_none=True)


class DuplicateLinkSchema(Schema):
    report_id = fields.String()
    number = fields.String()
    source_kind = fields.String()
    anonymous = fields.Boolean()
    reporter = fields.Nested(ContactSchema, allow_none=True)
    received_at = fields.AwareDateTime()


class ReviewSchema(Schema):
    decision = fields.String()
    by = fields.String()
    note = fields.String(allow_none=True)
    at = fields.AwareDateTime()


class CancellationSchema(Schema):
    reason = fields.String()
    by = fields.String()
    at = fields.AwareDateTime()
    previous_status = fields.String(allow_none=True)


class ReportViewSchema(Schema):
    """A stored report as a console shows it (JSON-ready: datetimes as ISO 8601 UTC)."""

    report_id = fields.String(attribute="_id")
    number = fields.String()
    status = fields.String()
    origin = fields.Nested(OriginSchema)
    source_kind = fields.String()
    source_details = fields.Dict()
    category = fields.String()
    priority = fields.String()
    skills = fields.List(fields.String())
    description = fields.String()
    place = fields.Nested(PlaceSchema)
    anonymous = fields.Boolean()
    reporter = fields.Nested(ContactSchema, allow_none=True)
    occurred_at = fields.AwareDateTime(allow_none=True)
    received_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    review = fields.Nested(ReviewSchema, allow_none=True)
    cancellation = fields.Nested(CancellationSchema, allow_none=True)
    duplicate_of = fields.Dict(allow_none=True)
    duplicate_count = fields.Integer()
    duplicates = fields.List(fields.Nested(DuplicateLinkSchema))
    officer = fields.Dict(allow_none=True)
    assignment_id = fields.String(attribute="current", allow_none=True)
    history = fields.List(fields.Nested(TransitionSchema))


class ReportFilterSchema(Schema):
    """list_reports filters; a wrong one is an InvalidFilter naming every bad field."""

    class Meta:
        unknown = "raise"

    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)), load_default=None)
    village_code = fields.String(load_default=None, validate=validate.Regexp(wilayah.VILLAGE_CODE))
    category = fields.String(load_default=None)
    received_from = fields.AwareDateTime(load_default=None)
    received_until = fields.AwareDateTime(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
