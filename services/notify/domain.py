"""Pure notification rules: who is told what, in Bahasa Indonesia, in one SMS segment."""
from __future__ import annotations

from typing import Any

from services.notify import sms
from shared.categories import CATEGORIES
from shared.envelope import Event, derived_id

ELLIPSIS = "..."


def place_text(report: dict[str, Any]) -> str:
    parts = [f"Kel. {report['village_name']}" if report.get("village_name") else None,
             f"RW {report['rw']:02d}" if report.get("rw") else None]
    return ", ".join(p for p in parts if p) or "lokasi belum jelas"


def address_text(report: dict[str, Any]) -> str:
    return f", {report['address']}" if report.get("address") else ""


def sentence(text: str) -> str:
    text = " ".join(text.split())
    return text + "." if text and text[-1] not in ".!?" else text


def category_name(code: str) -> str:
    name = (CATEGORIES.get(code) or CATEGORIES["other"]).name_id
    return name[0].upper() + name[1:]


def fit_one_segment(template: str, shrinkable: tuple[str, ...] = ("detail", "address"), **values: str) -> str:
    """Render `template`, shortening its free-text fields in order until the text is one segment.

    What a citizen typed gives way first, then the street address; the facts an officer acts on
    (number, category, village, RW, how to answer) are never cut.
    """
    values = {key: sms.transliterate(value) for key, value in values.items()}
    for field in shrinkable:
        while (excess := overflow(render(template, values))) > 0 and values[field]:
            values[field] = shorten(values[field], excess)
    return render(template, values)


def render(template: str, values: dict[str, str]) -> str:
    """Fill the template; a field left empty by shortening leaves no doubled space or dot behind."""
    return " ".join(template.format(**values).split()).replace("....", "...")


def overflow(text: str) -> int:
    encoding, length, _ = sms.encode_info(text)
    return length - sms.single_segment_limit(encoding)


def shorten(value: str, by: int) -> str:
    keep = len(value) - by - len(ELLIPSIS)
    return value[:keep].rstrip(" ,.") + ELLIPSIS if keep > len(ELLIPSIS) else ""


OFFICER_ASSIGNMENT = ("SIAGA {priority} #{number} {category} di {place}{address}. {detail} "
                      "Balas: OK {number} / TOLAK {number}")
DUTY_DESK_ESCALATION = ("SIAGA ESKALASI {priority} #{number} {category} di {place}{address}: tidak ada petugas "
                        "wilayah yang siap. Mohon piket menangani. {detail}")


def officer_assignment_sms(assignment: dict[str, Any], cause: Event) -> dict[str, Any]:
    report = assignment["report"]
    text = fit_one_segment(
        OFFICER_ASSIGNMENT, priority=report["priority"], number=report["number"],
        category=category_name(report["category"]), place=place_text(report), address=address_text(report),
        detail=sentence(report["description"]),
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
        category=category_name(report["category"]), place=place_text(report), address=address_text(report),
        detail=sentence(report["description"]),
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
