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


def eventually(read: Callable[[], Any], holds: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    """Poll until `holds(read())`, with a deadline: for a write that has no event to wait on."""
    import time

    deadline = time.monotonic() + timeout
    while not holds(value := read()):
        assert time.monotonic() < deadline, f"never held within {timeout}s; last value {value!r}"
        time.sleep(0.05)
    return value


def read_queue(amqp_uri: str, queue_name: str, until: Callable[[list], bool], timeout: float = 30.0) -> list:
    """Take raw messages off a durable queue, as the party that owns it would, until `until(taken)`.

    Returns whatever was taken when the deadline passes, so callers assert on what they expected.
    """
    import time

    from kombu import Connection, Queue

    taken: list = []
    deadline = time.monotonic() + timeout
    with Connection(amqp_uri) as connection:
        queue = Queue(queue_name, no_declare=True)(connection.default_channel)
        while not until(taken) and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
            else:
                taken.append(message)
    return taken
