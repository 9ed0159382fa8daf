"""What dispatch publishes on `dispatch.events`: each step of an assignment's life, and escalations."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.events import E164, PRIORITIES, EventSchema
from shared.reply_matching import REFUSALS

# Why an officer was chosen: dispatch's selection rules, named here so the contract does not import them.
RULES = ("area_polisi_rw", "area_bhabinkamtibmas", "adjacent_bhabinkamtibmas", "nearest_skilled", "reporting_officer",
         "named_by_console")
# Why nobody was claimed and the duty desk engaged (dispatch's choice.ESCALATION_RULES).
ESCALATION_RULES = ("no_area_officer_free", "no_area_officer", "nobody_nearby", "no_place_to_measure",
                    "tries_exhausted")
ROLES = ("polisi_rw", "bhabinkamtibmas", "patrol_unit", "duty_desk")


class OfficerRefSchema(EventSchema):
    nrp = fields.String(required=True)
    name = fields.String(required=True)
    rank = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    phone = fields.String(required=True, validate=E164)


class ReportSummarySchema(EventSchema):
    """What a notifier needs to tell an officer about the report, so nobody calls back to ask."""

    report_id = fields.String(required=True)
    number = fields.String(required=True)
    category = fields.String(required=True)
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
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
        "description": "why this officer: the RW's Polisi RW, the village's Bhabinkamtibmas, the "
                       "Bhabinkamtibmas of a bordering village of the same Polsek, the nearest skilled officer, "
                       "the officer who reported it on patrol, or the officer a duty officer named on a console "
                       "(reassignment by hand)"})
    reason = fields.String(required=True, metadata={"description": "the rule's reason in English, for logs"})
    reason_bahasa = fields.String(load_default=None, allow_none=True, metadata={
        "description": "the reason in Bahasa Indonesia, as a console, an SMS or the demo shows it"})
    skipped = fields.List(fields.Dict(keys=fields.String(), values=fields.String()), required=True)
    ack_deadline = fields.AwareDateTime(required=True)
    distance_m = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "metres from the report (its coordinates, else its village's centre) to the officer (a "
                       "fresh fix, else the centre of the officer's area), when the rule measured it"})
    attempt = fields.Integer(load_default=1, validate=validate.Range(min=1),
                             metadata={"description": "1 for the first officer tried for the report, 2 for the next…"})
    state = fields.String(load_default="created", validate=validate.OneOf(("created", "on_scene")), metadata={
        "description": "on_scene when the officer reported it on patrol (no acknowledgement awaited)"})


class AssignmentEscalatedSchema(EventSchema):
    report = fields.Nested(ReportSummarySchema, required=True)
    polsek = fields.String(required=True)
    duty_desk = fields.Nested(OfficerRefSchema, allow_none=True, required=True)
    reason = fields.String(required=True, metadata={"description": "why nobody was claimed, in English, for logs"})
    rules = fields.List(fields.String(validate=validate.OneOf(ESCALATION_RULES)), load_default=list, metadata={
        "description": "why nobody was claimed, machine-readable"})
    reason_bahasa = fields.String(load_default=None, allow_none=True, metadata={
        "description": "why nobody was claimed, in Bahasa Indonesia, as a console, an SMS or the demo shows it"})
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
    by_operator = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=80), metadata={
        "description": "via console: the username of the console operator who took the step"})


class AssignmentAcknowledgedSchema(AssignmentStepSchema):
    pass


class AssignmentDeclinedSchema(AssignmentStepSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))
    report_cancelled = fields.Boolean(load_default=False, metadata={
        "description": "true when the assignment ended because a duty officer cancelled its report (the "
                       "reason then carries theirs): nobody follows it, and the officer is told to stand down"})


class AssignmentDepartedSchema(AssignmentStepSchema):
    """The officer is en route."""


class AssignmentArrivedSchema(AssignmentStepSchema):
    """The officer is on scene."""


# How the duty desk closed an escalated report itself (dispatch's desk.OUTCOMES).
DESK_OUTCOMES = ("handled_by_desk", "referred_to_polres", "false_report", "no_action_needed")


class AssignmentCompletedSchema(AssignmentStepSchema):
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=500))
    desk_outcome = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(DESK_OUTCOMES), metadata={
        "description": "set when the duty desk closed an escalated report itself (the officer is the duty desk): "
                       "handled_by_desk (ditangani SPKT), referred_to_polres (diteruskan ke Polres), false_report "
                       "(laporan palsu), no_action_needed"})


class AssignmentExpiredSchema(AssignmentStepSchema):
    """Not acknowledged by the deadline (or the officer could not be reached by SMS)."""

    attempt = fields.Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(required=True)


class ReplyRefusedSchema(EventSchema):
    """dispatch read a reply notify could not match, and it acts on nothing: why, and the phone's open tasks,
    so that notify answers with the right short SMS (an unknown number never gets an officer's wording)."""

    phone = fields.String(required=True, validate=E164)
    nrp = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The officer whose phone it is; none for a number that is no officer's."})
    reason = fields.String(required=True, validate=validate.OneOf(REFUSALS))
    action = fields.String(load_default=None, allow_none=True)
    number = fields.String(load_default=None, allow_none=True)
    open_numbers = fields.List(fields.String(), required=True, metadata={
        "description": "The report numbers of the officer's open tasks, newest first."})
