"""Pure intake rules: categories, priorities, phone numbers, places. No I/O."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared import wilayah
from shared.categories import categorise
from shared.envelope import Event, derived_id
from shared.phones import normalise_phone


def report_id_for(incident: Event) -> str:
    """The same upstream message always becomes the same report."""
    return derived_id(incident, "report")


def report_number(report_id: str) -> str:
    """Short code people read out and type in SMS replies."""
    return report_id.replace("-", "")[:6].upper()


def rejection_reasons(data: dict[str, Any]) -> dict[str, str]:
    """Reasons the schema cannot see: facts checked against reference data."""
    reasons: dict[str, str] = {}
    village = data["location"].get("village_code")
    if village and not wilayah.village_exists(village):
        reasons["location.village_code"] = f"{village} is not a Kemendagri village code"
    phone = (data.get("reporter") or {}).get("phone")
    if phone:
        try:
            normalise_phone(phone)
        except ValueError as exc:
            reasons["reporter.phone"] = str(exc)
    return reasons


def new_report(incident: Event, now: datetime) -> dict[str, Any]:
    """The stored report for a valid incident (the caller has checked `rejection_reasons`)."""
    data = incident.data
    category = categorise(data["category"])
    location = data["location"]
    reporter = data.get("reporter") or {"anonymous": True}
    anonymous = bool(reporter.get("anonymous"))
    report_id = report_id_for(incident)
    return {
        "_id": report_id,
        "number": report_number(report_id),
        "origin": {"source": incident.source, "id": incident.id},
        "source_kind": data["source_kind"],
        "category": category.code,
        "priority": category.priority,
        "skills": list(category.skills),
        "description": data["description"],
        "place": {
            "lat": location.get("lat"),
            "lon": location.get("lon"),
            "village_code": location.get("village_code"),
            "village_name": wilayah.village_name(location["village_code"]) if location.get("village_code") else None,
            "rw": location.get("rw"),
            "address": location.get("address"),
        },
        "anonymous": anonymous,
        "reporter": None if anonymous else {
            "name": reporter.get("name"),
            "phone": normalise_phone(reporter["phone"]) if reporter.get("phone") else None,
        },
        "occurred_at": data.get("occurred_at"),
        "received_at": now,
        "status": "received",
        "history": [{"status": "received", "at": now}],
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


def rejection(source: str, id: str, reasons: dict[str, Any], data: Any) -> dict[str, Any]:
    return {"original": {"source": source, "id": id}, "reasons": reasons, "reporter_phone": reporter_phone(data)}


def received_event_data(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "report_id": report["_id"],
        "received_at": report["received_at"],
        **{key: report[key] for key in (
            "number", "source_kind", "category", "priority", "skills", "description",
            "place", "anonymous", "reporter",
        )},
    }
