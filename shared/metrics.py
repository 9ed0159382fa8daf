"""What an engineer on call reads without opening a log: Prometheus metrics, and a health answer, per service.

Every container serves `/metrics` and `/healthz` on METRICS.ADDRESS (unset: no server, as in tests that
run several containers in one process). The counters are the official client's, module-wide, and every
one carries a `service` label, so that containers sharing a process (the tests) stay apart.

Where each figure comes from, one home each:
- messages handled, retried, dead-lettered and held, and handler time: the base entrypoint
  (shared/messaging.py), the only place that knows a message's outcome;
- what the events said (assignments by rule, their outcomes, escalations, SMS by state): the events
  themselves, counted where they are published or handled (`observe_published`, `observe_handled`);
- what an SMS cost: notify, where it prices one (`observe_sms_priced`);
- documents moved to an archive: each service's archive timer (`ServiceMetrics.archived`);
- figures read when scraped (deadlines pending and overdue; the outage gate: held messages, seconds away):
  `MetricsServer.add_gauges`;
- the database's command time as the service sees it: a pymongo CommandListener (`DatabaseTimer`);
- RPC, HTTP and timer call time: the `Metrics` dependency's worker hooks.
A redelivered message is counted again: these count what was said and done, not distinct facts.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable

import eventlet
import eventlet.wsgi
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.rpc import Rpc
from nameko.timer import Timer
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import parse_address
from prometheus_client import REGISTRY, Counter, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from pymongo import monitoring

from shared.outage import OutageGate
from shared.settings import read, setting

log = logging.getLogger(__name__)
# A database command at least this slow is logged with its collection (`DatabaseTimer`).
SLOW_COMMAND_SECONDS = 1.0

# Outcomes of a message (shared/messaging.py): one of these per delivery.
HANDLED, RETRIED, DEAD_LETTERED, HELD = "handled", "retried", "dead_lettered", "held"
# Handler and call time: from a millisecond index lookup to the embedded server under load.
SECONDS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)

MESSAGES = Counter("siaga_messages", "messages taken from a queue, by what became of them",
                   ["service", "queue", "event", "outcome"])
DEAD_LETTERS = Counter("siaga_dead_letters", "messages dead-lettered, by why (invalid_message: refused by the "
                       "contract; undecodable: no rule foresaw it; handler_failed: failed every attempt)",
                       ["service", "queue", "event", "reason"])
HANDLER_SECONDS = Histogram("siaga_handler_seconds", "time a handler took, by event and outcome",
                            ["service", "event", "outcome"], buckets=SECONDS)
CALL_SECONDS = Histogram("siaga_call_seconds", "time an RPC, HTTP request or timer tick took",
                         ["service", "kind", "entrypoint"], buckets=SECONDS)
EVENTS_PUBLISHED = Counter("siaga_events_published", "events published", ["service", "event"])
ASSIGNMENTS = Counter("siaga_assignments", "assignments created, by the rule that chose the officer",
                      ["service", "rule"])
ASSIGNMENT_STEPS = Counter("siaga_assignment_steps", "what became of assignments: acknowledged, declined, "
                           "departed, arrived, completed, expired", ["service", "step"])
ESCALATIONS = Counter("siaga_escalations", "reports escalated to a duty desk, by why nobody was claimed",
                      ["service", "rule"])
SMS = Counter("siaga_sms", "SMS by state: requested (each request said, retries included), accepted, refused, "
              "delivered / undelivered / expired / rejected / unknown (receipts), failed", ["service", "state"])
SMS_SEGMENTS = Counter("siaga_sms_segments", "SMS segments stored to send, by recipient role",
                       ["service", "recipient_role"])
SMS_COST = Counter("siaga_sms_cost_rupiah", "what stored SMS cost, by operator (or priced prefix)",
                   ["service", "operator"])
ARCHIVED = Counter("siaga_archived_documents", "final documents moved to <collection>_archive by the archive "
                   "sweep (shared/archive.py)", ["service", "collection"])
DB_SECONDS_HISTOGRAM = Histogram("siaga_db_command_seconds", "database commands as the service sees them",
                                 ["service", "command"], buckets=DB_SECONDS)
DB_FAILURES = Counter("siaga_db_command_failures", "database commands that failed", ["service", "command"])

# Read when scraped: name → (help, labels besides `service`, family).
GAUGES = {
    "siaga_outage_active": ("1 while the database or broker does not answer and messages are held", (),
                            GaugeMetricFamily),
    "siaga_outage_held_messages": ("messages held now, waiting for the database or broker", (), GaugeMetricFamily),
    "siaga_outage_seconds": ("seconds the database or broker did not answer, the current outage included", (),
                             CounterMetricFamily),
    "siaga_assignment_deadlines": ("assignments waiting for their officer's acknowledgement: pending (before "
                                   "the deadline) or overdue (past it, nobody has acted yet)", ("state",),
                                   GaugeMetricFamily),
}
Gauges = Callable[[], Iterable[tuple[str, dict, float]]]


@dataclass(frozen=True)
class MetricsSettings:
    SECTION: ClassVar[str] = "METRICS"
    address: str = setting("", "host:port of the service's /metrics (Prometheus) and /healthz; unset: none")


class _ScrapedGauges:
    """One collector for the whole process: the gauges of every container in it, read at scrape time."""

    def __init__(self):
        self.sources: dict[int, tuple[str, Gauges]] = {}

    def describe(self):
        return []

    def collect(self):
        families = {name: family(name, doc, labels=["service", *labels])
                    for name, (doc, labels, family) in GAUGES.items()}
        for service, source in list(self.sources.values()):
            try:
                samples = list(source())
            except Exception as exc:  # a scrape during an outage still answers, without that figure
                log.warning("%s: a gauge could not be read (%s)", service, type(exc).__name__)
                continue
            for name, labels, value in samples:
                families[name].add_metric([service, *(labels[key] for key in GAUGES[name][1])], value)
        return list(families.values())


SCRAPED = _ScrapedGauges()
REGISTRY.register(SCRAPED)
METRICS_APP = make_wsgi_app(REGISTRY)


def listen(address: str):
    """The metrics port, this process's alone. eventlet would set SO_REUSEPORT, and a second process given the
    same port (a stale one, a replica with the same settings, two test runs picking the same free port) would
    listen beside it and answer every other scrape with its own counts."""
    return eventlet.listen(parse_address(address), reuse_port=False)


class MetricsServer(SharedExtension):
    """One per container: serves /metrics and /healthz on METRICS.ADDRESS, and keeps its scraped gauges."""

    gate = OutageGate()

    def setup(self):
        self.settings = read(MetricsSettings, self.container.config)
        self.service = self.container.service_name
        self.port: int | None = None
        self._thread = self._socket = None
        self.add_gauges(self.outage_gauges)

    def add_gauges(self, source: Gauges) -> None:
        SCRAPED.sources[id(source)] = (self.container.service_name, source)
        self._sources = getattr(self, "_sources", []) + [id(source)]

    def outage_gauges(self) -> Iterable[tuple[str, dict, float]]:
        status = self.gate.status()
        yield "siaga_outage_active", {}, 0.0 if status["ok"] else 1.0
        yield "siaga_outage_held_messages", {}, float(status.get("held", 0))
        yield "siaga_outage_seconds", {}, self.gate.seconds_away()

    def start(self):
        if not self.settings.address:
            return
        self._socket = listen(self.settings.address)
        self.port = self._socket.getsockname()[1]
        server = eventlet.wsgi.server
        self._thread = self.container.spawn_managed_thread(
            lambda: server(self._socket, self.wsgi_app, log_output=False, debug=False))
        log.info("%s: metrics on http://%s:%d/metrics", self.service, *self._socket.getsockname()[:2])

    def wsgi_app(self, environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            health = self.gate.health()
            body = json.dumps(health).encode()
            start_response("200 OK" if health["ok"] else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return METRICS_APP(environ, start_response)

    def stop(self):
        for source in getattr(self, "_sources", []):
            SCRAPED.sources.pop(source, None)
        if self._thread is not None:
            self._thread.kill()
            self._socket.close()
            self._thread = None

    kill = stop


def kind_of(entrypoint) -> str | None:
    if isinstance(entrypoint, Rpc):
        return "rpc"
    if isinstance(entrypoint, HttpRequestHandler):
        return "http"
    if isinstance(entrypoint, Timer):
        return "timer"
    return None  # a message handler: timed by the base entrypoint, with its outcome


class Metrics(DependencyProvider):
    """Declared on a service: its metrics server runs, and its RPCs, HTTP requests and timer ticks are timed."""

    server = MetricsServer()

    def setup(self):
        self.started: dict[int, float] = {}

    def worker_setup(self, worker_ctx):
        if kind_of(worker_ctx.entrypoint):
            self.started[id(worker_ctx)] = time.perf_counter()

    def worker_teardown(self, worker_ctx):
        started = self.started.pop(id(worker_ctx), None)
        if started is not None:
            CALL_SECONDS.labels(self.container.service_name, kind_of(worker_ctx.entrypoint),
                                worker_ctx.entrypoint.method_name).observe(time.perf_counter() - started)

    def get_dependency(self, worker_ctx) -> "ServiceMetrics":
        return ServiceMetrics(self.container.service_name)


class ServiceMetrics:
    """What a worker counts itself: only what no event says."""

    def __init__(self, service: str):
        self.service = service

    def sms_priced(self, sms: dict[str, Any]) -> None:
        observe_sms_priced(self.service, sms)

    def archived(self, moved: dict[str, int]) -> None:
        """What an archive sweep moved, per collection."""
        for collection, count in moved.items():
            ARCHIVED.labels(self.service, collection).inc(count)


def observe_message(service: str, queue: str, event: str, outcome: str, seconds: float | None) -> None:
    MESSAGES.labels(service, queue, event, outcome).inc()
    if seconds is not None:
        HANDLER_SECONDS.labels(service, event, outcome).observe(seconds)


def observe_dead_letter(service: str, queue: str, event: str, reason: str) -> None:
    DEAD_LETTERS.labels(service, queue, event, reason).inc()


ASSIGNMENT_STEP_EVENTS = {"assignment_acknowledged": "acknowledged", "assignment_declined": "declined",
                          "assignment_departed": "departed", "assignment_arrived": "arrived",
                          "assignment_completed": "completed", "assignment_expired": "expired"}
# What a gateway's answer (handled by notify) says about the SMS's state.
SMS_ANSWERS = {"sms_accepted": lambda data: "accepted", "sms_refused": lambda data: "refused",
               "sms_delivery_reported": lambda data: data.get("status") or "unknown"}


def observe_published(service: str, event: str, data: dict[str, Any]) -> None:
    """What a published event says, counted: its type, and for the figures an engineer watches, its kind."""
    EVENTS_PUBLISHED.labels(service, event).inc()
    if event == "assignment_created":
        ASSIGNMENTS.labels(service, data.get("rule") or "unknown").inc()
    elif event in ASSIGNMENT_STEP_EVENTS:
        ASSIGNMENT_STEPS.labels(service, ASSIGNMENT_STEP_EVENTS[event]).inc()
    elif event == "assignment_escalated":
        ESCALATIONS.labels(service, (data.get("rules") or ["unknown"])[0]).inc()
    elif event == "sms_requested":
        SMS.labels(service, "requested").inc()
    elif event == "sms_failed":
        SMS.labels(service, "failed").inc()


def observe_handled(service: str, event: str, data: dict[str, Any]) -> None:
    """What a handled event says about a state this service keeps (a gateway's answer about an SMS)."""
    if event in SMS_ANSWERS:
        SMS.labels(service, SMS_ANSWERS[event](data)).inc()


def observe_sms_priced(service: str, sms: dict[str, Any]) -> None:
    """An SMS stored to be sent: its segments and what it costs."""
    SMS_SEGMENTS.labels(service, sms.get("recipient_role") or "unknown").inc(sms.get("segments") or 0)
    SMS_COST.labels(service, sms.get("operator") or "unknown").inc(float(sms.get("price") or 0.0))


class DatabaseTimer(monitoring.CommandListener):
    """Each database command's time, as pymongo saw it (the server, the network, the driver). One slower
    than SLOW_COMMAND_SECONDS is logged too, with its collection: the histogram says how often commands
    stall, the log says where (a collection label on every command would multiply its series)."""

    def __init__(self, service: str):
        self.service = service
        self.pending: dict[tuple[Any, int], str] = {}  # (connection, request) → collection, until answered

    def started(self, event):
        command = event.command
        collection = command.get("collection") or next(iter(command.values()), None)  # getMore names it apart
        if isinstance(collection, str):
            self.pending[(event.connection_id, event.request_id)] = collection

    def succeeded(self, event):
        self.answered(event)

    def failed(self, event):
        self.answered(event)
        DB_FAILURES.labels(self.service, event.command_name).inc()

    def answered(self, event) -> None:
        seconds = event.duration_micros / 1e6
        collection = self.pending.pop((event.connection_id, event.request_id), None)
        DB_SECONDS_HISTOGRAM.labels(self.service, event.command_name).observe(seconds)
        if seconds >= SLOW_COMMAND_SECONDS:
            log.warning("database: %s on %s took %.2f s", event.command_name, collection or "?", seconds)
