"""The embedded server as the project starts it (shared/embedded_db.py)."""
from __future__ import annotations

from pathlib import Path

from shared.embedded_db import EmbeddedMongo


def environment_of(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


def test_the_embedded_server_allocates_from_two_malloc_arenas():
    with EmbeddedMongo(":memory:") as server:
        environment = environment_of(server.process.pid)

    assert environment.get("MALLOC_ARENA_MAX") == "2"
