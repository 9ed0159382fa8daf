"""Factories for the reports service: an incident as each kind of source sends it, dispatch's steps at a time."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from testkit.events import (
    create_assignment_created,
    create_assignment_escalated,
    create_incident,
    create_report_received,
    create_step,
)

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


def create_source_incident(kind: str, *, details: dict | None = None, data: dict | None = None,
                           **overrides: Any) -> dict:
    """An incident_reported envelope as a `kind` source sends it; `details` replaces the source's own."""
    source = SOURCES[kind]
    payload = {"source_kind": kind, "details": source["details"] if details is None else details} | (data or {})
    if "reporter" in overrides:
        payload["reporter"] = overrides.pop("reporter")
    return create_incident(source=source["source"], data=payload, **overrides)


def dispatch_event_at(event_type: str, report_id: str, assignment_id: str, at: datetime, **data: Any) -> dict:
    """Dispatch's assignment_* event for report `report_id`, stamped `at`: the order reports sees them in."""
    received = create_report_received(report_id)
    if event_type == "assignment_escalated":
        return create_assignment_escalated(received, duty_desk=None, time=at.isoformat())
    created = create_assignment_created(received, data={"assignment_id": assignment_id, "ack_deadline": at},
                                        time=at.isoformat())
    if event_type == "assignment_created":
        return created
    return create_step(event_type.removeprefix("assignment_"), created, data={"at": at} | data, via="sms",
                       time=at.isoformat())
