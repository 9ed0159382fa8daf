"""The schema dispatch owns: its roster file (its events' schemas are the contract's, `shared.events`)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.dispatch import shifts
from shared.events.dispatch import ROLES

STATUSES = ("off_duty", "available", "assigned", "en_route", "on_scene", "unavailable")
AREA = validate.Regexp(
    r"^\d{2}\.\d{2}\.\d{2}\.\d{4}(/RW\d{2,3})?$", error="must be PP.KK.CC.DDDD or PP.KK.CC.DDDD/RWnn"
)


class OfficerSchema(Schema):
    """One roster entry, as loaded from a roster file: unknown columns are an error (likely a typo)."""

    nrp = fields.String(required=True, validate=validate.Regexp(r"^\d{8,18}$", error="NRP is 8–18 digits"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    rank = fields.String(required=True, validate=validate.Length(min=1, max=40))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    polsek = fields.String(required=True, validate=validate.Regexp(r"^\d{2}\.\d{2}\.\d{2}$"))
    areas = fields.List(fields.String(validate=AREA), load_default=list)
    skills = fields.List(fields.String(), load_default=list)
    phone = fields.String(required=True)
    status = fields.String(load_default="available", validate=validate.OneOf(STATUSES))
    shifts = fields.List(fields.String(), load_default=list, metadata={
        "description": "local-time shifts, e.g. 'mon-fri 07:00-15:00', 'daily 19:00-07:00'; empty = always on call"})
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-11.5, 6.5))
    lon = fields.Float(load_default=None, allow_none=True, validate=validate.Range(94.5, 141.5))
    located_at = fields.AwareDateTime(load_default=None, allow_none=True)

    @validates("shifts")
    def shifts_parse(self, value, **kwargs):
        reasons = []
        for line in value:
            try:
                shifts.parse_shift(line)
            except ValueError as exc:
                reasons.append(str(exc))
        if reasons:
            raise ValidationError(reasons)

    @validates_schema
    def lat_and_lon_together(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("lat and lon come together", "lat" if data.get("lat") is None else "lon")
