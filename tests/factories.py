"""Fixture factories: realistic messages with any field overridden."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from shared.config import PROJECT_ROOT

DEMO_ROSTER = Path(PROJECT_ROOT, "services", "dispatch", "demo_roster.json")


def of_type(event_type: str, **data: Any) -> Callable[[dict], bool]:
    return lambda body: body.get("type") == event_type and all(body["data"].get(k) == v for k, v in data.items())


def create_incident(**overrides: Any) -> dict:
    """An `incident_reported` envelope as a citizen app sends it; override any top-level or data key."""
    data = {
        "source_kind": "citizen_app",
        "category": "laka lantas",
        "description": "Tabrakan motor dan mobil, satu orang luka",
        "location": {"lat": -6.1966, "lon": 106.8322, "village_code": "31.71.06.1001", "rw": 5,
                     "address": "Jl. HOS Cokroaminoto 12"},
        "reporter": {"name": "Budi Santoso", "phone": "0812-9999-1234", "anonymous": False},
    } | overrides.pop("data", {})
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/citizen-app/android",
        "type": "incident_reported",
        "time": datetime.now(timezone.utc).isoformat(),
        "data": data,
    } | overrides
