"""Pure notification rules: who is told what, in Bahasa Indonesia, in one SMS segment."""
from __future__ import annotations

from typing import Any

from services.notify import sms
from shared.categories import CATEGORIES
from shared.envelope import Event, derived_id

ELLIPSIS = "..."


def place_text(report: dict[str, Any]) -> str:
    parts = [f"Kel. {report['village_name']}" if report.get("village_name") else None,
             f"RW {report['rw']:02d}" if report.get("rw") else None,
             report.get("address")]
    return ", ".join(p for p in parts if p) or "lokasi belum jelas"


def category_name(code: str) -> str:
    category = CATEGORIES.get(code) or CATEGORIES["other"]
    return category.name_id.capitalize()


def fit_one_segment(template: str, **values: str) -> str:
    """Render `template`, shortening its `{detail}` field so the whole text stays one segment.

    The detail (a description typed by a citizen) is what gives way; the facts an officer
    acts on (number, category, place, how to answer) are never cut.
    """
    values = {key: sms.transliterate(value) for key, value in values.items()}
    detail = values.pop("detail", "")
    text = sms.transliterate(template.format(detail=detail, **values))
    encoding, length, _ = sms.encode_info(text)
    limit = sms.single_segment_limit(encoding)
    while length > limit and detail:
        overflow = length - limit
        detail = detail[: max(len(detail) - overflow - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS
        if len(detail) <= len(ELLIPSIS):
            detail = ""
        text = template.format(detail=detail, **values)
        encoding, length, _ = sms.encode_info(text)
        limit = sms.single_segment_limit(encoding)
    return text


OFFICER_ASSIGNMENT = "SIAGA {priority} #{number} {category} di {place}. {detail} Balas: OK {number} / TOLAK {number}"
DUTY_DESK_ESCALATION = ("SIAGA ESKALASI {priority} #{number} {category} di {place}: tidak ada petugas wilayah "
                        "yang siap. Mohon piket menangani. {detail}")


def officer_assignment_sms(assignment: dict[str, Any], cause: Event) -> dict[str, Any]:
    report = assignment["report"]
    text = fit_one_segment(
        OFFICER_ASSIGNMENT, priority=report["priority"], number=report["number"],
        category=category_name(report["category"]), place=place_text(report), detail=report["description"],
    )
    return sms_request(cause, assignment["officer"]["phone"], text, "officer", report,
                       assignment_id=assignment["assignment_id"])


def duty_desk_escalation_sms(escalation: dict[str, Any], cause: Event) -> dict[str, Any] | None:
    desk = escalation.get("duty_desk")
    if not desk:
        return None
    report = escalation["report"]
    text = fit_one_segment(
        DUTY_DESK_ESCALATION, priority=report["priority"], number=report["number"],
        category=category_name(report["category"]), place=place_text(report), detail=report["description"],
    )
    return sms_request(cause, desk["phone"], text, "duty_desk", report)


def sms_request(cause: Event, to: str, text: str, role: str, report: dict[str, Any],
                assignment_id: str | None = None) -> dict[str, Any]:
    """One SMS per (recipient, causing event): the id is derived from both."""
    encoding, _, segments = sms.encode_info(text)
    return {
        "sms_id": derived_id(cause, "sms", to),
        "to": to,
        "text": text,
        "encoding": encoding,
        "segments": segments,
        "priority": report["priority"],
        "recipient_role": role,
        "report_id": report["report_id"],
        "assignment_id": assignment_id,
    }
