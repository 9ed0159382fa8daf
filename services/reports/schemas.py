"""Schemas the reports service owns: what upstream apps send and what it publishes."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from shared import wilayah
from shared.schema import EventSchema

SOURCE_KINDS = ("citizen_app", "hotline_110", "cctv", "siskamling", "patrol", "open311")
PRIORITIES = ("P1", "P2", "P3", "P4")


class LocationSchema(EventSchema):
    """Where: a Kemendagri village code and/or lat+lon (both), plus RW and address text."""

    lat = fields.Float(validate=validate.Range(-11.5, 6.5), load_default=None, allow_none=True)
    lon = fields.Float(validate=validate.Range(94.5, 141.5), load_default=None, allow_none=True)
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
    """What every upstream app sends; source-specific details go in `details`."""

    source_kind = fields.String(required=True, validate=validate.OneOf(SOURCE_KINDS))
    category = fields.String(required=True, validate=validate.Length(min=1, max=60))
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True)
    location = fields.Nested(LocationSchema, required=True)
    reporter = fields.Nested(ReporterSchema, load_default=lambda: {"anonymous": True})
    details = fields.Dict(keys=fields.String(), load_default=dict)


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


class OriginSchema(EventSchema):
    source = fields.String(allow_none=True, required=True)
    id = fields.String(allow_none=True, required=True)


class ReportRejectedSchema(EventSchema):
    """Carries the sender's own source and id so the sending app can match it to what it sent."""

    original = fields.Nested(OriginSchema, required=True)
    reasons = fields.Dict(keys=fields.String(), required=True)
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
