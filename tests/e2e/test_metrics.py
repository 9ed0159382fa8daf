"""End to end: what each service's /metrics says while the pipeline runs is what it did, counted against
the events it published; its /healthz says it reaches the broker and its database; its JSON log has one
line per message, and no reporter's name or phone; `siaga trace` follows one of its reports."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections import Counter

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.dispatch.roster import load_roster_file
from shared.config import PROJECT_ROOT
from shared.phones import mask_phone
from siaga.system import System
from tests.conftest import database_environment
from tests.e2e.one_siaga import module_amqp_uri, module_db_names  # noqa: F401 (fixtures)
from tests.factories import DEMO_ROSTER, create_incident, eventually

pytestmark = pytest.mark.e2e

INCIDENTS = 4
# Missing persons are never merged as duplicates: INCIDENTS reports, each dispatched.
MISSING = {"category": "orang hilang", "description": "Anak usia 7 tahun belum pulang sejak sore"}
REPORTER = {"name": "Siti Aminah", "phone": "0812-7777-4321", "anonymous": False}
QUICK_SMS = {"NOTIFY_SMS_RETRY_POLL": "0.2", "NOTIFY_SMS_RECEIPT_WINDOW": "5"}


@pytest.fixture(scope="module")
def system(amqp_uri, mongo_uri, db_names, tmp_path_factory):
    env = database_environment(db_names) | QUICK_SMS | {"LOG_FORMAT": "json"}
    running = System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, log_dir=tmp_path_factory.mktemp("logs"),
                     extra_env=env, gateway_simulator=True,
                     simulator_args=("--answer-delay", "0.05", "--receipt-delay", "0.1", "--seed", "7")).start()
    yield running
    running.stop()


def scrape(address: str) -> dict[tuple[str, frozenset], float]:
    """Every sample a service's /metrics shows, keyed by name and labels."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of `name` over every sample whose labels include these."""
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in samples.items()
               if sample == name and wanted <= sample_labels)


def published(events: list[dict], event_type: str) -> int:
    return sum(1 for body in events if body["type"] == event_type)


def eventually_equal(read, expected, timeout: float = 30.0):
    """The project's poll with a deadline (tests.factories.eventually), for a count that must reach `expected`."""
    eventually(read, lambda value: value == expected, timeout)


def test_each_service_counts_what_the_pipeline_did_while_it_runs(system, tap, publish_raw, monkeypatch, db_names):
    monkeypatch.setenv("DISPATCH_MONGO_DATABASE", db_names["dispatch"])
    load_roster_file(DEMO_ROSTER, system.mongo_uri)
    events = tap(("reports.events", "#"), ("dispatch.events", "#"), ("notify.events", "#"), ("gateway.events", "#"))
    address = system.metrics_addresses
    incidents = [create_incident(data=MISSING | {"reporter": REPORTER}) for _ in range(INCIDENTS)]
    for incident in incidents:
        publish_raw(incident)
    publish_raw(b"{not json", content_type="application/json")  # dead-lettered, with its reason
    assert total(scrape(address["reports"]), "siaga_messages_total") >= 0  # answers while the pipeline runs

    reports, dispatch, notify, console = (lambda s=service: scrape(address[s]) for service in
                                          ("reports", "dispatch", "notify", "console"))
    eventually_equal(lambda: total(reports(), "siaga_messages_total", service="reports", event="incident_reported",
                                   outcome="handled"), INCIDENTS)
    eventually_equal(lambda: total(reports(), "siaga_dead_letters_total", service="reports",
                                   event="incident_reported", reason="invalid_message"), 1)
    # Every report is decided (an officer, or the duty desk), and every SMS that caused answered by a receipt.
    events.wait_for(lambda _: published(events.seen, "assignment_created")
                    + published(events.seen, "assignment_escalated") >= INCIDENTS, timeout=60)
    events.wait_for(lambda _: published(events.seen, "sms_requested") >= INCIDENTS and published(
        events.seen, "sms_delivery_reported") >= len({b["data"]["sms_id"] for b in events.seen
                                                      if b["type"] == "sms_requested"}), timeout=60)
    seen = events.drain(idle=1.5)

    eventually_equal(lambda: total(reports(), "siaga_events_published_total", service="reports",
                                   event="report_received"), published(seen, "report_received"))
    assert published(seen, "report_received") == INCIDENTS
    eventually_equal(lambda: total(dispatch(), "siaga_messages_total", service="dispatch", event="report_received",
                                   outcome="handled"), INCIDENTS)
    eventually_equal(lambda: total(dispatch(), "siaga_assignments_total", service="dispatch"),
                     published(seen, "assignment_created"))
    eventually_equal(lambda: total(dispatch(), "siaga_escalations_total", service="dispatch"),
                     published(seen, "assignment_escalated"))
    rules = Counter(body["data"]["rule"] for body in seen if body["type"] == "assignment_created")
    for rule, count in rules.items():
        assert total(dispatch(), "siaga_assignments_total", service="dispatch", rule=rule) == count
    assert total(dispatch(), "siaga_assignment_deadlines", service="dispatch", state="pending") == sum(rules.values())
    eventually_equal(lambda: total(notify(), "siaga_sms_total", service="notify", state="requested"),
                     published(seen, "sms_requested"))
    eventually_equal(lambda: total(notify(), "siaga_sms_total", service="notify", state="delivered"),
                     sum(1 for b in seen if b["type"] == "sms_delivery_reported"
                         and b["data"]["status"] == "delivered"))
    assert total(notify(), "siaga_sms_cost_rupiah_total", service="notify") > 0
    eventually_equal(lambda: total(console(), "siaga_messages_total", service="console", event="report_received",
                                   outcome="handled"), INCIDENTS)
    for service in ("reports", "dispatch", "notify", "console"):
        samples = scrape(address[service])
        assert total(samples, "siaga_db_command_seconds_count", service=service) > 0, service
        assert total(samples, "siaga_handler_seconds_count", service=service, outcome="handled") > 0, service
        assert total(samples, "siaga_outage_active", service=service) == 0, service


def test_each_service_says_it_reaches_the_broker_and_its_database(system):
    for service, address in system.metrics_addresses.items():
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=10) as answer:
            assert answer.status == 200, service
            assert json.loads(answer.read()) == {"ok": True, "broker": "ok", "database": "ok"}, service


def test_each_message_is_one_json_log_line_with_its_report_and_no_reporter_data(system):
    """Runs after the pipeline test: its incidents' lines are in the services' logs."""
    lines = {service: [json.loads(line) for line in (system.log_dir / f"{service}.log").read_text().splitlines()
                       if line.startswith("{")] for service in ("reports", "dispatch", "notify", "console")}
    taken = [line for line in lines["reports"] if line["logger"] == "siaga.messages"
             and line["event"] == "incident_reported"]
    assert Counter(line["outcome"] for line in taken) == {"handled": INCIDENTS, "dead_lettered": 1}
    handled = [line for line in taken if line["outcome"] == "handled"]
    assert all(line["ms"] > 0 and line["id"] and line["source"] == "/citizen-app/android" for line in handled)
    followed = {line["correlationid"] for line in lines["dispatch"] if line.get("event") == "report_received"}
    assert len(followed) == INCIDENTS and None not in followed
    everything = "".join((system.log_dir / f"{s}.log").read_text() for s in lines)
    for private in ("Siti Aminah", "0812-7777-4321", "+6281277774321", "6281277774321", MISSING["description"]):
        assert private not in everything


def test_siaga_trace_prints_a_reports_path_across_the_services_with_phones_masked(system, mongo_client, db_names):
    """Runs after the pipeline test: one of its reports, assigned or escalated, with its SMS."""
    report = mongo_client[db_names["reports"]].reports.find_one({"category": "missing_person"})
    notify = mongo_client[db_names["notify"]].notifications
    officer_sms = notify.find_one({"report_id": report["_id"], "recipient_role": {"$ne": "reporter"}})
    result = subprocess.run([sys.executable, "-m", "siaga.cli", "trace", report["number"]], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60,
                            env=os.environ | database_environment(db_names) | {"MONGO_URI": system.mongo_uri,
                                                                              "COLUMNS": "250"})
    assert result.returncode == 0, result.stdout + result.stderr
    shown = result.stdout
    assert f"report {report['number']}" in shown and "missing_person" in shown
    assert "status received" in shown and "reports" in shown and "dispatch" in shown and "notify" in shown
    assert "assignment" in shown or "escalated" in shown
    assert "receipt: delivered" in shown
    assert mask_phone(officer_sms["to"]) in shown and officer_sms["to"] not in shown
    for private in ("Siti Aminah", "+6281277774321", MISSING["description"]):
        assert private not in shown


def test_siaga_trace_of_an_unknown_number_says_so(system, db_names):
    result = subprocess.run([sys.executable, "-m", "siaga.cli", "trace", "000000"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60,
                            env=os.environ | database_environment(db_names) | {"MONGO_URI": system.mongo_uri})
    assert result.returncode == 1 and "No report numbered 000000" in result.stdout


def healthcheck(service: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siaga.healthcheck", service], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60, env=os.environ | env)


def test_the_container_health_check_asks_the_service_itself(system, amqp_uri, db_names):
    """One service's (the command is the same for each; their /healthz answers are checked above)."""
    result = healthcheck("notify", AMQP_URI=amqp_uri, MONGO_URI=system.mongo_uri,
                         NOTIFY_METRICS_ADDRESS=system.metrics_addresses["notify"])
    assert result.returncode == 0, result.stderr
    silent = healthcheck("notify", AMQP_URI=amqp_uri, MONGO_URI=system.mongo_uri, NOTIFY_METRICS_ADDRESS="127.0.0.1:9")
    assert silent.returncode == 1 and "notify does not answer on http://127.0.0.1:9/healthz" in silent.stderr
