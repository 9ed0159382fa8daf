"""What reports publishes on `reports.events`: a report received, rejected, linked as a duplicate or cancelled."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.events import NRP, PRIORITIES, EventSchema
from shared.events.intake import SOURCE_KINDS

# lifecycle.REPORT_STATUSES, in the order the contract document lists them.
STATUSES = ("needs_review", "received", "awaiting_officer", "assigned", "acknowledged", "en_route", "on_scene",
            "escalated", "resolved", "cancelled", "duplicate")


VILLAGE_SOURCES = ("given", "coordinates", "nearest_village", "address")


class PlaceSchema(EventSchema):
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    village_code = fields.String(allow_none=True)
    village_name = fields.String(allow_none=True)
    rw = fields.Integer(allow_none=True)
    address = fields.String(allow_none=True)
    village_from = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(VILLAGE_SOURCES),
                                 metadata={
        "description": "how intake found the village: given (the sender's code), coordinates (point in its "
                       "boundary), nearest_village (a point just outside every village: coast, border), address "
                       "(the address matched a village's name)"})
    village_distance_m = fields.Float(load_default=None, allow_none=True, metadata={
        "description": "metres from the coordinates to the village's boundary (0 inside it)"})
    given_village_code = fields.String(load_default=None, allow_none=True, metadata={
        "description": "the sender's village code, when a device's coordinates (the better witness) disagreed"})
    gps_village_code = fields.String(load_default=None, allow_none=True, metadata={
        "description": "the village of the coordinates, when a stated code (110, Siskamling: the better witness) "
                       "disagreed"})


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

