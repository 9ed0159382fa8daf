"""What notify publishes on `notify.events`: SMS requests for the gateway, failures, officers' replies."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.events import E164, PRIORITIES, EventSchema

RECIPIENT_ROLES = ("officer", "reporter", "duty_desk", "citizen")
PRIORITY = validate.OneOf(PRIORITIES)


class SmsRequestedSchema(EventSchema):
    """One SMS for the gateway; `sms_id` is stable across redeliveries and retries, so gateways can dedupe too."""

    sms_id = fields.String(required=True, metadata={
        "description": "Stable id of this SMS (one per recipient and causing event). Every answer quotes it. "
                       "A gateway that sees an sms_id it already accepted answers sms_accepted again and does "
                       "not send a second SMS; when it holds that SMS's final delivery receipt it says that "
                       "sms_delivery_reported again, same id (notify asks this way for a receipt that is overdue)."})
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


class ReplyUnmatchedSchema(EventSchema):
    """An inbound SMS that acts on none of the assignments notify sent to its phone: dispatch, which holds
    the assignments, reads it against the truth (notify's records may be behind or lost) and either acts
    on it or says why not (reply_refused). The phone is the one the gateway says sent it."""

    phone = fields.String(required=True, validate=E164)
    action = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(REPLY_ACTIONS), metadata={
        "description": "The reply code's action; none when the text has no reply code."})
    number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20), metadata={
        "description": "The report number the reply names, canonical (upper case, look-alike letters as digits)."})
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    replied_at = fields.AwareDateTime(required=True)
    known = fields.String(load_default=None, allow_none=True, metadata={
        "description": "How notify's own records read it (shared.reply_matching), for the log."})
