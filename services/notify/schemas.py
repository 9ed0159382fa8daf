"""Schemas the notify service owns: SMS requests for the gateway, the gateway's answers, officer replies.

The gateway side (sms_accepted, sms_refused, sms_delivery_reported, sms_received on
`gateway.events`) is the contract a real gateway adapter implements in place of the simulator
(`python -m siaga.gateway_simulator`); the field descriptions below are that contract's text.
"""
from __future__ import annotations

from marshmallow import fields, validate

from shared.schema import EventSchema

RECIPIENT_ROLES = ("officer", "reporter", "duty_desk", "citizen")
E164 = validate.Regexp(r"^\+[1-9]\d{6,14}$", error="must be E.164")
PRIORITY = validate.OneOf(("P1", "P2", "P3", "P4"))


class SmsRequestedSchema(EventSchema):
    """One SMS for the gateway; `sms_id` is stable across redeliveries and retries, so gateways can dedupe too."""

    sms_id = fields.String(required=True, metadata={
        "description": "Stable id of this SMS (one per recipient and causing event). Every answer quotes it. "
                       "A gateway that sees an sms_id it already accepted answers sms_accepted again and does "
                       "not send a second SMS."})
    to = fields.String(required=True, validate=E164)
    text = fields.String(required=True, validate=validate.Length(min=1, max=1600))
    encoding = fields.String(required=True, validate=validate.OneOf(("GSM-7", "UCS-2")))
    segments = fields.Integer(required=True, validate=validate.Range(min=1))
    priority = fields.String(required=True, validate=PRIORITY, metadata={
        "description": "Priority of the report it is about (P1 life at risk); send higher priorities first."})
    recipient_role = fields.String(required=True, validate=validate.OneOf(RECIPIENT_ROLES))
    kind = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The template it was written from, e.g. officer_assignment, reporter_received."})
    report_id = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The report it is about; none for replies to inbound SMS and for rejected incidents."})
    assignment_id = fields.String(load_default=None, allow_none=True)
    attempt = fields.Integer(load_default=1, validate=validate.Range(min=1), metadata={
        "description": "1 for the first request; notify publishes the same sms_id again with attempt n+1 when "
                       "the gateway refused temporarily or did not answer in time (backoff with jitter)."})


REPLY_ACTIONS = ("acknowledge", "decline", "en_route", "on_scene", "complete")


class OfficerRepliedSchema(EventSchema):
    """An officer answered an assignment by SMS; only the assigned officer's phone gets this far."""

    nrp = fields.String(required=True)
    phone = fields.String(required=True)
    assignment_id = fields.String(required=True)
    action = fields.String(required=True, validate=validate.OneOf(REPLY_ACTIONS))
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500), metadata={
        "description": "What the officer wrote after code and number: a decline reason or an outcome."})
    replied_at = fields.AwareDateTime(required=True)


class SmsFailedSchema(EventSchema):
    """An SMS never reached its recipient: refused for good, unanswered after every retry, or not delivered.

    Dispatch treats an officer whose `officer_assignment` SMS failed as not acknowledging.
    """

    sms_id = fields.String(required=True)
    to = fields.String(required=True)
    recipient_role = fields.String(required=True, validate=validate.OneOf(RECIPIENT_ROLES))
    kind = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The template of the failed SMS; `officer_assignment` means the officer never learnt "
                       "of the assignment."})
    report_id = fields.String(load_default=None, allow_none=True)
    assignment_id = fields.String(load_default=None, allow_none=True)
    attempts = fields.Integer(required=True)
    reason = fields.String(required=True)


# The SMS gateway's side of the contract: published by the gateway (or its simulator) on gateway.events,
# as a plain AMQP client: JSON CloudEvents envelope, persistent, publisher confirms.

class SmsAcceptedSchema(EventSchema):
    """The gateway took the SMS for sending: only now does notify count it as sent. One per sms_requested."""

    sms_id = fields.String(required=True, metadata={
        "description": "The sms_id of the sms_requested answered. Answer every request (each attempt) with "
                       "sms_accepted or sms_refused: without an answer within notify's timeout the SMS is "
                       "requested again, and only an accepted SMS counts as sent."})
    gateway_id = fields.String(required=True, metadata={"description": "The gateway's own message id."})
    at = fields.AwareDateTime(required=True)
    attempt = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "The attempt of sms_requested this answers (echo it when known)."})


class SmsRefusedSchema(EventSchema):
    """The gateway did not take the SMS. Temporary (throttled, busy): notify retries. Final (bad number,
    blocked): notify gives up and publishes sms_failed."""

    sms_id = fields.String(required=True)
    reason = fields.String(required=True, metadata={"description": "Why, for the people reading the logs."})
    temporary = fields.Boolean(required=True, metadata={
        "description": "true: busy or throttled, notify retries with backoff; false: this number can never be "
                       "reached (invalid, blocked), notify gives up at once and publishes sms_failed."})
    at = fields.AwareDateTime(required=True)
    attempt = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "The attempt of sms_requested this answers (echo it when known)."})


class SmsDeliveryReportedSchema(EventSchema):
    """A delivery receipt from the network, after sms_accepted (it may overtake it)."""

    sms_id = fields.String(required=True, metadata={
        "description": "The SMS the receipt is for; at most one final receipt per sms_id (it may overtake "
                       "sms_accepted)."})
    gateway_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ("delivered", "undelivered", "expired", "rejected", "unknown")), metadata={
        "description": "undelivered, expired and rejected mean the recipient never got it (notify publishes "
                       "sms_failed); unknown is recorded only."})
    at = fields.AwareDateTime(required=True)


class SmsReceivedSchema(EventSchema):
    """An inbound SMS from a phone, e.g. an officer's reply `OK C0FFEE`."""

    gateway_id = fields.String(required=True, metadata={
        "description": "The gateway's id of the inbound SMS; use it as the envelope id too (one event per SMS)."})
    sender = fields.String(required=True, data_key="from", metadata={
        "description": "The sender's number, E.164 preferred; local forms (0812...) are normalised."})
    text = fields.String(required=True, validate=validate.Length(max=1600))
    at = fields.AwareDateTime(required=True)
