"""End to end: the services as processes; an upstream app in, the SMS gateway's view out."""
from __future__ import annotations

import json

import pytest

from services.dispatch.roster import load_roster_file
from siaga.system import System
from tests.conftest import database_environment
from tests.e2e.one_siaga import module_amqp_uri, module_db_names  # noqa: F401 (fixtures)
from tests.factories import DEMO_ROSTER, create_incident, read_queue

pytestmark = pytest.mark.e2e

GATEWAY_QUEUE = "evt-notify-sms_requested--sms-gateway"
UPSTREAM_QUEUE = "evt-reports-report_rejected--citizen-app"  # create_incident is /citizen-app/android's


@pytest.fixture(scope="module")
def system(amqp_uri, mongo_uri, db_names, tmp_path_factory):
    env = database_environment(db_names)
    logs = tmp_path_factory.mktemp("logs")
    running = System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, log_dir=logs, extra_env=env).start()
    yield running
    running.stop()


def gateway_messages(amqp_uri: str, until, timeout: float = 30.0) -> list[dict]:
    """Consume the gateway's queue as the SMS gateway would, until `until(messages)` holds."""
    taken = read_queue(amqp_uri, GATEWAY_QUEUE, lambda raw: until([json.loads(m.body) for m in raw]), timeout)
    assert all(m.content_type == "application/json" for m in taken)
    messages = [json.loads(m.body) for m in taken]
    assert until(messages), f"gateway saw only {messages}"
    return messages


def sent_to(role: str, messages: list[dict]) -> bool:
    """The reporter is told too (received), so wait for the SMS of one recipient role."""
    return any(m["data"]["recipient_role"] == role for m in messages)


def test_citizen_incident_in_menteng_rw05_reaches_the_gateway_as_sms_to_its_polisi_rw(
        system, amqp_uri, publish_raw, monkeypatch, db_names):
    monkeypatch.setenv("DISPATCH_MONGO_DATABASE", db_names["dispatch"])
    load_roster_file(DEMO_ROSTER, system.mongo_uri)
    incident = create_incident()
    publish_raw(incident)  # plain kombu, JSON, intake.events / incident_reported
    sms = next(m for m in gateway_messages(amqp_uri, until=lambda got: sent_to("officer", got))
               if m["data"]["recipient_role"] == "officer")
    assert sms["type"] == "sms_requested"
    assert sms["data"]["to"] == "+6281210010505"  # Bripda Rizky Pratama, Polisi RW of Menteng RW05
    assert sms["data"]["recipient_role"] == "officer"
    assert sms["data"]["encoding"] == "GSM-7" and sms["data"]["segments"] == 1
    assert "Kel. Menteng, RW 05" in sms["data"]["text"]


def test_gps_only_incident_in_a_kelurahan_without_an_officer_reaches_the_bordering_bhabinkamtibmas(
        system, amqp_uri, publish_raw, monkeypatch, db_names):
    """Coordinates only: intake finds Gondangdia from its boundary; it has no officer of its own, so
    the Bhabinkamtibmas of the nearest bordering kelurahan of the same Polsek (Kebon Sirih) goes."""
    monkeypatch.setenv("DISPATCH_MONGO_DATABASE", db_names["dispatch"])
    load_roster_file(DEMO_ROSTER, system.mongo_uri)
    gondangdia = {"lat": -6.1875, "lon": 106.8300, "village_code": None, "rw": None, "address": None}
    publish_raw(create_incident(data={"category": "kebakaran", "location": gondangdia}))
    about_gondangdia = [m for m in gateway_messages(amqp_uri, until=lambda got: any(
        m["data"]["recipient_role"] == "officer" and "Gondangdia" in m["data"]["text"] for m in got))
        if m["data"]["recipient_role"] == "officer" and "Gondangdia" in m["data"]["text"]]
    assert about_gondangdia[0]["data"]["to"] == "+6285710057734"  # Brigpol Dewi Lestari, Bhabinkamtibmas of Kebon Sirih


def test_sender_of_an_incident_with_an_unknown_village_reads_report_rejected_with_every_reason(
        system, amqp_uri, publish_raw):
    incident = create_incident(data={"location": {"village_code": "31.71.06.1999"}, "reporter": {"phone": "0812-1"}})
    publish_raw(incident)
    taken = read_queue(amqp_uri, UPSTREAM_QUEUE, lambda raw: len(raw) >= 1)
    assert taken, "no report_rejected reached the upstream apps' queue"
    message = taken[0]
    rejected = json.loads(message.body)
    assert rejected["type"] == "report_rejected"
    assert rejected["data"]["original"] == {"source": incident["source"], "id": incident["id"]}
    assert set(rejected["data"]["reasons"]) == {"location.village_code", "reporter.phone"}
