"""Schemas the notify service owns: the SMS requests it hands to the gateway."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.schema import EventSchema

RECIPIENT_ROLES = ("officer", "reporter", "duty_desk")


class SmsRequestedSchema(EventSchema):
    """One SMS for the gateway; `sms_id` is stable across redeliveries, so gateways can dedupe too."""

    sms_id = fields.String(required=True)
    to = fields.String(required=True, validate=validate.Regexp(r"^\+[1-9]\d{6,14}$", error="must be E.164"))
    text = fields.String(required=True, validate=validate.Length(min=1, max=1600))
    encoding = fields.String(required=True, validate=validate.OneOf(("GSM-7", "UCS-2")))
    segments = fields.Integer(required=True, validate=validate.Range(min=1))
    priority = fields.String(required=True, validate=validate.OneOf(("P1", "P2", "P3", "P4")))
    recipient_role = fields.String(required=True, validate=validate.OneOf(RECIPIENT_ROLES))
    report_id = fields.String(required=True)
    assignment_id = fields.String(load_default=None, allow_none=True)
