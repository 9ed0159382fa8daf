"""The `siaga` command as a person uses it: helpful when something is down, useful when it is up."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from services.reports.service import ReportsService
from shared.config import PROJECT_ROOT
from tests.factories import DEMO_ROSTER

pytestmark = pytest.mark.e2e


def siaga(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siaga.cli", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60, env=os.environ | {"COLUMNS": "200"} | env)


def test_unreachable_broker_gets_an_explanation_not_a_traceback():
    result = siaga("incident", "--category", "laka", "--village", "31.71.06.1001",
                   AMQP_URI="amqp://guest:guest@127.0.0.1:1/")
    assert result.returncode == 2
    assert "Could not reach RabbitMQ" in result.stdout and "rabbitmq-server -detached" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_roster_import_refuses_a_bad_file_with_every_reason(tmp_path, mongo_uri):
    bad = tmp_path / "roster.json"
    bad.write_text(DEMO_ROSTER.read_text().replace('"role": "duty_desk"', '"role": "sheriff"', 1))
    result = siaga("roster", "import", str(bad), MONGO_URI=mongo_uri)
    assert result.returncode == 1
    assert "Roster not loaded" in result.stdout and "role" in result.stdout


def test_published_incident_is_taken_by_reports_as_from_any_upstream_app(
        amqp_uri, declared, tap, container_factory, config_for):
    received = tap(("reports.events", "report_received"))
    container_factory(ReportsService, config_for("reports")).start()
    result = siaga("incident", "--category", "curanmor", "--village", "31.71.06.1003", "--rw", "7",
                   AMQP_URI=amqp_uri)
    assert result.returncode == 0, result.stdout + result.stderr
    report = received.wait_for(lambda b: b["type"] == "report_received")["data"]
    assert (report["category"], report["place"]["village_name"], report["place"]["rw"]) == ("theft", "Cikini", 7)
    assert report["anonymous"] is True and report["reporter"] is None
