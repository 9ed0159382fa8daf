"""What the SMS gateway (or its simulator) publishes on `gateway.events`: its answers and inbound SMS.

This is the contract a real gateway adapter implements in place of the simulator
(`python -m siaga.gateway_simulator`), as a plain AMQP client: JSON CloudEvents envelope,
persistent, publisher confirms. The field descriptions below are that contract's text.
"""
from __future__ import annotations

from marshmallow import fields, validate

from shared.events import EventSchema


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
