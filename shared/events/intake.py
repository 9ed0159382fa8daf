"""What upstream apps publish on `intake.events`: incidents (for reports), officers' whereabouts (for dispatch)."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from shared import wilayah
from shared.events import EventSchema

SOURCE_KINDS = ("citizen_app", "hotline_110", "cctv", "siskamling", "patrol", "open311", "patrol_dialog")

# Indonesia's bounding box (Sabang–Merauke, Rote–Miangas), with a margin for the outer islands.
LAT_RANGE = validate.Range(-11.5, 6.5, error="lies outside Indonesia (latitude -11.5 to 6.5)")
LON_RANGE = validate.Range(94.5, 141.5, error="lies outside Indonesia (longitude 94.5 to 141.5)")


class LocationSchema(EventSchema):
    """Where: a Kemendagri village code and/or lat+lon (both), plus RW and address text; an address alone is
    matched against the names of villages, districts and regencies by intake."""

    lat = fields.Float(validate=LAT_RANGE, load_default=None, allow_none=True)
    lon = fields.Float(validate=LON_RANGE, load_default=None, allow_none=True)
    village_code = fields.String(
        load_default=None, allow_none=True,
        metadata={"description": "Kemendagri village code; required unless both lat and lon, or an address "
                                 "naming the kelurahan/desa, are given"},
        validate=validate.Regexp(wilayah.VILLAGE_CODE, error="must look like PP.KK.CC.DDDD"),
    )
    rw = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 999))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))

    @validates_schema
    def has_a_place(self, data, **kwargs):
        """A place is a village code, or coordinates (both of them), or an address, or several of them."""
        errors = {}
        if (data.get("lat") is None) != (data.get("lon") is None):
            errors["lat" if data.get("lat") is None else "lon"] = ["lat and lon come together"]
        if data.get("village_code") is None and (data.get("lat") is None or data.get("lon") is None) \
                and not (data.get("address") or "").strip():
            errors["village_code"] = ["give a village_code, both lat and lon, or an address"]
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
                       "guard_on_duty, guard_phone; patrol: officer_nrp; patrol_dialog (from community only): "
                       "visit_id, visit_number, recorded_by_nrp, place_kind; open311: service_code, "
                       "jurisdiction_id, email, first_name, last_name, media_url, attributes"})


class OfficerLocationUpdatedSchema(EventSchema):
    """From an officer's app: where the officer is now."""

    nrp = fields.String(required=True)
    lat = fields.Float(required=True, validate=validate.Range(-11.5, 6.5))
    lon = fields.Float(required=True, validate=validate.Range(94.5, 141.5))
    accuracy_m = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    at = fields.AwareDateTime(required=True)


class OfficerStatusChangedSchema(EventSchema):
    """From an officer's app: on or off duty, or unavailable."""

    nrp = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("off_duty", "available", "unavailable")))
    at = fields.AwareDateTime(required=True)
