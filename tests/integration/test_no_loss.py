"""No message is ever lost: early events wait, poison messages reach the dead letter with a reason."""
from __future__ import annotations

import json

import pytest
from kombu import Connection, Queue
from marshmallow import Schema, fields

from services.reports.service import ReportsService
from shared import topology
from shared.contract import EventType
from shared.messaging import REASON_HEADER, handles
from tests.factories import create_incident, of_type, read_queue

pytestmark = pytest.mark.integration

class ProbeSchema(Schema):
    fail_times = fields.Integer(required=True)


PROBE_HAPPENED = EventType("probe_happened", "probe", ProbeSchema, "test-only event")
HANDLER_QUEUE = "evt-intake-incident_reported--reports.handle_incident_reported"


calls: list[int] = []


class ProbeService:
    """Fails its first `fail_times` deliveries of a message, then succeeds."""

    name = "probe"

    @handles(PROBE_HAPPENED)
    def handle_probe_happened(self, event):
        calls.append(event.data["fail_times"])
        if len(calls) <= event.data["fail_times"]:
            raise RuntimeError(f"probe failure #{len(calls)}")


def dead_letters(amqp_uri: str, expected: int, timeout: float = 20.0) -> list:
    """Read the ops dead-letter queue (what an engineer on call would inspect); raw, as a dead letter's
    body may not even be JSON."""
    return read_queue(amqp_uri, topology.DEAD_LETTER_QUEUE, lambda taken: len(taken) >= expected, timeout)


def probe_envelope(fail_times: int) -> dict:
    return create_incident(source="/probe", type="probe_happened", data={}) | {"data": {"fail_times": fail_times}}


def test_topology_declaration_is_idempotent_and_uses_quorum_queues(amqp_uri):
    first = topology.declare_topology(amqp_uri)
    second = topology.declare_topology(amqp_uri)
    assert first == second
    assert HANDLER_QUEUE in first
    assert "evt-notify-sms_requested--sms-gateway" in first
    with Connection(amqp_uri) as connection:
        # Re-declaring with classic arguments is refused only if the queue really is a quorum queue.
        with pytest.raises(Exception, match="PRECONDITION_FAILED"):
            Queue(HANDLER_QUEUE, durable=True)(connection.default_channel).declare()


def test_incident_published_before_reports_first_starts_is_processed(
        declared, publish_raw, tap, container_factory, config_for):
    incident = create_incident()
    publish_raw(incident)  # no reports worker has ever run on this broker
    received = tap(("reports.events", "report_received"))
    container_factory(ReportsService, config_for("reports")).start()
    body = received.wait_for(of_type("report_received"))
    assert body["causationid"] == incident["id"]


@pytest.mark.parametrize("payload, content_type, reason_key", [
    (b"{not json", "application/json", "body"),
    (b"<incident/>", "application/xml", "content_type"),
    (json.dumps([1, 2]), "application/json", "body"),
    (json.dumps({"id": "x", "data": {}}), "application/json", "envelope"),
], ids=["broken-json", "wrong-content-type", "json-array", "envelope-violation"])
def test_unprocessable_message_is_dead_lettered_with_its_reason(
        declared, publish_raw, container_factory, config_for, amqp_uri, payload, content_type, reason_key):
    container_factory(ReportsService, config_for("reports")).start()
    publish_raw(payload, content_type=content_type)
    [letter] = dead_letters(amqp_uri, expected=1)
    reason = json.loads(letter.headers[REASON_HEADER])
    assert reason_key in reason
    assert letter.headers["x-siaga-queue"] == HANDLER_QUEUE
    as_bytes = [body.encode() if isinstance(body, str) else body for body in (letter.body, payload)]
    assert as_bytes[0] == as_bytes[1]  # the dead letter keeps the message exactly as sent


def test_schema_violation_is_dead_lettered_and_the_sender_gets_report_rejected(
        declared, publish_raw, tap, container_factory, config_for, amqp_uri):
    rejected = tap(("reports.events", "report_rejected.*"))
    container_factory(ReportsService, config_for("reports")).start()
    incident = create_incident(data={"description": "", "source_kind": "pigeon"})
    publish_raw(incident)
    [letter] = dead_letters(amqp_uri, expected=1)
    assert set(json.loads(letter.headers[REASON_HEADER])["data"]) == {"description", "source_kind"}
    body = rejected.wait_for(of_type("report_rejected"))
    assert body["data"]["original"] == {"source": incident["source"], "id": incident["id"]}
    assert set(body["data"]["reasons"]["data"]) == {"description", "source_kind"}


def test_handler_that_keeps_failing_is_retried_a_bounded_number_of_times_then_dead_lettered(
        amqp_uri, publish_raw, container_factory):
    calls.clear()
    topology.declare_topology(amqp_uri, [ProbeService])
    container_factory(ProbeService, {"AMQP_URI": amqp_uri, "max_workers": 2}).start()
    publish_raw(probe_envelope(fail_times=1000), exchange="probe.events", routing_key="probe_happened")
    [letter] = dead_letters(amqp_uri, expected=1)
    assert len(calls) == topology.MAX_ATTEMPTS
    assert "RuntimeError: probe failure" in json.loads(letter.headers[REASON_HEADER])["handler"]


def test_handler_that_fails_transiently_succeeds_on_retry_without_a_dead_letter(
        amqp_uri, publish_raw, container_factory):
    calls.clear()
    topology.declare_topology(amqp_uri, [ProbeService])
    container_factory(ProbeService, {"AMQP_URI": amqp_uri, "max_workers": 2}).start()
    publish_raw(probe_envelope(fail_times=2), exchange="probe.events", routing_key="probe_happened")
    assert dead_letters(amqp_uri, expected=1, timeout=5) == []
    assert len(calls) == 3
