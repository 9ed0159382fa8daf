"""Intake on the real broker and Mongo-wire server: every source, every reason, redelivery, near-duplicates."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from services.reports.service import ReportsService
from tests.factories import create_incident, of_type, wait_until
from tests.factories.reports import create_source_incident

pytestmark = pytest.mark.integration

MENTENG = {"lat": -6.1966, "lon": 106.8322, "village_code": "31.71.06.1001", "rw": 5}


def metres_north(place: dict, metres: float) -> dict:
    return place | {"lat": place["lat"] + metres / 111_320}


@pytest.fixture
def events(declared, tap):
    """Everything reports publishes (a tap also makes each event type routable)."""
    return tap(("reports.events", "#"))


@pytest.fixture
def reports(declared, container_factory, config_for):
    container = container_factory(ReportsService, config_for("reports"))
    container.start()
    return container


@pytest.fixture
def db(mongo_client, db_names):
    return mongo_client[db_names["reports"]]


def answer_to(incident: dict):
    return lambda body: body.get("causationid") == incident["id"] or (
        body["type"] == "report_rejected" and body["data"]["original"]["id"] == incident["id"])


@pytest.mark.parametrize("kind", ["citizen_app", "hotline_110", "cctv", "siskamling", "patrol"])
def test_each_upstream_source_becomes_one_report_received(kind, events, reports, publish_raw, db):
    incident = create_source_incident(kind)
    publish_raw(incident)
    received = events.wait_for(answer_to(incident))
    assert received["type"] == "report_received"
    data = received["data"]
    assert (data["source_kind"], data["category"], data["place"]["village_name"]) == (kind, "traffic_accident",
                                                                                       "Menteng")
    stored = db.reports.find_one({"_id": data["report_id"]})
    assert stored["origin"] == {"source": incident["source"], "id": incident["id"]}
    assert stored["status"] == "received"
    if kind == "patrol":
        assert data["reporting_officer_nrp"] == "90120344"
    if kind == "hotline_110":
        assert stored["source_details"]["caller_number"] == "+6281388884321"


def test_low_confidence_cctv_is_held_for_a_person_then_dispatched_when_reviewed(
        events, reports, publish_raw, db, amqp_uri):
    incident = create_source_incident("cctv", details={"camera_id": "KS-03", "label": "fire", "confidence": 0.2},
                                      data={"category": "kebakaran"})
    publish_raw(incident)
    held = wait_until(lambda: db.reports.find_one({"origin.id": incident["id"]}), lambda r: r is not None)
    assert (held["status"], held["priority"]) == ("needs_review", "P2")
    assert not [e for e in events.drain(idle=1.0) if e.get("causationid") == incident["id"]]

    with ServiceRpcProxy("reports", {"AMQP_URI": amqp_uri}) as console:
        view = console.review_report(held["_id"], "dispatch", "operator-07")
        assert view["status"] == "received"
        assert view["review"]["by"] == "operator-07" and isinstance(view["review"]["at"], str)
        with pytest.raises(RemoteError, match="NotUnderReview"):
            console.review_report(held["_id"], "dispatch", "operator-08")
    received = events.wait_for(of_type("report_received", report_id=held["_id"]))
    assert received["correlationid"] == held["_id"]


@pytest.mark.parametrize("overrides, field", [
    ({"data": {"location": {"village_code": "31.71.06.1999"}}}, "location.village_code"),
    ({"data": {"reporter": {"name": "Andi", "phone": "0812-1"}}}, "reporter.phone"),
    ({"data": {"occurred_at": (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()}}, "occurred_at"),
    ({"kind": "cctv", "details": {"camera_id": "KS-03", "label": "fire"}}, "details.confidence"),
    ({"kind": "patrol", "details": {"officer_nrp": "abc"}}, "details.officer_nrp"),
    ({"kind": "hotline_110", "details": {"priority": "P0"}}, "details.priority"),
    ({"data": {"location": {"lat": 14.6, "lon": 121.0}}}, "location.lat"),  # Manila: outside the bounding box
    ({"data": {"description": ""}}, "description"),
], ids=["unknown-village", "bad-phone", "future", "cctv-confidence", "patrol-nrp", "hotline-priority",
        "outside-indonesia", "empty-description"])
def test_each_rejection_reason_reaches_the_sender_in_english_and_indonesian(
        overrides, field, events, reports, publish_raw, db):
    kind = overrides.pop("kind", "citizen_app")
    incident = create_source_incident(kind, details=overrides.get("details"), data=overrides.get("data"))
    publish_raw(incident)
    rejected = events.wait_for(answer_to(incident))
    assert rejected["type"] == "report_rejected"
    assert rejected["data"]["original"] == {"source": incident["source"], "id": incident["id"]}
    explanation = rejected["data"]["explanations"][field]
    assert explanation["en"] and explanation["id"] and explanation["en"] != explanation["id"]
    assert db.reports.count_documents({}) == 0


def test_every_reason_of_one_incident_is_listed(events, reports, publish_raw):
    incident = create_source_incident("cctv", details={"label": "fire", "confidence": 3}, data={
        "location": {"village_code": "31.71.06.1999"}, "reporter": {"phone": "12"}})
    publish_raw(incident)
    rejected = events.wait_for(answer_to(incident))
    assert set(rejected["data"]["explanations"]) == {
        "details.camera_id", "details.confidence", "location.village_code", "reporter.phone"}
    assert set(rejected["data"]["reasons"]) == set(rejected["data"]["explanations"])


def test_redelivered_rejection_is_republished_with_the_same_id(events, reports, publish_raw):
    incident = create_incident(data={"location": {"village_code": "31.71.06.1999"}})
    publish_raw(incident)
    publish_raw(incident)
    first = events.wait_for(answer_to(incident))
    answers = [e for e in events.drain(idle=1.5) if answer_to(incident)(e)]
    assert [e["id"] for e in answers] == [first["id"], first["id"]]


def test_accident_within_150m_and_30min_is_linked_not_dispatched(events, reports, publish_raw, db, amqp_uri):
    first = create_incident(data={"location": MENTENG})
    publish_raw(first)
    original = events.wait_for(answer_to(first))["data"]
    second = create_source_incident("hotline_110", data={"location": metres_north(MENTENG, 100), "category": "laka"},
                                    reporter={"name": "Sri", "phone": "0813-1111-2222"})
    publish_raw(second)
    duplicate = events.wait_for(answer_to(second))
    assert duplicate["type"] == "duplicate_reported"
    assert duplicate["data"]["original_report_id"] == original["report_id"]
    assert 90 <= duplicate["data"]["distance_m"] <= 110
    stored = db.reports.find_one({"_id": original["report_id"]})
    assert stored["duplicate_count"] == 1
    assert stored["duplicates"][0]["reporter"]["phone"] == "+6281311112222"
    assert db.reports.find_one({"_id": duplicate["data"]["report_id"]})["status"] == "duplicate"

    with ServiceRpcProxy("reports", {"AMQP_URI": amqp_uri}) as console:  # what a console shows of it
        view = console.get_report(original["report_id"])
    assert view["duplicate_count"] == 1 and isinstance(view["duplicates"][0]["received_at"], str)

    farther = create_incident(data={"location": metres_north(MENTENG, 400)})
    publish_raw(farther)
    assert events.wait_for(answer_to(farther))["type"] == "report_received"


def test_fire_window_is_wider_than_an_accident(events, reports, publish_raw):
    fire = {"category": "kebakaran", "location": MENTENG}
    first = create_incident(data=fire)
    publish_raw(first)
    events.wait_for(answer_to(first))
    near = create_incident(data=fire | {"location": metres_north(MENTENG, 250)})
    publish_raw(near)
    assert events.wait_for(answer_to(near))["type"] == "duplicate_reported"
    accident_far = create_incident(data={"location": metres_north(MENTENG, 250)})
    publish_raw(accident_far)
    assert events.wait_for(answer_to(accident_far))["type"] == "report_received"


def test_without_coordinates_the_same_village_and_category_is_a_duplicate(events, reports, publish_raw):
    village_only = {"village_code": "31.71.06.1003", "rw": 7}
    first = create_incident(data={"category": "curanmor", "location": village_only})
    publish_raw(first)
    assert events.wait_for(answer_to(first))["type"] == "report_received"
    again = create_incident(data={"category": "pencurian", "location": village_only | {"rw": 2}})
    publish_raw(again)
    duplicate = events.wait_for(answer_to(again))
    assert duplicate["type"] == "duplicate_reported" and duplicate["data"]["distance_m"] is None
    other_village = create_incident(data={"category": "curanmor", "location": {"village_code": "31.71.06.1004"}})
    publish_raw(other_village)
    assert events.wait_for(answer_to(other_village))["type"] == "report_received"
    other_category = create_incident(data={"category": "kebakaran", "location": village_only})
    publish_raw(other_category)
    assert events.wait_for(answer_to(other_category))["type"] == "report_received"


def test_a_closed_report_is_no_longer_an_original(events, reports, publish_raw, db):
    first = create_incident()
    publish_raw(first)
    original = events.wait_for(answer_to(first))["data"]
    db.reports.update_one({"_id": original["report_id"]}, {"$set": {"status": "resolved"}})
    again = create_incident()
    publish_raw(again)
    assert events.wait_for(answer_to(again))["type"] == "report_received"


def test_redelivered_duplicate_is_linked_once_and_republished_with_the_same_id(events, reports, publish_raw, db):
    first = create_incident()
    publish_raw(first)
    original = events.wait_for(answer_to(first))["data"]
    second = create_incident()
    publish_raw(second)
    publish_raw(second)
    duplicate = events.wait_for(answer_to(second))
    answers = [e for e in events.drain(idle=1.5) if answer_to(second)(e)]
    assert [e["id"] for e in answers] == [duplicate["id"], duplicate["id"]]
    assert db.reports.find_one({"_id": original["report_id"]})["duplicate_count"] == 1
    assert db.reports.count_documents({}) == 2


def test_console_reads_one_report_and_lists_them_with_filters(events, reports, publish_raw, amqp_uri):
    accident = create_incident()
    theft = create_incident(data={"category": "curanmor", "location": {"village_code": "31.71.06.1003"}})
    for incident in (accident, theft):
        publish_raw(incident)
    accident_id = events.wait_for(answer_to(accident))["data"]["report_id"]
    theft_id = events.wait_for(answer_to(theft))["data"]["report_id"]
    with ServiceRpcProxy("reports", {"AMQP_URI": amqp_uri}) as console:
        view = console.get_report(accident_id)
        assert (view["report_id"], view["status"], view["category"]) == (accident_id, "received", "traffic_accident")
        assert view["history"][0]["status"] == "received"
        assert [r["report_id"] for r in console.list_reports(category="curanmor")] == [theft_id]
        assert [r["report_id"] for r in console.list_reports(village_code="31.71.06.1001")] == [accident_id]
        assert {r["report_id"] for r in console.list_reports(status="received")} == {accident_id, theft_id}
        assert console.list_reports(status=["resolved"]) == []
        later = (datetime.now(timezone.utc) + timedelta(minutes=10)).isoformat()
        assert console.list_reports(received_from=later) == []
        with pytest.raises(RemoteError, match="ReportNotFound"):
            console.get_report("no-such-report")
        with pytest.raises(RemoteError, match="InvalidFilter.*status.*village_code"):
            console.list_reports(status="lost", village_code="31.71")
