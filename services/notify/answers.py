"""An inbound SMS: which of the sender's assignments it answers, or what short help goes back."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notify import replies, templates
from services.notify.domain import message, sms_id_for
from services.notify.templates import Template
from services.notify.texts import render
from shared.envelope import Event, to_millisecond
from shared.phones import normalise_phone


@dataclass(frozen=True)
class ReplyOutcome:
    """Either a reply for dispatch (`assignment`), or a help text for the sender, or both None."""

    assignment: dict[str, Any] | None = None
    action: str | None = None
    text: str | None = None
    help: Template | None = None
    help_values: dict[str, Any] | None = None


def resolve_reply(text: str, assignments: list[dict[str, Any]]) -> ReplyOutcome:
    """Which of the sender's assignments an inbound SMS answers, or what help to send back.

    `assignments` are those notify knows for the sender's phone (open and closed): only the
    assigned officer's phone can act, and only on an open assignment.
    """
    open_ones = [a for a in assignments if a.get("open")]
    example = open_ones[0]["number"] if open_ones else (assignments[0]["number"] if assignments else "A1B2C3")
    parsed = replies.parse_reply(text, {a["number_key"] for a in assignments})
    if parsed.action is None:
        if not assignments:
            return ReplyOutcome(help=templates.STRANGER_HELP, help_values={})
        return ReplyOutcome(help=templates.OFFICER_REPLY_HELP, help_values={"number": example})
    if parsed.number is None:
        if len(open_ones) == 1:
            return ReplyOutcome(assignment=open_ones[0], action=parsed.action, text=parsed.text)
        if not open_ones:
            return ReplyOutcome(help=templates.OFFICER_REPLY_HELP, help_values={"number": example})
        return ReplyOutcome(help=templates.OFFICER_REPLY_WHICH, help_values={
            "count": len(open_ones), "numbers": ", ".join(a["number"] for a in open_ones),
            "code": replies.REPLY_CODES[parsed.action][0], "number": example})
    match = next((a for a in open_ones if a["number_key"] == parsed.number), None)
    if match is None:
        return ReplyOutcome(help=templates.OFFICER_REPLY_NOT_YOURS, help_values={"number": parsed.number})
    return ReplyOutcome(assignment=match, action=parsed.action, text=parsed.text)


def reply_answer(outcome: ReplyOutcome, inbound: Event, phone: str, at: datetime,
                 help_interval_s: float) -> dict[str, Any]:
    """What an inbound SMS is answered with, to be stored: officer_replied data, or a help SMS."""
    if outcome.assignment is None:
        return {"help": help_sms(outcome, inbound, phone, at, help_interval_s)}
    replied = officer_replied_data(outcome, phone, to_millisecond(at))
    return {"replied": replied, "report_id": outcome.assignment["report_id"]}


def officer_replied_data(outcome: ReplyOutcome, phone: str, at: datetime) -> dict[str, Any]:
    assignment = outcome.assignment
    return {"nrp": assignment["nrp"], "phone": phone, "assignment_id": assignment["_id"],
            "action": outcome.action, "text": outcome.text, "replied_at": at}


def help_sms(outcome: ReplyOutcome, inbound: Event, phone: str, at: datetime, interval_s: float) -> dict[str, Any]:
    """At most one help text per sender and kind per interval: an auto-responder cannot start a ping-pong."""
    bucket = int(at.timestamp() // interval_s) if interval_s > 0 else inbound.id
    text = render(outcome.help, **outcome.help_values)
    return message(sms_id_for(f"help|{phone}|{outcome.help.name}|{bucket}", phone), phone, outcome.help, text, "P4")


def sender_phone(raw: str) -> str | None:
    """The E.164 number an inbound SMS came from, or None when it is no phone number (a short code, a name)."""
    try:
        return normalise_phone(raw)
    except ValueError:
        return None
