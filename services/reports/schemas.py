"""Schemas the reports service owns: what each kind of source adds in `details`, what consoles read.

Its events' schemas, and the incident upstream apps send, are the contract's (`shared.events`).
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from shared import wilayah
from shared.events import NRP, PRIORITIES
from shared.events.reports import STATUSES, ContactSchema, OriginSchema, PlaceSchema


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


class PatrolDialogDetailsSchema(DetailsSchema):
    """A concern raised on a visit, said by community (never by an upstream app: no party may state it)."""

    visit_id = fields.String(required=True, validate=validate.Length(min=1, max=60))
    visit_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=12))
    recorded_by_nrp = fields.String(load_default=None, allow_none=True, validate=NRP)
    place_kind = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))


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
    "patrol_dialog": PatrolDialogDetailsSchema,
}


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
    contact_sealed = fields.Boolean(metadata={
        "description": "an anonymous reporter's contact is kept sealed: a supervisor may reveal it (reveal_contact)"})
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


class RevealSchema(Schema):
    """An audit entry: a supervisor saw an anonymous reporter's contact (never the contact itself)."""

    reveal_id = fields.String(attribute="_id")
    report_id = fields.String()
    number = fields.String()
    polsek = fields.String(allow_none=True)
    by = fields.String()
    reason = fields.String()
    at = fields.AwareDateTime()
    outcome = fields.String()


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
