"""The RPCs a console adds to dispatch: a Polsek's roster, and reassigning a report by hand to a named officer
with the same compare-and-set claims and the usual events — on the real broker and database."""
from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError

from services.dispatch import usecases
from services.dispatch.choice import NAMED_RULE
from shared.envelope import utcnow
from tests.factories import create_report_received, eventually, of_type
from tests.factories.dispatch import BHABIN_MENTENG, PATROL_YOGA, POLISI_RW_MENTENG_RW05

pytestmark = pytest.mark.integration

OPERATOR = "piket.menteng"  # the console operator each action is recorded under


def test_list_officers_shows_a_polseks_roster_with_each_officers_current_assignment(rpc, assignment):
    roster = rpc.list_officers("31.71.06")
    assert len(roster) == 13
    by_nrp = {officer["nrp"]: officer for officer in roster}
    busy = by_nrp[POLISI_RW_MENTENG_RW05]
    assert (busy["role"], busy["areas"], busy["status"]) == ("polisi_rw", ["31.71.06.1001/RW05"], "assigned")
    assert busy["assignment"] == {
        "assignment_id": assignment["assignment_id"], "state": "created",
        "report_id": assignment["report"]["report_id"], "number": assignment["report"]["number"],
        "category": "traffic_accident", "priority": "P1"}
    assert by_nrp[BHABIN_MENTENG]["assignment"] is None
    assert isinstance(by_nrp[BHABIN_MENTENG]["on_shift"], bool)


def test_list_officers_filters_by_village_and_status_and_explains_a_bad_filter(rpc, assignment):
    menteng = {o["nrp"] for o in rpc.list_officers("31.71.06", village="31.71.06.1001")}
    assert menteng == {BHABIN_MENTENG, POLISI_RW_MENTENG_RW05}  # the village's officer and its RW's
    assert [o["nrp"] for o in rpc.list_officers("31.71.06", status="assigned")] == [POLISI_RW_MENTENG_RW05]
    assert rpc.list_officers("31.71.01") == []
    for bad, reason in ((dict(polsek="menteng"), "district code"),
                        (dict(polsek="31.71.06", village="31.71.07.1001"), "village code of Polsek 31.71.06"),
                        (dict(polsek="31.71.06", status="sleeping"), "one of off_duty")):
        with pytest.raises(RemoteError) as caught:
            rpc.list_officers(**bad)
        assert caught.value.exc_type == "DispatchError" and reason in caught.value.value


def test_reassigning_by_hand_declines_via_console_and_claims_the_named_officer(rpc, assignment, events, store):
    result = rpc.reassign_assignment(assignment["assignment_id"], PATROL_YOGA, "Yoga sudah dekat lokasi (radio)",
                                     by_operator=OPERATOR)

    declined = events.wait_for(of_type("assignment_declined", assignment_id=assignment["assignment_id"]))
    assert (declined["data"]["via"], declined["data"]["by_operator"]) == ("console", OPERATOR)
    assert declined["data"]["reason"] == ("reassigned by console to Brigpol Yoga Saputra (85060788): "
                                          "Yoga sudah dekat lokasi (radio)")
    created = events.wait_for(of_type("assignment_created", attempt=2))["data"]
    assert (created["officer"]["nrp"], created["rule"]) == (PATROL_YOGA, NAMED_RULE)
    assert created["reason"] == "named by the duty officer on the console: Yoga sudah dekat lokasi (radio)"
    assert result["assignment"]["assignment_id"] == created["assignment_id"]
    assert result["ended"]["state"] == "declined"
    assert store.officer(PATROL_YOGA)["assignment_id"] == created["assignment_id"]
    assert store.officer(POLISI_RW_MENTENG_RW05)["status"] == "available"
    assert rpc.acknowledge_assignment(created["assignment_id"], by_operator=OPERATOR)["state"] == "acknowledged"


def test_reassigning_to_a_busy_officer_or_a_finished_assignment_is_refused_and_changes_nothing(
        rpc, assignment, events, store, publish_raw):
    publish_raw(create_report_received(), exchange="reports.events", routing_key="report_received")
    other = events.wait_for(lambda e: e["type"] == "assignment_created"
                            and e["data"]["assignment_id"] != assignment["assignment_id"])["data"]
    with pytest.raises(RemoteError) as caught:
        rpc.reassign_assignment(assignment["assignment_id"], other["officer"]["nrp"], "dekat", by_operator=OPERATOR)
    assert caught.value.exc_type == "OfficerNotFree"
    assert f"{other['officer']['name']} is assigned on another report" in caught.value.value
    with pytest.raises(RemoteError) as caught:
        rpc.reassign_assignment(assignment["assignment_id"], POLISI_RW_MENTENG_RW05, "dekat", by_operator=OPERATOR)
    assert "already assigned to Bripda Rizky Pratama" in caught.value.value
    with pytest.raises(RemoteError) as caught:
        rpc.reassign_assignment(assignment["assignment_id"], PATROL_YOGA, "   ", by_operator=OPERATOR)
    assert "say why" in caught.value.value
    assert store.assignment(assignment["assignment_id"])["state"] == "created"

    rpc.complete_assignment(assignment["assignment_id"], "selesai", by_operator=OPERATOR)
    with pytest.raises(RemoteError) as caught:
        rpc.reassign_assignment(assignment["assignment_id"], PATROL_YOGA, "dekat", by_operator=OPERATOR)
    assert caught.value.exc_type == "InvalidTransition" and "already completed" in caught.value.value
    assert not [e for e in events.drain(idle=1.0) if e["type"] == "assignment_declined"]


def test_a_reassignment_whose_follow_up_died_is_finished_by_the_sweep_with_the_named_officer(
        store, start_dispatch, events, publish_raw):
    start_dispatch(SWEEP_SECONDS=0.2, FOLLOW_UP_GRACE_S=0)
    publish_raw(create_report_received(), exchange="reports.events", routing_key="report_received")
    first = events.wait_for(of_type("assignment_created"))["data"]

    # a worker that died right after this
    usecases.mark_reassigned(store, utcnow(), first["assignment_id"], PATROL_YOGA, "radio")

    created = events.wait_for(of_type("assignment_created", attempt=2))["data"]
    assert (created["officer"]["nrp"], created["rule"]) == (PATROL_YOGA, NAMED_RULE)
    assert store.officer(PATROL_YOGA)["assignment_id"] == created["assignment_id"]
    # the follow-up is marked finished just after its event is published
    finished = eventually(lambda: store.assignment(first["assignment_id"]), lambda a: a.get("successor") is not None)
    assert finished["successor"] == created["assignment_id"]
