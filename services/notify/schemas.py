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


REPLY_ACTIONS = ("acknowledge", "decline", "en_route", "on_scene", "complete")


class OfficerRepliedSchema(EventSchema):
    """An officer answered an assignment by SMS; only the assigned officer's phone gets this far."""

    nrp = fields.String(required=True)
    phone = fields.String(required=True)
    assignment_id = fields.String(required=True)
    action = fields.String(required=True, validate=validate.OneOf(REPLY_ACTIONS))
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    replied_at = fields.AwareDateTime(required=True)


class SmsFailedSchema(EventSchema):
    """The gateway never took this SMS after every retry: its recipient must be treated as unreachable."""

    sms_id = fields.String(required=True)
    to = fields.String(required=True)
    recipient_role = fields.String(required=True, validate=validate.OneOf(RECIPIENT_ROLES))
    report_id = fields.String(required=True)
    assignment_id = fields.String(load_default=None, allow_none=True)
    attempts = fields.Integer(required=True)
    reason = fields.String(required=True)


# The SMS gateway's side of the contract: published by the gateway (or its simulator) on gateway.events.

class SmsAcceptedSchema(EventSchema):
    sms_id = fields.String(required=True)
    gateway_id = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


class SmsRefusedSchema(EventSchema):
    sms_id = fields.String(required=True)
    reason = fields.String(required=True)
    temporary = fields.Boolean(required=True)
    at = fields.AwareDateTime(required=True)


class SmsDeliveryReportedSchema(EventSchema):
    sms_id = fields.String(required=True)
    gateway_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ("delivered", "undelivered", "expired", "rejected", "unknown")))
    at = fields.AwareDateTime(required=True)


class SmsReceivedSchema(EventSchema):
    """An inbound SMS from a phone."""

    gateway_id = fields.String(required=True)
    sender = fields.String(required=True, data_key="from")
    text = fields.String(required=True, validate=validate.Length(max=1600))
    at = fields.AwareDateTime(required=True)
