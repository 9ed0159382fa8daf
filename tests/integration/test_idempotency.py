"""At-least-once delivery, exactly-once effects: every handler delivered the same event twice."""
from __future__ import annotations

from collections import Counter

import pytest

from services.dispatch.service import DispatchService
from services.notify.service import NotifyService
from services.reports.service import ReportsService
from tests.factories import create_incident, create_report_received, of_type

pytestmark = pytest.mark.integration


@pytest.fixture
def roster(store):
    """The demo roster, loaded before dispatch starts."""
    return store


def start(container_factory, config_for, *services):
    for service in services:
        container_factory(service, config_for(service.name)).start()


def test_incident_delivered_twice_is_stored_once_and_its_outcome_republished_with_the_same_id(
        declared, publish_raw, tap, container_factory, config_for, mongo_client, db_names):
    received = tap(("reports.events", "report_received"))
    start(container_factory, config_for, ReportsService)
    incident = create_incident()
    publish_raw(incident)
    publish_raw(incident)
    first = received.wait_for(of_type("report_received"))
    events = received.drain(idle=1.5)
    assert [e["id"] for e in events] == [first["id"], first["id"]]
    assert mongo_client[db_names["reports"]].reports.count_documents({}) == 1


def test_report_received_twice_claims_one_officer_once(
        declared, roster, publish_raw, tap, container_factory, config_for, mongo_client, db_names):
    created = tap(("dispatch.events", "assignment_created"))
    start(container_factory, config_for, ReportsService, DispatchService)
    report_received = tap(("reports.events", "report_received"))
    publish_raw(create_incident())
    received = report_received.wait_for(of_type("report_received"))
    publish_raw(received, exchange="reports.events", routing_key="report_received")  # a broker redelivery
    events = created.drain(idle=1.5)
    assert len({e["id"] for e in events}) == 1 and len(events) == 2
    assert events[0]["data"]["officer"]["nrp"] == "90120344"  # the Polisi RW of Menteng RW05
    db = mongo_client[db_names["dispatch"]]
    assert db.assignments.count_documents({}) == 1
    assert db.officers.count_documents({"status": "assigned"}) == 1


def test_assignment_created_twice_requests_one_sms(
        declared, roster, publish_raw, tap, container_factory, config_for, mongo_client, db_names):
    sms = tap(("notify.events", "sms_requested"))
    created = tap(("dispatch.events", "assignment_created"))
    start(container_factory, config_for, ReportsService, DispatchService, NotifyService)
    publish_raw(create_incident())
    assignment = created.wait_for(of_type("assignment_created"))
    publish_raw(assignment, exchange="dispatch.events", routing_key="assignment_created")
    events = [e for e in sms.drain(idle=1.5) if e["data"]["recipient_role"] == "officer"]  # the reporter's aside
    assert len(events) == 2 and len({e["id"] for e in events}) == 1
    assert {e["data"]["sms_id"] for e in events} == {events[0]["data"]["sms_id"]}
    assert mongo_client[db_names["notify"]].notifications.count_documents({"recipient_role": "officer"}) == 1


def test_correlation_id_is_the_report_id_through_the_whole_chain(
        declared, roster, publish_raw, tap, container_factory, config_for):
    events = tap(("reports.events", "#"), ("dispatch.events", "#"), ("notify.events", "#"))
    start(container_factory, config_for, ReportsService, DispatchService, NotifyService)
    incident = create_incident()
    publish_raw(incident)
    sms = events.wait_for(of_type("sms_requested", recipient_role="officer"))
    received = events.wait_for(of_type("report_received"))
    assignment = events.wait_for(of_type("assignment_created"))
    report_id = received["data"]["report_id"]
    assert {received["correlationid"], assignment["correlationid"], sms["correlationid"]} == {report_id}
    assert (received["causationid"], assignment["causationid"], sms["causationid"]) == (
        incident["id"], received["id"], assignment["id"])


def test_report_received_again_after_its_officer_was_freed_or_after_an_escalation_decides_nothing_anew(
        declared, roster, publish_raw, tap, container_factory, config_for, mongo_client, db_names):
    """The decision is stored and said again, same id and time: a repeat leaves the officer free (the
    claim it made before its insert met the stored decision is undone), and never assigns an escalated
    report to an officer free by now."""
    events = tap(("dispatch.events", "#"))
    start(container_factory, config_for, DispatchService)
    db = mongo_client[db_names["dispatch"]]

    assigned = create_report_received()
    publish_raw(assigned, exchange="reports.events", routing_key="report_received")
    created = events.wait_for(of_type("assignment_created"))
    nrp = created["data"]["officer"]["nrp"]
    db.assignments.update_one({"_id": created["data"]["assignment_id"]}, {"$set": {"state": "completed"}})
    roster.release(nrp, created["data"]["assignment_id"])  # the assignment ended; the officer is free

    not_dispatchers = {"role": {"$ne": "duty_desk"}}
    db.officers.update_many(not_dispatchers, {"$set": {"status": "off_duty", "free_cell": None}})
    escalated_report = create_report_received()
    publish_raw(escalated_report, exchange="reports.events", routing_key="report_received")
    escalated = events.wait_for(of_type("assignment_escalated"))
    db.officers.update_many(not_dispatchers, [{"$set": {"status": "available", "free_cell": "$cell"}}])

    publish_raw(assigned, exchange="reports.events", routing_key="report_received")
    publish_raw(escalated_report, exchange="reports.events", routing_key="report_received")
    decisions = [e for e in events.drain(idle=2.0) if e["type"] in ("assignment_created", "assignment_escalated")]
    told = Counter((e["id"], e["time"]) for e in decisions)  # the tap keeps the first telling too
    assert told == {(created["id"], created["time"]): 2, (escalated["id"], escalated["time"]): 2}
    officer = db.officers.find_one({"_id": nrp})
    assert officer["status"] == "available" and officer["assignment_id"] is None
    assert db.officers.count_documents({"assignment_id": {"$ne": None}}) == 0
    assert db.assignments.count_documents({"state": {"$ne": "escalated"}}) == 1
