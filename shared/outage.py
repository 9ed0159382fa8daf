"""An outage is not a poison message: while the database (or the broker) cannot be reached, a
service holds its messages instead of spending their retries.

A handler that fails because a dependency did not answer says nothing about its message. Counted
as an attempt, a long enough outage dead-lettered valid reports and sent their apps
`report_rejected`. So such a failure closes the container's gate: the message is kept unacked
(the broker's delivery count does not move), messages already delivered wait behind it, the
prefetch window stops the broker sending more, and a probe asks the dependency again until it
answers; then every held message runs again. The state is in the log and in `status()`, which
health checks show.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, ClassVar

import eventlet
from eventlet.event import Event as GreenEvent
from kombu.exceptions import OperationalError
from nameko.extensions import DependencyProvider, SharedExtension
from pymongo.errors import ConnectionFailure

from shared.settings import read, setting

log = logging.getLogger(__name__)

# ConnectionFailure covers pymongo's AutoReconnect, NetworkTimeout and ServerSelectionTimeoutError;
# OperationalError is kombu's when a publish finds no broker; ConnectionError the sockets' own.
OUTAGE_ERRORS = (ConnectionFailure, OperationalError, ConnectionError)


def is_outage(exc: BaseException | None) -> bool:
    """Did this fail because something did not answer, rather than because of the message?"""
    return isinstance(exc, OUTAGE_ERRORS)


@dataclass(frozen=True)
class OutageSettings:
    SECTION: ClassVar[str] = "OUTAGE"
    server_selection_seconds: float = setting(
        10.0, "how long a database call waits for a server before the service counts the database as away")
    probe_seconds: float = setting(2.0, "while the database or broker is away: how often it is asked again")
    max_holds: int = setting(
        10, "a message that meets an outage this many times, its dependencies answering in between, fails on "
            "its own: retried, then dead-lettered (a query the server drops every time must not wait forever)")


Probe = Callable[[], object]


class OutageGate(SharedExtension):
    """One per container: open while dependencies answer; closed, it holds work until they do."""

    def __init__(self):
        """State made here, not in setup(): the extensions that add probes may be set up first."""
        super().__init__()
        self.probes: dict[str, Probe] = {}
        self.down_since: float | None = None
        self.cause = ""
        self.held = 0
        self.seconds_before = 0.0
        self._opened = GreenEvent()
        self._opened.send(None)

    def setup(self):
        self.settings = read(OutageSettings, self.container.config)

    def add_probe(self, name: str, probe: Probe) -> None:
        """`probe()` raises while `name` cannot be reached."""
        self.probes[name] = probe

    @property
    def is_open(self) -> bool:
        return self.down_since is None

    def close(self, exc: BaseException) -> None:
        if not self.is_open:
            return
        self.down_since, self.cause = time.monotonic(), f"{type(exc).__name__}: {exc}"
        self._opened = GreenEvent()
        log.error("%s: a dependency does not answer (%s); holding messages until it does",
                  self.container.service_name, self.cause)
        self.container.spawn_managed_thread(self._probe_until_answered)

    def wait(self) -> None:
        """Block this greenthread while the gate is closed (work held, counted in `status()`)."""
        if self.is_open:
            return
        self.held += 1
        try:
            self._opened.wait()
        finally:
            self.held -= 1

    def status(self) -> dict:
        if self.is_open:
            return {"ok": True}
        return {"ok": False, "outage": self.cause, "seconds": round(time.monotonic() - self.down_since, 1),
                "held": self.held}

    def seconds_away(self) -> float:
        """Every outage's length since the container started, the current one included (a metric)."""
        return self.seconds_before + (0.0 if self.is_open else time.monotonic() - self.down_since)

    def health(self) -> dict:
        """`status()`, and whether each dependency answers now (its probe asked once): a health endpoint's body."""
        answers = {name: _answer(probe) for name, probe in self.probes.items()}
        return self.status() | {"ok": self.is_open and all(a == "ok" for a in answers.values())} | answers

    def _probe_until_answered(self) -> None:
        while True:
            eventlet.sleep(self.settings.probe_seconds)
            failing = self._failing_probe()
            if failing is None:
                break
            log.warning("%s: still waiting for %s (%.0f s)", self.container.service_name, failing,
                        time.monotonic() - self.down_since)
        log.warning("%s: dependencies answer again after %.1f s; running %d held messages",
                    self.container.service_name, time.monotonic() - self.down_since, self.held)
        self.seconds_before += time.monotonic() - self.down_since
        self.down_since, self.cause = None, ""
        self._opened.send(None)

    def _failing_probe(self) -> str | None:
        for name, probe in self.probes.items():
            try:
                probe()
            except Exception as exc:  # any failure: still away
                return f"{name} ({type(exc).__name__})"
        return None


def _answer(probe: Probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure: does not answer; say how
        return f"does not answer ({type(exc).__name__})"
    return "ok"


class OutageStatus(DependencyProvider):
    """Hands a worker the gate's `status()`, for a health check to show."""

    gate = OutageGate()

    def get_dependency(self, worker_ctx) -> Callable[[], dict]:
        return self.gate.status
