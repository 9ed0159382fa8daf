"""An outage is not a poison message: while the database is away a service holds its messages, and
when it answers again it takes them all; nothing is rejected or dead-lettered for the outage."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo.errors import AutoReconnect

from services.reports.service import ReportsService
from services.reports.storage import ReportStore
from shared import topology
from shared.embedded_db import EmbeddedMongo
from shared.messaging import retry_backoff
from shared.metrics import MetricsServer
from shared.outage import OutageGate
from tests.factories import create_incident, eventually, read_queue

pytestmark = pytest.mark.integration

SELECTION_SECONDS = 0.2
# What the retry budget spent on a message before it was dead-lettered: every attempt waits for a
# server it cannot select, then backs off (about 53 s at the default 10 s selection timeout).
OLD_BUDGET_SECONDS = topology.MAX_ATTEMPTS * SELECTION_SECONDS + sum(
    retry_backoff(attempt) for attempt in range(1, topology.MAX_ATTEMPTS))


def scraped(port: int, name: str, **labels: str) -> float:
    """The sum of a metric's samples with these labels, as Prometheus would read it from the service."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and set(labels.items()) <= set(sample.labels.items()))


def health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def database(tmp_path):
    """A database of this test's own, on disk, so that it can be killed and come back with its data."""
    server = EmbeddedMongo(str(tmp_path / "mongo")).start()
    yield server
    server.stop()


def test_an_outage_longer_than_the_retry_budget_rejects_nothing_and_drains(
        declared, database, tap, publish_raw, container_factory, config_for, amqp_uri):
    outcomes = tap(("reports.events", "#"))
    container = container_factory(ReportsService, config_for(
        "reports", MONGO_URI=database.uri, OUTAGE={"SERVER_SELECTION_SECONDS": SELECTION_SECONDS,
                                                    "PROBE_SECONDS": 0.2}, METRICS={"ADDRESS": "127.0.0.1:0"}))
    container.start()
    gate = container.shared_extensions[OutageGate]
    port = container.shared_extensions[MetricsServer].port
    handled = {"service": "reports", "event": "incident_reported", "outcome": "handled"}
    handled_before = scraped(port, "siaga_messages_total", **handled)
    held_before = scraped(port, "siaga_messages_total", service="reports", outcome="held")

    database.kill()
    incidents = [create_incident() for _ in range(3)]
    for incident in incidents:
        publish_raw(incident)
    eventually(gate.status, lambda status: not status["ok"] and status["seconds"] > OLD_BUDGET_SECONDS + 1,
               timeout=OLD_BUDGET_SECONDS + 20)
    assert gate.status()["held"] == len(incidents)
    assert scraped(port, "siaga_outage_held_messages", service="reports") == len(incidents)
    assert scraped(port, "siaga_outage_active", service="reports") == 1
    assert scraped(port, "siaga_messages_total", service="reports", outcome="held") - held_before == len(incidents)
    status, said = health(port)
    assert status == 503 and said["broker"] == "ok" and said["database"].startswith("does not answer")
    assert said["held"] == len(incidents)

    database.start()
    for incident in incidents:  # received, or linked to the first as its duplicate
        outcomes.wait_for(lambda body, id=incident["id"]: body.get("causationid") == id, timeout=30)
    assert not [body for body in outcomes.drain(idle=0.5) if body["type"] == "report_rejected"]
    assert read_queue(amqp_uri, topology.DEAD_LETTER_QUEUE, lambda taken: taken, timeout=0.5) == []
    assert gate.status() == {"ok": True}
    assert scraped(port, "siaga_messages_total", **handled) - handled_before == len(incidents)
    assert scraped(port, "siaga_outage_seconds_total", service="reports") > OLD_BUDGET_SECONDS
    assert scraped(port, "siaga_outage_active", service="reports") == 0
    assert health(port) == (200, {"ok": True, "broker": "ok", "database": "ok"})


def test_a_message_that_meets_an_outage_every_time_while_the_database_answers_does_not_wait_forever(
        declared, tap, publish_raw, container_factory, config_for, amqp_uri, monkeypatch):
    """A query the server drops each time (AutoReconnect) looks like an outage, but the probe's write
    answers: after OUTAGE.MAX_HOLDS holds it is counted as the message's own failure and dead-lettered,
    while the other messages go on."""
    def dropped_when_poisoned(store, report):
        if report["description"].startswith("poison"):
            raise AutoReconnect("connection closed by the server")
        return original(store, report)
    original = ReportStore.add
    monkeypatch.setattr(ReportStore, "add", dropped_when_poisoned)
    outcomes = tap(("reports.events", "#"))
    container = container_factory(ReportsService, config_for(
        "reports", OUTAGE={"PROBE_SECONDS": 0.05, "MAX_HOLDS": 2}))
    container.start()

    poisoned = create_incident(data={"description": "poison: dropped by the server every time"})
    healthy = create_incident()
    publish_raw(poisoned)
    publish_raw(healthy)
    outcomes.wait_for(lambda body: body["type"] == "report_received" and body["causationid"] == healthy["id"])
    rejected = outcomes.wait_for(lambda body: body["type"] == "report_rejected", timeout=60)
    assert "AutoReconnect" in str(rejected["data"]), rejected
    assert [letter for letter in read_queue(amqp_uri, topology.DEAD_LETTER_QUEUE, lambda taken: taken, timeout=2)
            if poisoned["id"] in str(letter.body)]
    assert container.shared_extensions[OutageGate].status() == {"ok": True}
