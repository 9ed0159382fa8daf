"""Factories for the reports service: an incident as each kind of source sends it, dispatch's steps."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from tests.factories import create_incident, eventually

SOURCES: dict[str, dict[str, Any]] = {
    "citizen_app": {"source": "/citizen-app/android",
                    "details": {"media": ["https://media.example.id/laka-1.jpg"]}},
    "hotline_110": {"source": "/hotline-110/jakarta-pusat",
                    "details": {"operator_id": "OP-17", "call_id": "110-20261123-0042",
                                "caller_number": "0813-8888-4321", "priority": "P1"}},
    "cctv": {"source": "/cctv/menteng-analytics",
             "details": {"camera_id": "KS-03", "label": "vehicle_collision", "confidence": 0.93}},
    "siskamling": {"source": "/siskamling/gondangdia-pos-2",
                   "details": {"post_id": "POS-2", "guard_on_duty": "Pak Slamet", "guard_phone": "0857-7777-2020"}},
    "patrol": {"source": "/officer-app/90120344", "details": {"officer_nrp": "90120344"}},
    "open311": {"source": "/open311/kota-app", "details": {"service_code": "traffic_accident", "client": "kota-app"}},
}

OFFICER = {"nrp": "90120344", "name": "Rizky Pratama", "rank": "Bripda", "role": "polisi_rw",
           "phone": "+6281210000001"}


def create_source_incident(kind: str, *, details: dict | None = None, data: dict | None = None,
                           **overrides: Any) -> dict:
    """An incident_reported envelope as a `kind` source sends it; `details` replaces the source's own."""
    source = SOURCES[kind]
    payload = {"source_kind": kind, "details": source["details"] if details is None else details} | (data or {})
    if "reporter" in overrides:
        payload["reporter"] = overrides.pop("reporter")
    return create_incident(source=source["source"], data=payload, **overrides)


def create_step(event_type: str, report_id: str, assignment_id: str, at: datetime, **data: Any) -> dict:
    """A dispatch assignment_* envelope for report `report_id` (created/escalated in their own shapes)."""
    if event_type == "assignment_created":
        body = {"assignment_id": assignment_id, "officer": OFFICER, "rule": "area_polisi_rw",
                "reason": "Polisi RW of the report's RW", "skipped": [], "ack_deadline": at.isoformat(),
                "report": _summary(report_id)}
    elif event_type == "assignment_escalated":
        body = {"report": _summary(report_id), "polsek": "31.71.06", "duty_desk": None,
                "reason": "nobody acknowledged", "skipped": []}
    else:
        body = {"assignment_id": assignment_id, "report_id": report_id, "number": "ABC123", "officer": OFFICER,
                "at": at.isoformat(), "via": "sms"}
        body |= {"assignment_declined": {"reason": "sedang sakit"},
                 "assignment_completed": {"outcome": "korban dibawa ke RS"},
                 "assignment_expired": {"attempt": 1, "reason": "no acknowledgement"}}.get(event_type, {})
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/siaga/dispatch", "type": event_type,
            "time": at.astimezone(timezone.utc).isoformat(), "correlationid": report_id, "data": body | data}


def _summary(report_id: str) -> dict:
    return {"report_id": report_id, "number": "ABC123", "category": "traffic_accident", "priority": "P1",
            "description": "Tabrakan", "village_code": "31.71.06.1001", "village_name": "Menteng", "rw": 5,
            "address": None}


def wait_until(read: Callable[[], Any], predicate: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    """Poll what a console would read (the database) until it exists and `predicate` holds, with a deadline."""
    return eventually(read, lambda value: value is not None and predicate(value), timeout)
