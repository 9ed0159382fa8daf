"""What an engineer on call reads: log lines (JSON or plain, phones masked), the counts events make, and
a health answer that names what does not answer."""
from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from pymongo import monitoring

from shared import metrics
from shared.logs import JsonFormatter, PlainFormatter, masked
from shared.outage import OutageGate


def record(message: str, *args, fields: dict | None = None, exc_info=None) -> logging.LogRecord:
    made = logging.LogRecord("siaga.messages", logging.INFO, __file__, 1, message, args, exc_info)
    if fields is not None:
        made.siaga = fields
    return made


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_handled_message_is_one_json_line_with_its_correlation_event_outcome_and_time():
    fields = {"correlationid": "r-1", "event": "incident_reported", "outcome": "handled", "ms": 12.5,
              "queue": "q", "id": "e-1", "source": "/citizen-app/android"}
    line = JsonFormatter(service="reports").format(record("incident_reported handled r-1", fields=fields))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["service"] == "reports" and parsed["level"] == "INFO" and parsed["logger"] == "siaga.messages"
    assert {key: parsed[key] for key in fields} == fields
    assert parsed["time"].endswith("+00:00")


@pytest.mark.parametrize("phone", ["+6281234567890", "6281234567890", "081234567890"])
def test_a_phone_number_anywhere_in_a_log_line_is_masked(phone):
    assert phone not in masked(f"SMS to {phone} failed")
    assert "*" in masked(f"SMS to {phone} failed")
    json_line = JsonFormatter(service="notify").format(record("SMS to %s failed", phone))
    plain_line = PlainFormatter("%(message)s").format(record("SMS to %s failed", phone))
    assert phone not in json_line and phone not in plain_line


def test_a_phone_in_an_exception_is_masked_too():
    try:
        raise ValueError("not a valid phone: +6281234567890")
    except ValueError:
        import sys
        line = JsonFormatter(service="reports").format(record("failed", exc_info=sys.exc_info()))
    assert "+6281234567890" not in line and "ValueError" in json.loads(line)["error"]


def test_ids_and_report_numbers_are_not_taken_for_phones():
    text = "report 2026-000123 correlationid 8f0e2c1a-47f4-4b49-9c11-0812345678901 at 1733212345678"
    assert masked(text) == text


def test_assignments_are_counted_by_the_rule_that_chose_the_officer_and_escalations_by_why():
    before = sample("siaga_assignments_total", service="t-dispatch", rule="area_polisi_rw")
    escalated = sample("siaga_escalations_total", service="t-dispatch", rule="nobody_nearby")
    metrics.observe_published("t-dispatch", "assignment_created", {"rule": "area_polisi_rw"})
    metrics.observe_published("t-dispatch", "assignment_escalated", {"rules": ["nobody_nearby"]})
    metrics.observe_published("t-dispatch", "assignment_expired", {})
    assert sample("siaga_assignments_total", service="t-dispatch", rule="area_polisi_rw") == before + 1
    assert sample("siaga_escalations_total", service="t-dispatch", rule="nobody_nearby") == escalated + 1
    assert sample("siaga_assignment_steps_total", service="t-dispatch", step="expired") >= 1
    assert sample("siaga_events_published_total", service="t-dispatch", event="assignment_created") >= 1


def test_sms_are_counted_by_state_from_what_notify_says_and_what_the_gateway_answers():
    metrics.observe_published("t-notify", "sms_requested", {})
    metrics.observe_handled("t-notify", "sms_accepted", {})
    metrics.observe_handled("t-notify", "sms_delivery_reported", {"status": "undelivered"})
    metrics.observe_published("t-notify", "sms_failed", {})
    for state in ("requested", "accepted", "undelivered", "failed"):
        assert sample("siaga_sms_total", service="t-notify", state=state) == 1, state


def test_what_an_sms_costs_is_counted_by_operator_and_its_segments_by_recipient():
    metrics.observe_sms_priced("t-cost", {"recipient_role": "officer", "segments": 2, "operator": "telkomsel",
                                          "price": 700.0})
    assert sample("siaga_sms_cost_rupiah_total", service="t-cost", operator="telkomsel") == 700.0
    assert sample("siaga_sms_segments_total", service="t-cost", recipient_role="officer") == 2


def test_health_names_each_dependency_and_fails_when_one_does_not_answer():
    gate = OutageGate()
    gate.add_probe("broker", lambda: None)
    assert gate.health() == {"ok": True, "broker": "ok"}

    def refused():
        raise ConnectionRefusedError()

    gate.add_probe("database", refused)
    health = gate.health()
    assert health["ok"] is False and health["broker"] == "ok"
    assert health["database"] == "does not answer (ConnectionRefusedError)"


def test_a_metrics_address_another_process_listens_on_is_refused_not_shared():
    """With SO_REUSEPORT both would listen and the kernel would split the scrapes between them: Prometheus
    (or a test) would read another process's counts as this one's."""
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as any eventlet server listens by default
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        with pytest.raises(OSError):
            metrics.listen(f"127.0.0.1:{other.getsockname()[1]}").close()
    finally:
        other.close()


def command_seen(timer: metrics.DatabaseTimer, command: dict, seconds: float, request_id: int = 7) -> None:
    """One command through the listener as pymongo reports it: started, then succeeded after `seconds`."""
    address = ("127.0.0.1", 27017)
    timer.started(monitoring.CommandStartedEvent(command, "siaga_dispatch", request_id, address, request_id))
    timer.succeeded(monitoring.CommandSucceededEvent(timedelta(seconds=seconds), {"ok": 1}, next(iter(command)),
                                                     request_id, address, request_id))


def test_a_slow_database_command_is_logged_with_its_collection_and_a_quick_one_only_counted(caplog):
    timer = metrics.DatabaseTimer("dispatch")
    before = sample("siaga_db_command_seconds_count", service="dispatch", command="delete")
    with caplog.at_level(logging.WARNING, logger="shared.metrics"):
        command_seen(timer, {"delete": "assignments", "deletes": []}, 2.5, request_id=1)
        command_seen(timer, {"delete": "officers", "deletes": []}, 0.01, request_id=2)
        command_seen(timer, {"getMore": 12345, "collection": "reports_archive"}, 1.2, request_id=3)
    slow = [r.getMessage() for r in caplog.records]
    assert slow == ["database: delete on assignments took 2.50 s", "database: getMore on reports_archive took 1.20 s"]
    assert sample("siaga_db_command_seconds_count", service="dispatch", command="delete") == before + 2
    assert not timer.pending  # nothing kept once a command is answered
