"""Schemas the reports service owns: what upstream apps send and what it publishes."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared import wilayah

SOURCE_KINDS = ("citizen_app", "hotline_110", "cctv", "siskamling", "patrol", "open311")
PRIORITIES = ("P1", "P2", "P3", "P4")


class LocationSchema(Schema):
    lat = fields.Float(validate=validate.Range(-11.5, 6.5), load_default=None, allow_none=True)
    lon = fields.Float(validate=validate.Range(94.5, 141.5), load_default=None, allow_none=True)
    village_code = fields.String(
        load_default=None, allow_none=True,
        validate=validate.Regexp(wilayah.VILLAGE_CODE, error="must look like PP.KK.CC.DDDD"),
    )
    rw = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 999))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))

    @validates_schema
    def has_a_place(self, data, **kwargs):
        if data.get("village_code") is None and (data.get("lat") is None or data.get("lon") is None):
            raise ValidationError("give a village_code or both lat and lon", "village_code")
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("lat and lon come together", "lon")


class ReporterSchema(Schema):
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    anonymous = fields.Boolean(load_default=False)


class IncidentReportedSchema(Schema):
    """What every upstream app sends; source-specific details go in `details`."""

    source_kind = fields.String(required=True, validate=validate.OneOf(SOURCE_KINDS))
    category = fields.String(required=True, validate=validate.Length(min=1, max=60))
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True)
    location = fields.Nested(LocationSchema, required=True)
    reporter = fields.Nested(ReporterSchema, load_default=lambda: {"anonymous": True})
    details = fields.Dict(keys=fields.String(), load_default=dict)


class PlaceSchema(Schema):
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    village_code = fields.String(allow_none=True)
    village_name = fields.String(allow_none=True)
    rw = fields.Integer(allow_none=True)
    address = fields.String(allow_none=True)


class ContactSchema(Schema):
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class ReportReceivedSchema(Schema):
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


class OriginSchema(Schema):
    source = fields.String(allow_none=True, required=True)
    id = fields.String(allow_none=True, required=True)


class ReportRejectedSchema(Schema):
    """Carries the sender's own source and id so the sending app can match it to what it sent."""

    original = fields.Nested(OriginSchema, required=True)
    reasons = fields.Dict(keys=fields.String(), required=True)
