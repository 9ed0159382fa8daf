"""The Mongo shapes reports' store builds from the rules: a console's filters, a first step's update."""
from __future__ import annotations

from datetime import datetime, timezone

from services.reports.lifecycle import AssignmentStep
from services.reports.storage import first_step_update, list_filter

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


def test_a_consoles_filters_become_one_query_with_the_category_code():
    query = list_filter({"status": ["received", "awaiting_officer"], "village_code": "31.71.06.1001",
                         "category": "laka lantas", "received_from": T0})
    assert query == {"status": {"$in": ["received", "awaiting_officer"]}, "place.village_code": "31.71.06.1001",
                     "category": "traffic_accident", "received_at": {"$gte": T0}}
    assert list_filter({}) == {}


def test_a_first_decline_leaves_a_fresh_report_awaiting_an_officer_in_plain_operators():
    fresh, update = first_step_update(AssignmentStep("rep-1", "a1", "declined", T0, {"nrp": "90120344"}, "sakit"))
    assert fresh == {"_id": "rep-1", "status": "received", "current": {"$exists": False}}
    assert update["$set"]["status"] == "awaiting_officer"
    assert update["$set"]["assignments.a1"] == {"rank": 0, "ended": True, "last_at": T0, "steps": {"declined": T0},
                                                "officer": {"nrp": "90120344"}, "notes": {"declined": "sakit"}}
    assert update["$push"]["history"] == {"status": "awaiting_officer", "at": T0, "assignment_id": "a1",
                                          "officer_nrp": "90120344"}
