"""Who is told what: the SMS each event causes, and what notify remembers for later events.

No I/O here: handlers load what they need, call these functions and store/publish the result.
"""
from __future__ import annotations

from typing import Any

from services.notify import templates
from services.notify.spending import polsek_of
from services.notify.templates import Template
from services.notify.texts import (
    address_text,
    citizen_category,
    citizen_place,
    duty_category,
    local_time,
    officer_title,
    place_text,
    rejection_reasons_text,
    render,
    render_list,
    sentence,
)
from shared import sms
from shared.contract import ASSIGNMENT_ESCALATED
from shared.envelope import Event, derived_id
from shared.reply_matching import canonical_number

# ---------------------------------------------------------------------------------------------
# Who gets what. Each function returns the SMS messages (possibly none) an event causes.


def message(sms_id: str, to: str, template: Template, text: str, priority: str,
            report_id: str | None = None, assignment_id: str | None = None, village_code: str | None = None,
            **remembered: Any) -> dict[str, Any]:
    """One SMS to store and publish; `remembered` rides along in the stored record (what later events
    need), so that a fact costs one insert, not an SMS plus a side record. The Polsek of the report's
    village pays for it (none for an answer to an inbound SMS)."""
    encoding, _, segments = sms.encode_info(text)
    return {
        "sms_id": sms_id, "to": to, "text": text, "encoding": encoding, "segments": segments,
        "priority": priority, "recipient_role": template.role, "kind": template.name,
        "report_id": report_id, "assignment_id": assignment_id, "polsek": polsek_of(village_code), **remembered,
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
                    report_id=report["report_id"], village_code=report["place"].get("village_code"),
                    report=report_summary(report, report["number"]))]


def duplicate_reported_sms(duplicate: Event) -> list[dict[str, Any]]:
    report = duplicate.data
    phone = reporter_phone(report)
    if not phone:
        return []
    text = render(templates.REPORTER_DUPLICATE, original=report["original_number"],
                  time=local_time(report["received_at"], report["place"].get("village_code")))
    return [message(sms_id_for(duplicate, phone), phone, templates.REPORTER_DUPLICATE, text, report["priority"],
                    report_id=report["original_report_id"], village_code=report["place"].get("village_code"),
                    report=report_summary(report, report["original_number"]), correlationid=report["report_id"])]


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
                    village_code=report.get("village_code"),
                    answerable={"nrp": assignment["officer"]["nrp"], "number": report["number"],
                                "number_key": canonical_number(report["number"])})]


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
                    report_id=report["report_id"], village_code=report.get("village_code"),
                    digest_item=digest_item(report))]


def digest_item(report: dict[str, Any]) -> str:
    """How one escalation is named among others in a digest: `#A4B2C3 P1 Menteng`."""
    return " ".join(part for part in (f"#{report['number']}", report["priority"], report.get("village_name")) if part)


def digest_cause(held: list[dict[str, Any]]) -> Event:
    """A digest's cause: the first escalation it tells (each is told in one digest only)."""
    first = min(held, key=lambda sms_: (sms_["priority"], sms_["created_at"]))
    return Event(id=first["cause_id"], source="/siaga/dispatch", type=ASSIGNMENT_ESCALATED.name,
                 time=first["created_at"], data={}, correlationid=first.get("report_id"))


def duty_desk_digest_sms(phone: str, held: list[dict[str, Any]]) -> dict[str, Any]:
    """One SMS for the escalations held while a desk's window was open: P1 first, then as they came; one
    segment, the rest counted. One id per set of escalations, so a re-run after a crash sends the same."""
    ordered = sorted(held, key=lambda sms_: (sms_["priority"], sms_["created_at"]))
    text = render_list(templates.DUTY_DESK_DIGEST, [sms_["digest_item"] for sms_ in ordered], count=len(ordered))
    digest_id = derived_id("digest|" + "|".join(sorted(sms_["_id"] for sms_ in held)), "sms", phone)
    digest = message(digest_id, phone, templates.DUTY_DESK_DIGEST, text, ordered[0]["priority"],
                     grouped=[sms_["_id"] for sms_ in ordered])
    return digest | {"polsek": ordered[0].get("polsek")}


def reporter_update_sms(step: Event, followed: dict[str, Any] | None, template: Template) -> list[dict[str, Any]]:
    """An assignment step every reporter of the report (and of its duplicates) hears about."""
    if not followed or not followed.get("reporters"):
        return []
    data = step.data
    extra = {"outcome": data["outcome"]} if "{outcome}" in template.text else {}
    text = render(template, number=followed["number"], officer=officer_title(data["officer"]),
                  time=local_time(data["at"], followed["place"].get("village_code")), **extra)
    return [message(sms_id_for(step, phone), phone, template, text, followed.get("priority") or "P3",
                    report_id=data["report_id"], assignment_id=data["assignment_id"],
                    village_code=followed["place"].get("village_code"))
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
             "open": m["assignment_id"] not in closed, "ended": closed.get(m["assignment_id"]),
             "created_at": m.get("created_at")}
            for m in officer_sms]
