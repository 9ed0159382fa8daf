"""Schemas the dispatch service owns: its roster file and the assignment events it publishes."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.dispatch import shifts
from shared.schema import EventSchema

# Kept in step with domain.RULES (the schema module must not import the rules).
RULES = ("area_polisi_rw", "area_bhabinkamtibmas", "nearest_skilled", "reporting_officer", "named_by_console")
ROLES = ("polisi_rw", "bhabinkamtibmas", "patrol_unit", "duty_desk")
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


class OfficerRefSchema(EventSchema):
    nrp = fields.String(required=True)
    name = fields.String(required=True)
    rank = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    phone = fields.String(required=True, validate=validate.Regexp(r"^\+[1-9]\d{6,14}$", error="must be E.164"))


class ReportSummarySchema(EventSchema):
    """What a notifier needs to tell an officer about the report, so nobody calls back to ask."""

    report_id = fields.String(required=True)
    number = fields.String(required=True)
    category = fields.String(required=True)
    priority = fields.String(required=True, validate=validate.OneOf(("P1", "P2", "P3", "P4")))
    description = fields.String(required=True)
    village_code = fields.String(allow_none=True, required=True)
    village_name = fields.String(allow_none=True, required=True)
    rw = fields.Integer(allow_none=True, required=True)
    address = fields.String(allow_none=True, required=True)


class AssignmentCreatedSchema(EventSchema):
    assignment_id = fields.String(required=True)
    officer = fields.Nested(OfficerRefSchema, required=True)
    report = fields.Nested(ReportSummarySchema, required=True)
    rule = fields.String(required=True, validate=validate.OneOf(RULES), metadata={
        "description": "why this officer: the RW's Polisi RW, the village's Bhabinkamtibmas, the nearest "
                       "skilled officer, the officer who reported it on patrol, or the officer a duty officer "
                       "named on a console (reassignment by hand)"})
    reason = fields.String(required=True)
    skipped = fields.List(fields.Dict(keys=fields.String(), values=fields.String()), required=True)
    ack_deadline = fields.AwareDateTime(required=True)
    distance_m = fields.Integer(load_default=None, allow_none=True,
                                metadata={"description": "metres from the report, when chosen by distance"})
    attempt = fields.Integer(load_default=1, validate=validate.Range(min=1),
                             metadata={"description": "1 for the first officer tried for the report, 2 for the next…"})
    state = fields.String(load_default="created", validate=validate.OneOf(("created", "on_scene")), metadata={
        "description": "on_scene when the officer reported it on patrol (no acknowledgement awaited)"})


class AssignmentEscalatedSchema(EventSchema):
    report = fields.Nested(ReportSummarySchema, required=True)
    polsek = fields.String(required=True)
    duty_desk = fields.Nested(OfficerRefSchema, allow_none=True, required=True)
    reason = fields.String(required=True)
    skipped = fields.List(fields.Dict(keys=fields.String(), values=fields.String()), required=True)
    attempts = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata={
        "description": "officers tried (and expired or declined) before the duty desk was engaged"})
    last_assignment_id = fields.String(load_default=None, allow_none=True)


VIAS = ("console", "sms", "officer_app", "system")


class AssignmentStepSchema(EventSchema):
    """Common to every step of an assignment's life, so reports and notify need no lookup."""

    assignment_id = fields.String(required=True)
    report_id = fields.String(required=True)
    number = fields.String(required=True)
    officer = fields.Nested(OfficerRefSchema, required=True)
    at = fields.AwareDateTime(required=True)
    via = fields.String(required=True, validate=validate.OneOf(VIAS))


class AssignmentAcknowledgedSchema(AssignmentStepSchema):
    pass


class AssignmentDeclinedSchema(AssignmentStepSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class AssignmentDepartedSchema(AssignmentStepSchema):
    """The officer is en route."""


class AssignmentArrivedSchema(AssignmentStepSchema):
    """The officer is on scene."""


class AssignmentCompletedSchema(AssignmentStepSchema):
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AssignmentExpiredSchema(AssignmentStepSchema):
    """Not acknowledged by the deadline (or the officer could not be reached by SMS)."""

    attempt = fields.Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(required=True)


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

