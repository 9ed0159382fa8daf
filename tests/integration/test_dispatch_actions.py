"""Console actions by RPC and officers' SMS replies by event: each step is an event, a repeat is a no-op,
an invalid transition gets a clear error (RPC) or a log line (event) — never a dead letter."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from nameko.exceptions import RemoteError

from tests.factories import of_type
from tests.factories.dispatch import BHABIN_MENTENG, POLISI_RW_MENTENG_RW05

pytestmark = pytest.mark.integration

OPERATOR = "piket.menteng"  # the console operator each action is recorded under


@pytest.fixture
def console(rpc):
    """Dispatch as the console calls it."""
    return rpc


def reply(publish_raw, assignment, action, nrp=None, text=None, id="reply-1"):
    publish_raw({"specversion": "1.0", "id": id, "source": "/siaga/notify", "type": "officer_replied",
                 "time": datetime.now(timezone.utc).isoformat(),
                 "data": {"nrp": nrp or assignment["officer"]["nrp"], "phone": assignment["officer"]["phone"],
                          "assignment_id": assignment["assignment_id"], "action": action, "text": text,
                          "replied_at": datetime.now(timezone.utc).isoformat()}},
                exchange="notify.events", routing_key="officer_replied")


def test_console_takes_an_assignment_from_acknowledged_to_completed_and_the_officer_is_free_again(
        console, assignment, events, store):
    assignment_id = assignment["assignment_id"]
    assert console.acknowledge_assignment(assignment_id, by_operator=OPERATOR)["state"] == "acknowledged"
    assert console.mark_assignment_en_route(assignment_id, by_operator=OPERATOR)["state"] == "en_route"
    assert store.officer(POLISI_RW_MENTENG_RW05)["status"] == "en_route"
    assert console.mark_assignment_on_scene(assignment_id, by_operator=OPERATOR)["state"] == "on_scene"
    done = console.complete_assignment(assignment_id, "Korban dibawa ke RS, lalu lintas normal", by_operator=OPERATOR)
    assert [entry["state"] for entry in done["history"]] == [
        "created", "acknowledged", "en_route", "on_scene", "completed"]

    steps = ["assignment_acknowledged", "assignment_departed", "assignment_arrived", "assignment_completed"]
    said = [events.wait_for(of_type(step, assignment_id=assignment_id)) for step in steps]
    assert {(event["data"]["via"], event["data"]["by_operator"]) for event in said} == {("console", OPERATOR)}
    assert {entry.get("by_operator") for entry in done["history"][1:]} == {OPERATOR}
    assert said[-1]["data"]["outcome"] == "Korban dibawa ke RS, lalu lintas normal"
    officer = store.officer(POLISI_RW_MENTENG_RW05)
    assert (officer["status"], officer["assignment_id"]) == ("available", None)


def test_a_repeated_action_is_a_no_op_that_repeats_the_same_event(console, assignment, events):
    console.acknowledge_assignment(assignment["assignment_id"], by_operator=OPERATOR)
    console.acknowledge_assignment(assignment["assignment_id"], by_operator=OPERATOR)
    acknowledged = [e for e in events.drain(idle=1.0) if e["type"] == "assignment_acknowledged"]
    assert len(acknowledged) == 2 and len({e["id"] for e in acknowledged}) == 1


def test_an_invalid_transition_gets_a_reason_a_person_can_read(console, assignment, events):
    console.complete_assignment(assignment["assignment_id"], "selesai", by_operator=OPERATOR)
    with pytest.raises(RemoteError) as caught:
        console.decline_assignment(assignment["assignment_id"], "sedang di tempat lain", by_operator=OPERATOR)
    assert caught.value.exc_type == "InvalidTransition"
    assert f"report #{assignment['report']['number']} was already completed at" in caught.value.value
    with pytest.raises(RemoteError) as caught:
        console.acknowledge_assignment("no-such-assignment", by_operator=OPERATOR)
    assert caught.value.exc_type == "AssignmentNotFound"
    assert not [e for e in events.drain(idle=1.0) if e["type"] == "assignment_declined"]


def test_a_decline_frees_the_officer_and_the_next_candidate_is_tried(console, assignment, events, store):
    console.decline_assignment(assignment["assignment_id"], "sedang menangani kebakaran", by_operator=OPERATOR)
    declined = events.wait_for(of_type("assignment_declined"))
    assert declined["data"]["reason"] == "sedang menangani kebakaran"
    following = events.wait_for(of_type("assignment_created", attempt=2))
    assert following["data"]["officer"]["nrp"] == BHABIN_MENTENG
    assert following["causationid"] == declined["id"]
    tried = {"nrp": POLISI_RW_MENTENG_RW05,
             "reason": "polisi_rw of 31.71.06.1001/RW05 was already tried for this report"}
    assert tried in following["data"]["skipped"]
    assert store.officer(POLISI_RW_MENTENG_RW05)["status"] == "available"


def test_officer_sms_replies_move_the_assignment_and_misfits_are_logged_not_dead_lettered(
        console, assignment, events, publish_raw, tap):
    dead_letters = tap(("siaga.dead-letter", "#"))
    reply(publish_raw, assignment, "acknowledge", nrp="99999999", id="r-wrong-officer")
    reply(publish_raw, assignment, "acknowledge", text="OK", id="r-ok")
    acknowledged = events.wait_for(of_type("assignment_acknowledged"))
    assert acknowledged["data"]["via"] == "sms"
    reply(publish_raw, assignment, "complete", text="SELESAI aman", id="r-done")
    completed = events.wait_for(of_type("assignment_completed"))
    assert completed["data"]["outcome"] == "SELESAI aman"
    reply(publish_raw, assignment, "decline", text="TOLAK", id="r-late-decline")  # after completion: no effect
    reply(publish_raw, assignment, "on_scene", id="r-late-arrival")  # already implied by completion: nothing
    assert console.get_assignment(assignment["assignment_id"])["state"] == "completed"
    assert not [e for e in events.drain(idle=1.5) if e["type"] in ("assignment_declined", "assignment_arrived")]
    assert dead_letters.drain(idle=0.5) == []
