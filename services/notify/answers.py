"""An inbound SMS: which of the sender's assignments it answers, or what short help goes back."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notify import replies, templates
from services.notify.domain import message, sms_id_for
from services.notify.settings import SendPolicy
from services.notify.templates import Template
from services.notify.texts import render
from shared import reply_matching
from shared.envelope import to_millisecond
from shared.phones import normalise_phone


def reply_answer(text: str, assignments: list[dict[str, Any]], phone: str, at: datetime) -> dict[str, Any]:
    """What an inbound SMS is answered with, to be stored: officer_replied data when it acts on one of
    the assignments notify sent to this phone (open and closed, newest first), otherwise the question
    for dispatch (reply_unmatched), which holds the assignments and decides what the phone is told."""
    parsed = replies.parse_reply(text, {a["number_key"] for a in assignments})
    match = reply_matching.match_reply(parsed.action, parsed.number, assignments)
    if match.assignment is not None:
        assignment = match.assignment
        return {"replied": {"nrp": assignment["nrp"], "phone": phone, "assignment_id": assignment["_id"],
                            "action": parsed.action, "text": parsed.text, "replied_at": to_millisecond(at)},
                "report_id": assignment["report_id"]}
    return {"unmatched": {"phone": phone, "action": parsed.action, "number": parsed.number, "text": parsed.text,
                          "replied_at": to_millisecond(at), "known": match.refusal}}


def refusal_help(refused: dict[str, Any], at: datetime, policy: SendPolicy) -> dict[str, Any]:
    """The short SMS a reply that acted on nothing gets, from dispatch's reading of it.

    An unknown number is answered neutrally at most once a day, never with an officer's wording;
    an officer at most once per kind per help interval, listing only the tasks still open."""
    reason, phone, numbers = refused["reason"], refused["phone"], refused["open_numbers"]
    if reason == reply_matching.STRANGER:
        return help_sms(templates.STRANGER_HELP, {}, phone, at, policy.stranger_interval)
    if reason == reply_matching.FINISHED:
        return help_sms(templates.OFFICER_REPLY_DONE, {"number": refused["number"]}, phone, at,
                        policy.help_interval)
    if reason == reply_matching.NOT_YOURS:
        return help_sms(templates.OFFICER_REPLY_NOT_YOURS, {"number": refused["number"]}, phone, at,
                        policy.help_interval)
    if not numbers:
        return help_sms(templates.OFFICER_NO_TASKS, {}, phone, at, policy.help_interval)
    code = replies.REPLY_CODES[refused["action"]][0] if refused.get("action") else "OK"
    if reason == reply_matching.WHICH:
        return help_sms(templates.OFFICER_REPLY_WHICH, {
            "count": len(numbers), "numbers": ", ".join(numbers), "code": code, "number": numbers[0]},
            phone, at, policy.help_interval)
    return help_sms(templates.OFFICER_REPLY_HELP, {"numbers": ", ".join(numbers), "number": numbers[0]},
                    phone, at, policy.help_interval)


def help_sms(template: Template, values: dict[str, Any], phone: str, at: datetime, interval_s: float) -> dict[str, Any]:
    """At most one help text per sender and kind per interval: an auto-responder cannot start a ping-pong."""
    bucket = int(at.timestamp() // interval_s) if interval_s > 0 else at.isoformat()
    text = render(template, **values)
    return message(sms_id_for(f"help|{phone}|{template.name}|{bucket}", phone), phone, template, text, "P4")


def sender_phone(raw: str) -> str | None:
    """The E.164 number an inbound SMS came from, or None when it is no phone number (a short code, a name)."""
    try:
        return normalise_phone(raw)
    except ValueError:
        return None
