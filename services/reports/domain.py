"""Intake's pure rules: validation with reasons, the stored report, the review of a held one. No I/O.

Near-duplicates are in `dedup`, what dispatch's events do to a report in `lifecycle`, a console's
cancellation in `cancellation`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from marshmallow import ValidationError

from services.reports import reasons as why
from services.reports.dedup import index_keys
from services.reports.lifecycle import transition
from services.reports.schemas import DETAILS_SCHEMAS
from services.reports.settings import IntakeSettings
from shared import wilayah
from shared.categories import categorise
from shared.envelope import Event, derived_id
from shared.events import PRIORITIES
from shared.events.intake import IncidentReportedSchema
from shared.lifecycle import CANCELLED, NEEDS_REVIEW, RECEIVED
from shared.phones import normalise_phone

# --- Validation ---------------------------------------------------------------------------------


def report_id_for(incident: Event) -> str:
    """The same upstream message always becomes the same report."""
    return report_id_of(incident.source, incident.id)


def report_id_of(source: str, origin_id: str) -> str:
    """report_id_for the message `origin_id` from `source`, without the message."""
    return derived_id(f"{source}|{origin_id}", "report")


def report_number(report_id: str) -> str:
    """Short code people read out and type in SMS replies."""
    return report_id.replace("-", "")[:6].upper()


def rejection_reasons(data: dict[str, Any], rules: IntakeSettings, now: datetime) -> dict[str, why.Explanation]:
    """Every reason the envelope schema cannot see: per-source details, reference data, time, phones.

    Tolerates partial data (what passed the schema of an incident that failed it), so a sender
    whose message broke the schema still learns every other reason at once.
    """
    reasons: dict[str, why.Explanation] = {}
    if data.get("source_kind") in DETAILS_SCHEMAS:
        details_schema = DETAILS_SCHEMAS[data["source_kind"]]()
        reasons.update(why.explain_messages(details_schema.validate(data.get("details") or {}), "details"))
    village = (data.get("location") or {}).get("village_code")
    if village and not wilayah.village_exists(village):
        reasons["location.village_code"] = why.unknown_village(village)
    occurred_at = data.get("occurred_at")
    if occurred_at and occurred_at > now + rules.max_clock_skew:
        reasons["occurred_at"] = why.in_the_future(int(rules.max_clock_skew.total_seconds() // 60))
    for path, phone in _phones(data):
        try:
            normalise_phone(phone)
        except ValueError as exc:
            reasons[path] = why.invalid_phone(str(exc))
    return reasons


def every_reason(raw: Any, rules: IntakeSettings, now: datetime) -> dict[str, why.Explanation]:
    """The schema's reasons for raw incident data plus intake's own on whatever part of it is valid."""
    if not isinstance(raw, dict):
        return why.explain_messages({"data": ["Invalid input type."]})
    try:
        return rejection_reasons(IncidentReportedSchema().load(raw), rules, now)
    except ValidationError as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return why.explain_messages(exc.messages) | rejection_reasons(valid, rules, now)


def _phones(data: dict[str, Any]) -> Iterable[tuple[str, str]]:
    reporter = data.get("reporter") or {}
    if isinstance(reporter.get("phone"), str) and reporter["phone"].strip():
        yield "reporter.phone", reporter["phone"]
    details = data.get("details") or {}
    for key in ("caller_number", "guard_phone"):
        if isinstance(details.get(key), str) and details[key].strip():
            yield f"details.{key}", details[key]


def rejection(source: str, id: str, explanations: dict[str, why.Explanation], data: Any) -> dict[str, Any]:
    """report_rejected data: `reasons` in English (field → message), `explanations` in both languages."""
    return {
        "original": {"source": source, "id": id},
        "reasons": {path: text["en"] for path, text in explanations.items()},
        "explanations": explanations,
        "reporter_phone": reporter_phone(data),
    }


def dead_letter_rejection(source: str, id: str, dead_letter_reasons: dict[str, Any], data: Any,
                          rules: IntakeSettings, now: datetime) -> dict[str, Any]:
    """A message that could not be taken: `reasons` as the dead letter has them; `explanations` add,
    for a schema violation of `data`, every reason intake finds in the rest of it."""
    explanations = why.explain_dead_letter(dead_letter_reasons)
    if set(dead_letter_reasons) == {"data"}:
        explanations = every_reason(data, rules, now) | explanations
    return {
        "original": {"source": source, "id": id},
        "reasons": dead_letter_reasons,
        "explanations": explanations,
        "reporter_phone": reporter_phone(data),
    }


def reporter_phone(data: Any) -> str | None:
    """The phone a rejection can be sent to: only a valid one, and never for an anonymous report."""
    reporter = data.get("reporter") if isinstance(data, dict) else None
    if not isinstance(reporter, dict) or reporter.get("anonymous") is True:
        return None
    if not isinstance(reporter.get("phone"), str):
        return None
    try:
        return normalise_phone(reporter["phone"])
    except ValueError:
        return None


# --- The stored report --------------------------------------------------------------------------


def new_report(incident: Event, rules: IntakeSettings, now: datetime,
               located: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored report for a valid incident (the caller has checked `rejection_reasons`); `located`:
    the village intake found for it (`places.locate`), which wins over the location's own code."""
    data = incident.data
    kind = data["source_kind"]
    details = DETAILS_SCHEMAS[kind]().load(data.get("details") or {})
    category = categorise(data["category"])
    location = data["location"]
    reporter = _reporter(data, details)
    priority, status = _priority_and_status(kind, details, category.priority, rules)
    report_id = report_id_for(incident)
    located = located if located is not None else {"village_code": location.get("village_code")}
    village = located.get("village_code")
    place = {
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "village_code": village,
        "village_name": wilayah.village_name(village) if village else None,
        "rw": location.get("rw"),
        "address": location.get("address"),
    } | {key: value for key, value in located.items() if key != "village_code"}
    return {
        "_id": report_id,
        "number": report_number(report_id),
        "origin": {"source": incident.source, "id": incident.id},
        "source_kind": kind,
        "source_details": _normalised_details(details),
        "category": category.code,
        "priority": priority,
        "skills": list(category.skills),
        "description": data["description"],
        "place": place,
        "anonymous": reporter is None,
        "reporter": reporter,
        "reporting_officer_nrp": details.get("officer_nrp"),
        "occurred_at": data.get("occurred_at"),
        "received_at": now,
        "updated_at": now,
        "status": status,
        "intake_status": status,  # what intake decided; a redelivery republishes exactly that
        "history": [transition(status, now)],
        "dedup_keys": index_keys(category.code, place, now, rules.window_for(category.code)),
        "duplicate_count": 0,
        "duplicates": [],
        "assignments": {},
    }


def _reporter(data: dict[str, Any], details: dict[str, Any]) -> dict[str, Any] | None:
    """Who can be told what happened: None when anonymous. A 110 caller's number counts as theirs."""
    reporter = data.get("reporter") or {"anonymous": True}
    if reporter.get("anonymous"):
        return None
    phone = reporter.get("phone") or details.get("caller_number") or details.get("guard_phone")
    name = reporter.get("name") or details.get("guard_on_duty") or _open311_name(details)
    if not phone and not name:
        return None
    return {"name": name, "phone": normalise_phone(phone) if phone else None}


def _open311_name(details: dict[str, Any]) -> str | None:
    name = " ".join(part for part in (details.get("first_name"), details.get("last_name")) if part)
    return name or None


def _priority_and_status(kind: str, details: dict[str, Any], default: str, rules: IntakeSettings) -> tuple[str, str]:
    """A 110 operator may set the priority; a CCTV guess is lowered, or held for a person below the floor."""
    if kind == "hotline_110" and details.get("priority"):
        return details["priority"], RECEIVED
    if kind == "cctv":
        confidence = details["confidence"]
        if confidence < rules.cctv_review_floor:
            return lower_priority(default), NEEDS_REVIEW
        if confidence < rules.cctv_low_confidence:
            return lower_priority(default), RECEIVED
    return default, RECEIVED


def lower_priority(priority: str) -> str:
    return PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]


def _normalised_details(details: dict[str, Any]) -> dict[str, Any]:
    normal = {key: value for key, value in details.items() if value not in (None, [], {})}
    for key in ("caller_number", "guard_phone"):
        if normal.get(key):
            normal[key] = normalise_phone(normal[key])
    return normal


def received_event_data(report: dict[str, Any]) -> dict[str, Any]:
    """report_received: only fields fixed at intake, so a republish is byte-for-byte the same fact."""
    return {
        "report_id": report["_id"],
        **{key: report.get(key) for key in (
            "number", "source_kind", "category", "priority", "skills", "description",
            "place", "anonymous", "reporter", "received_at", "occurred_at", "reporting_officer_nrp",
        )},
    }


# --- Review of held reports (CCTV below the floor) ----------------------------------------------

REVIEW_DECISIONS = ("dispatch", "dismiss")


def reviewed(report: dict[str, Any], decision: str, reviewer: str, note: str | None, now: datetime) -> dict[str, Any]:
    """The fields of a held report a person looked at: dispatch it, or dismiss it (cancelled)."""
    status = RECEIVED if decision == "dispatch" else CANCELLED
    return {
        "status": status,
        "updated_at": now,
        "review": {"decision": decision, "by": reviewer, "note": note, "at": now},
        "history": report["history"] + [transition(status, now)],
    }


def received_event_id(report: dict[str, Any]) -> str:
    """The id report_received had when it was first said: a sweep says it again under the same id."""
    if report.get("review"):
        return review_event_id(report["_id"])
    return derived_id(f"{report['origin']['source']}|{report['origin']['id']}", "report_received")


def review_event_id(report_id: str) -> str:
    """report_received for a reviewed report has no cause event: its id derives from the report."""
    return derived_id(f"/siaga/reports|{report_id}", "report_received", "review")
