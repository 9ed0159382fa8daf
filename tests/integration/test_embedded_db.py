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


def test_the_embedded_server_checkpoints_every_15_seconds_unless_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.delenv("SECANTUS_CHECKPOINT_SECONDS", raising=False)
    with EmbeddedMongo(str(tmp_path / "a")) as server:
        assert environment_of(server.process.pid).get("SECANTUS_CHECKPOINT_SECONDS") == "15"
    monkeypatch.setenv("SECANTUS_CHECKPOINT_SECONDS", "60")
    with EmbeddedMongo(str(tmp_path / "b")) as server:
        assert environment_of(server.process.pid).get("SECANTUS_CHECKPOINT_SECONDS") == "60"
