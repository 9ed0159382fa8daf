"""The system converges on its own: a write lost behind the services' back is healed by a sweep."""
from __future__ import annotations

import pytest

from services.dispatch.service import DispatchService
from services.notify.service import NotifyService
from services.reports.service import ReportsService
from services.reports.storage import ReportStore
from shared.lifecycle import CREATED, RECEIVED
from tests.factories import create_incident, create_report_received, of_type, wait_until

pytestmark = pytest.mark.integration

SWEEP = {"SECONDS": 0.2, "RECEIVED_DEADLINE_SECONDS": 0.5}


def test_a_report_whose_assignment_step_was_lost_is_said_again_and_gets_the_same_assignment(
        store, declared, tap, publish_raw, container_factory, config_for, mongo_client, db_names):
    """The issue's case: the report stayed `received` forever while dispatch held its assignment."""
    assignments = tap(("dispatch.events", "assignment_created"))
    reports = ReportStore(mongo_client[db_names["reports"]])
    container_factory(DispatchService, config_for("dispatch")).start()
    container_factory(ReportsService, config_for("reports", SWEEP=SWEEP)).start()
    publish_raw(create_incident())
    first = assignments.wait_for(of_type("assignment_created"))
    report_id = first["correlationid"]
    wait_until(lambda: reports.get(report_id), lambda report: report["status"] == CREATED.report_status)

    reports.db.reports.update_one(  # the step's write, lost: the report as intake left it
        {"_id": report_id}, {"$set": {"status": RECEIVED}, "$unset": {
            "current": "", "current_at": "", "assignments": "", "officer": ""}, "$pop": {"history": 1}})

    healed = wait_until(lambda: reports.get(report_id), lambda report: report["status"] == CREATED.report_status)
    assert healed["current"] == first["data"]["assignment_id"]
    assert healed["officer"]["nrp"] == first["data"]["officer"]["nrp"]
    said = [body for body in assignments.drain(idle=0.5) if body["correlationid"] == report_id]
    assert len(said) >= 2 and {body["id"] for body in said} == {first["id"]}  # the stored decision, said again


def test_an_officer_sms_record_lost_after_the_sms_went_out_is_recorded_again_with_no_second_sms(
        store, declared, tap, publish_raw, container_factory, config_for, mongo_client, db_names):
    """The assignment stays unacknowledged: dispatch says its assignment_created again, and notify records the
    SMS again under the same sms_id, so the gateway answers as before instead of sending it twice."""
    seen = tap(("dispatch.events", "assignment_created"), ("notify.events", "sms_requested"))
    notify_db = mongo_client[db_names["notify"]]
    container_factory(DispatchService, config_for("dispatch", DISPATCH={"SWEEP_SECONDS": 0.1,
                                                                        "REANNOUNCE_S": 1.0})).start()
    container_factory(NotifyService, config_for("notify", SMS={"ANSWER_TIMEOUT": 60})).start()
    publish_raw(create_report_received(), exchange="reports.events", routing_key="report_received")
    created = seen.wait_for(of_type("assignment_created"))
    assignment_id = created["data"]["assignment_id"]
    first = seen.wait_for(lambda body: body["type"] == "sms_requested"
                          and body["data"]["assignment_id"] == assignment_id)
    assert notify_db.notifications.delete_one({"_id": first["data"]["sms_id"]}).deleted_count == 1

    healed = wait_until(lambda: notify_db.notifications.find_one({"_id": first["data"]["sms_id"]}),
                        lambda record: record is not None)
    assert healed["assignment_id"] == assignment_id and healed["attempt"] == 1
    said = [body for body in seen.drain(idle=1.5) if body["data"].get("assignment_id") == assignment_id]
    assert {body["id"] for body in said if body["type"] == "assignment_created"} == {created["id"]}
    assert {body["id"] for body in said if body["type"] == "sms_requested"} == {first["id"]}  # same request
