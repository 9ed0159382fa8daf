"""Pure notification rules: who is told what, in one SMS segment, and how a message is retried.

No I/O here: handlers load what they need, call these functions and store/publish the result.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from services.notify import replies, sms, templates
from services.notify.exceptions import TemplateDoesNotFit
from services.notify.templates import Template
from shared import wilayah
from shared.envelope import Event, derived_id, to_millisecond
from shared.phones import normalise_phone

ELLIPSIS = "..."
WORD_CUT_SLACK = 12  # characters given up to end a shortened text on a whole word

# ---------------------------------------------------------------------------------------------
# Text pieces


def place_text(place: dict[str, Any]) -> str:
    """`Kel. Menteng, RW 05` (a village code 1xxx is a kelurahan, 2xxx a desa)."""
    village = place.get("village_name")
    kind = "Desa" if (place.get("village_code") or "").rsplit(".", 1)[-1].startswith("2") else "Kel."
    parts = [f"{kind} {village}" if village else None, f"RW {place['rw']:02d}" if place.get("rw") else None]
    return ", ".join(p for p in parts if p) or "lokasi belum jelas"


def address_text(place: dict[str, Any]) -> str:
    return f", {place['address']}" if place.get("address") else ""


def sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text + "." if text and text[-1] not in ".!?" else text


def duty_category(code: str) -> str:
    return templates.DUTY_CATEGORY_NAMES.get(code, templates.DUTY_CATEGORY_NAMES["other"])


def citizen_category(code: str) -> str:
    return templates.CITIZEN_CATEGORY_NAMES.get(code, templates.CITIZEN_CATEGORY_NAMES["other"])


def citizen_place(place: dict[str, Any]) -> str:
    """`Kel. Menteng`: the reporter knows the street and the RW; the village confirms we understood."""
    return place_text({key: place.get(key) for key in ("village_code", "village_name")})


def officer_title(officer: dict[str, Any]) -> str:
    """Rank and name, once: rosters often already write the rank into the name."""
    name, rank = officer.get("name") or "", officer.get("rank") or ""
    return name if not rank or name.lower().startswith(rank.lower()) else f"{rank} {name}"


def local_time(at: datetime, village_code: str | None) -> str:
    """`14:05 WIB`: the clock of the province the report is in (WIB where the place is unknown)."""
    zone, hours = wilayah.time_zone(village_code or "")
    aware = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return f"{aware.astimezone(timezone(timedelta(hours=hours))):%H:%M} {zone}"


def rejection_reasons_text(reasons: dict[str, Any]) -> str:
    """`lokasi dan nomor telepon`: what a citizen calls the fields that were wrong, each once."""
    found: list[str] = []
    for path in _paths(reasons):
        head = next((part for part in path.split(".") if part in templates.REJECTION_FIELDS), None)
        word = templates.REJECTION_FIELDS[head] if head else templates.REJECTION_OTHER
        if word not in found:
            found.append(word)
    if not found:
        return templates.REJECTION_OTHER
    return found[0] if len(found) == 1 else ", ".join(found[:-1]) + " dan " + found[-1]


def _paths(reasons: Any, prefix: str = "") -> list[str]:
    if not isinstance(reasons, dict):
        return [prefix] if prefix else []
    return [path for key, value in reasons.items() for path in _paths(value, f"{prefix}.{key}" if prefix else key)]


# ---------------------------------------------------------------------------------------------
# Fitting a template into one segment


def render(template: Template, **values: Any) -> str:
    """Fill `template` as GSM-7 text in one segment, shortening its `shrinkable` fields in order.

    Raises TemplateDoesNotFit when even every shrinkable field emptied leaves more than one
    segment: a template bug, which the one-segment test catches before anyone reads it.
    """
    filled = {key: sms.gsm7_text(str(value)) for key, value in values.items()}
    text = _fill(template.text, filled)
    for field in template.shrinkable:
        while (excess := overflow(text)) > 0 and filled[field]:
            filled[field] = shorten(filled[field], excess)
            text = _fill(template.text, filled)
    if overflow(text) > 0:
        raise TemplateDoesNotFit(template.name, text)
    return text


def _fill(text: str, values: dict[str, str]) -> str:
    """A field emptied by shortening leaves no doubled space, dot or comma behind."""
    return " ".join(text.format(**values).split()).replace("....", "...").replace(" .", ".").replace(" ,", ",")


def overflow(text: str) -> int:
    encoding, length, _ = sms.encode_info(text)
    return length - sms.single_segment_limit(encoding)


def shorten(value: str, by: int) -> str:
    """`value` at least `by` characters shorter, ending in "..." after a whole word where one is near."""
    keep = len(value) - by - len(ELLIPSIS)
    if keep <= len(ELLIPSIS):
        return ""
    cut = value[:keep]
    space = cut.rfind(" ")
    if space > len(ELLIPSIS) and keep - space <= WORD_CUT_SLACK and not value[keep:keep + 1].isspace():
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + ELLIPSIS


# ---------------------------------------------------------------------------------------------
# Who gets what. Each function returns the SMS messages (possibly none) an event causes.


def message(sms_id: str, to: str, template: Template, text: str, priority: str,
            report_id: str | None = None, assignment_id: str | None = None, **remembered: Any) -> dict[str, Any]:
    """One SMS to store and publish; `remembered` rides along in the stored record (what later events
    need), so that a fact costs one insert, not an SMS plus a side record."""
    encoding, _, segments = sms.encode_info(text)
    return {
        "sms_id": sms_id, "to": to, "text": text, "encoding": encoding, "segments": segments,
        "priority": priority, "recipient_role": template.role, "kind": template.name,
        "report_id": report_id, "assignment_id": assignment_id, **remembered,
    }


def sms_id_for(cause: Event | str, to: str) -> str:
    """One SMS per (recipient, causing event): a redelivered cause yields the same id."""
    return derived_id(cause, "sms", to)


def reporter_phone(report: dict[str, Any]) -> str | None:
    """Whom to tell about a report: nobody when it is anonymous or came without a phone."""
    if report.get("anonymous"):
        return None
    return (report.get("reporter") or {}).get("phone") or None


def report_received_sms(received: Event) -> list[dict[str, Any]]:
    report = received.data
    phone = reporter_phone(report)
    if not phone:
        return []
    text = render(templates.REPORTER_RECEIVED, category=citizen_category(report["category"]),
                  place=citizen_place(report["place"]), number=report["number"],
                  time=local_time(report["received_at"], report["place"].get("village_code")))
    return [message(sms_id_for(received, phone), phone, templates.REPORTER_RECEIVED, text, report["priority"],
                    report_id=report["report_id"], report=report_summary(report, report["number"]))]


def duplicate_reported_sms(duplicate: Event) -> list[dict[str, Any]]:
    report = duplicate.data
    phone = reporter_phone(report)
    if not phone:
        return []
    text = render(templates.REPORTER_DUPLICATE, original=report["original_number"],
                  time=local_time(report["received_at"], report["place"].get("village_code")))
    return [message(sms_id_for(duplicate, phone), phone, templates.REPORTER_DUPLICATE, text, report["priority"],
                    report_id=report["original_report_id"], report=report_summary(report, report["original_number"]))]


def report_rejected_sms(rejected: Event) -> list[dict[str, Any]]:
    """One SMS per rejected upstream message, however often (or by which path) it is rejected."""
    phone = rejected.data.get("reporter_phone")
    if not phone:
        return []
    original = rejected.data["original"]
    text = render(templates.REPORTER_REJECTED, reasons=rejection_reasons_text(rejected.data["reasons"]))
    return [message(sms_id_for(f"{original['source']}|{original['id']}|rejected", phone),
                    phone, templates.REPORTER_REJECTED, text, "P4")]


def officer_assignment_sms(created: Event) -> list[dict[str, Any]]:
    """What, where, and how to answer; never who reported it."""
    assignment = created.data
    report = assignment["report"]
    text = render(templates.OFFICER_ASSIGNMENT, priority=report["priority"], number=report["number"],
                  category=duty_category(report["category"]), place=place_text(report),
                  address=address_text(report), detail=sentence(report["description"]))
    phone = assignment["officer"]["phone"]
    return [message(sms_id_for(created, phone), phone, templates.OFFICER_ASSIGNMENT, text, report["priority"],
                    report_id=report["report_id"], assignment_id=assignment["assignment_id"],
                    answerable={"nrp": assignment["officer"]["nrp"], "number": report["number"],
                                "number_key": replies.canonical_number(report["number"])})]


# dispatch's record of a cancellation leads the duty officer's reason with this, in English; the SMS drops it.
CANCELLED_REASON_LEAD = "report cancelled: "


def officer_report_cancelled_sms(declined: Event) -> list[dict[str, Any]]:
    """The officer on a report a duty officer cancelled learns to stand down; any other decline: nothing."""
    step = declined.data
    if not step.get("report_cancelled"):
        return []
    phone = step["officer"]["phone"]
    text = render(templates.OFFICER_REPORT_CANCELLED, number=step["number"],
                  cancel_reason=step["reason"].removeprefix(CANCELLED_REASON_LEAD))
    return [message(sms_id_for(declined, phone), phone, templates.OFFICER_REPORT_CANCELLED, text, "P2",
                    report_id=step["report_id"], assignment_id=step["assignment_id"])]


def duty_desk_escalation_sms(escalated: Event, declines: int = 0) -> list[dict[str, Any]]:
    """The Polsek duty desk takes over; it also learns how many officers declined or never answered."""
    escalation = escalated.data
    desk = escalation.get("duty_desk")
    if not desk:
        return []
    report = escalation["report"]
    template = templates.DUTY_DESK_DECLINES if declines >= 1 else templates.DUTY_DESK_ESCALATION
    text = render(template, priority=report["priority"], number=report["number"],
                  category=duty_category(report["category"]), place=place_text(report),
                  address=address_text(report), detail=sentence(report["description"]), declines=declines)
    return [message(sms_id_for(escalated, desk["phone"]), desk["phone"], template, text, report["priority"],
                    report_id=report["report_id"])]


def reporter_update_sms(step: Event, followed: dict[str, Any] | None, template: Template) -> list[dict[str, Any]]:
    """An assignment step every reporter of the report (and of its duplicates) hears about."""
    if not followed or not followed.get("reporters"):
        return []
    data = step.data
    text = render(template, number=followed["number"], officer=officer_title(data["officer"]),
                  time=local_time(data["at"], followed["place"].get("village_code")))
    return [message(sms_id_for(step, phone), phone, template, text, followed.get("priority") or "P3",
                    report_id=data["report_id"], assignment_id=data["assignment_id"])
            for phone in followed["reporters"]]


# ---------------------------------------------------------------------------------------------
# What notify remembers per report and per assignment: carried by the SMS records themselves

# The SMS whose recipients follow a report: its own reporter's, and its duplicates' reporters'.
FOLLOWING_KINDS = (templates.REPORTER_RECEIVED.name, templates.REPORTER_DUPLICATE.name)


def report_summary(report: dict[str, Any], number: str) -> dict[str, Any]:
    """What later steps need to tell a report's reporters, without asking `reports`."""
    return {"number": number, "priority": report["priority"],
            "place": {key: report["place"].get(key) for key in ("village_code", "village_name", "rw")}}


def followed(first_sms: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The report's summary and its reporters, from the first SMS each reporter got about it.
    The report's own summary wins over a duplicate's (its place is the report's place)."""
    if not first_sms:
        return None
    own = [m for m in first_sms if m.get("kind") == templates.REPORTER_RECEIVED.name]
    summary = (own or first_sms)[0].get("report")
    if not summary:
        return None
    return summary | {"reporters": list(dict.fromkeys(m["to"] for m in first_sms))}


def reply_candidates(officer_sms: list[dict[str, Any]], closed: dict[str, str]) -> list[dict[str, Any]]:
    """The assignments a phone may answer (newest first), from the assignment SMS it was sent;
    `closed` maps the ones that ended to why."""
    return [{"_id": m["assignment_id"], "phone": m["to"], "report_id": m.get("report_id"), **m["answerable"],
             "open": m["assignment_id"] not in closed, "closed": closed.get(m["assignment_id"]),
             "created_at": m.get("created_at")}
            for m in officer_sms]


# ---------------------------------------------------------------------------------------------
# Officer replies


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


# ---------------------------------------------------------------------------------------------
# Sending: the gateway must accept each SMS; otherwise retry with backoff, then give up loudly

REQUESTED = "requested"  # published, waiting for the gateway to accept or refuse
RETRYING = "retrying"  # refused for now or unanswered: published again at next_attempt_at
FAILING = "failing"  # given up; sms_failed to be published (the timer republishes after a crash)
FAILED = "failed"
SENT = "sent"  # accepted by the gateway
DELIVERY_STATES = ("delivered", "undelivered", "expired", "rejected", "unknown")
UNREACHED = ("undelivered", "expired", "rejected")  # the recipient never got it
WAITING = (REQUESTED, RETRYING, FAILING)


@dataclass(frozen=True)
class SendPolicy:
    answer_timeout: float = 30.0  # seconds for the gateway to accept or refuse before a retry
    max_attempts: int = 5
    backoff_base: float = 5.0
    backoff_max: float = 300.0
    retry_poll: float = 1.0
    help_interval: float = 600.0

    @classmethod
    def from_config(cls, settings: dict[str, Any] | None) -> "SendPolicy":
        settings = settings or {}
        fields = {"answer_timeout": "ANSWER_TIMEOUT", "max_attempts": "MAX_ATTEMPTS", "backoff_base": "BACKOFF_BASE",
                  "backoff_max": "BACKOFF_MAX", "retry_poll": "RETRY_POLL", "help_interval": "HELP_INTERVAL"}
        defaults = cls()
        return cls(**{name: type(getattr(defaults, name))(settings.get(key, getattr(defaults, name)))
                      for name, key in fields.items()})


def retry_delay(attempt: int, policy: SendPolicy, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: base·2^(attempt-1), capped, then a random 50-100% of it.

    The jitter spreads the retries of many messages refused at once (a gateway outage).
    """
    ceiling = min(policy.backoff_max, policy.backoff_base * 2 ** (attempt - 1))
    return ceiling * (0.5 + rand() / 2)


def new_outgoing(message: dict[str, Any], now: datetime, policy: SendPolicy) -> dict[str, Any]:
    """The stored SMS, about to be published as attempt 1."""
    return {"_id": message["sms_id"], **message, "state": REQUESTED, "attempt": 1, "created_at": now,
            "requested_at": now, "next_attempt_at": now + timedelta(seconds=policy.answer_timeout)}


def after_no_success(attempt: int, now: datetime, policy: SendPolicy, reason: str,
                     rand: Callable[[], float] = random.random) -> dict[str, Any]:
    """The fields to set when an attempt was refused for now or not answered: retry later, or give up."""
    if attempt >= policy.max_attempts:
        return {"state": FAILING, "next_attempt_at": now, "failure": f"{reason} (after {attempt} attempts)"}
    return {"state": RETRYING, "next_attempt_at": now + timedelta(seconds=retry_delay(attempt, policy, rand)),
            "last_refusal": reason}


def next_attempt(attempt: int, now: datetime, policy: SendPolicy) -> dict[str, Any]:
    return {"state": REQUESTED, "attempt": attempt + 1, "requested_at": now,
            "next_attempt_at": now + timedelta(seconds=policy.answer_timeout)}


def sms_requested_data(stored: dict[str, Any]) -> dict[str, Any]:
    keys = ("sms_id", "to", "text", "encoding", "segments", "priority", "recipient_role", "kind",
            "report_id", "assignment_id", "attempt")
    return {key: stored.get(key) for key in keys}


def sms_requested_id(stored: dict[str, Any]) -> str:
    """Attempt n of one SMS always has the same event id, so gateways can drop a republished one."""
    return derived_id(f"sms|{stored['_id']}", "sms_requested", str(stored["attempt"]))


def sms_failed_data(stored: dict[str, Any]) -> dict[str, Any]:
    return {"sms_id": stored["_id"], "to": stored["to"], "recipient_role": stored["recipient_role"],
            "kind": stored.get("kind"), "report_id": stored.get("report_id"),
            "assignment_id": stored.get("assignment_id"), "attempts": stored["attempt"],
            "reason": stored.get("failure") or "failed"}


def sms_failed_id(stored: dict[str, Any]) -> str:
    return derived_id(f"sms|{stored['_id']}", "sms_failed")


def after_delivery(status: str, now: datetime) -> dict[str, Any]:
    """A receipt saying the phone never got it is a failure like a refusal: the recipient is unreachable."""
    if status in UNREACHED:
        return {"state": FAILING, "next_attempt_at": now, "failure": f"not delivered: {status}"}
    return {"state": status}


def after_refusal(attempt: int, refusal: dict[str, Any], now: datetime, policy: SendPolicy,
                  rand: Callable[[], float] = random.random) -> dict[str, Any]:
    if not refusal["temporary"]:
        return {"state": FAILING, "next_attempt_at": now, "failure": f"refused by the gateway: {refusal['reason']}"}
    return after_no_success(attempt, now, policy, f"refused for now: {refusal['reason']}", rand)


def due_step(stored: dict[str, Any], now: datetime, policy: SendPolicy,
             rand: Callable[[], float] = random.random) -> dict[str, Any]:
    """What the retry timer does with an SMS whose `next_attempt_at` has come."""
    if stored["state"] == REQUESTED:  # the gateway never answered this attempt
        return after_no_success(stored["attempt"], now, policy,
                                f"no answer from the gateway within {policy.answer_timeout:g}s", rand)
    if stored["state"] == RETRYING:
        return next_attempt(stored["attempt"], now, policy)
    return {"state": FAILED, "failed_at": now}


def sender_phone(raw: str) -> str | None:
    """The E.164 number an inbound SMS came from, or None when it is no phone number (a short code, a name)."""
    try:
        return normalise_phone(raw)
    except ValueError:
        return None
