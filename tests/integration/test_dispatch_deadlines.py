"""Acknowledgement deadlines live in the database: expiry → next officer → duty desk, once per expiry
with two replicas, across a restart, after a worker died mid-way, and at once when the SMS failed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.dispatch import usecases
from tests.factories import create_report_received, of_type
from tests.factories.dispatch import BHABIN_CIKINI, BHABIN_MENTENG, DUTY_DESK, PATROL_YOGA, POLISI_RW_MENTENG_RW05

pytestmark = pytest.mark.integration

# A follow-up still running after the grace is taken for a dead worker's and done again (same events, same
# ids): at 0.5 s a loaded machine's live follow-up is repeated, so only the test of a dead worker uses it.
FAST = {"ACK_SECONDS": {"P1": 1}, "SWEEP_SECONDS": 0.2, "MAX_TRIES": 3}
SLOW = {"ACK_SECONDS": {"P1": 600}, "SWEEP_SECONDS": 0.2, "FOLLOW_UP_GRACE_S": 0.5}


@pytest.fixture
def store(store):
    """The demo roster with Yoga's patrol located near Menteng RW05 (after the bordering Bhabinkamtibmas)."""
    store.update_location(PATROL_YOGA, -6.1950, 106.8320, datetime.now(timezone.utc))
    return store


def send_report(publish_raw) -> dict:
    envelope = create_report_received()
    publish_raw(envelope, exchange="reports.events", routing_key="report_received")
    return envelope


def test_unacknowledged_assignments_expire_go_to_the_next_officer_then_the_duty_desk_once_each(
        store, events, publish_raw, start_dispatch):
    for _ in range(2):  # two replicas sweep the same deadlines
        start_dispatch(**FAST)
    send_report(publish_raw)
    escalated = events.wait_for(of_type("assignment_escalated"), timeout=30)
    seen = events.drain(idle=1.0)

    created = [e["data"] for e in seen if e["type"] == "assignment_created"]
    expired = [e["data"] for e in seen if e["type"] == "assignment_expired"]
    assert [(c["officer"]["nrp"], c["attempt"]) for c in created] == [
        (POLISI_RW_MENTENG_RW05, 1), (BHABIN_MENTENG, 2), (BHABIN_CIKINI, 3)]
    assert created[2]["rule"] == "adjacent_bhabinkamtibmas"  # the nearest bordering kelurahan's
    assert [(x["assignment_id"], x["attempt"], x["via"]) for x in expired] == [
        (c["assignment_id"], c["attempt"], "system") for c in created], "each expiry exactly once"
    assert expired[0]["reason"] == "not acknowledged by the deadline"
    assert len([e for e in seen if e["type"] == "assignment_escalated"]) == 1
    assert escalated["data"]["duty_desk"]["nrp"] == DUTY_DESK
    assert escalated["data"]["attempts"] == 3 and escalated["data"]["reason"] == "3 officers tried, none took it"
    assert escalated["causationid"] == next(e["id"] for e in seen if e["type"] == "assignment_expired"
                                            and e["data"]["attempt"] == 3)
    assert all(store.officer(nrp)["status"] == "available"
               for nrp in (POLISI_RW_MENTENG_RW05, BHABIN_MENTENG, BHABIN_CIKINI))


def test_a_deadline_survives_a_restart_of_the_service(
        store, events, publish_raw, start_dispatch):
    settings = FAST | {"ACK_SECONDS": {"P1": 4}}
    first = start_dispatch(**settings)
    send_report(publish_raw)
    created = events.wait_for(of_type("assignment_created"))
    first.stop()  # the deadline is still running: nothing in memory survives this
    assert not [e for e in events.seen if e["type"] == "assignment_expired"]

    start_dispatch(**settings)
    expired = events.wait_for(of_type("assignment_expired"), timeout=30)
    assert expired["data"]["assignment_id"] == created["data"]["assignment_id"]
    following = events.wait_for(of_type("assignment_created", attempt=2))
    assert following["data"]["officer"]["nrp"] == BHABIN_MENTENG


def test_a_follow_up_left_half_done_by_a_dead_worker_is_finished_by_a_sweep(
        store, events, publish_raw, start_dispatch):
    start_dispatch(**SLOW)
    send_report(publish_raw)
    created = events.wait_for(of_type("assignment_created"))
    # a replica won the expiry's compare-and-set, then died before saying so or reassigning
    assignment = store.assignment(created["data"]["assignment_id"])
    assert usecases.mark_expired(store, datetime.now(timezone.utc) - timedelta(seconds=5), assignment,
                                 "not acknowledged in time")

    expired = events.wait_for(of_type("assignment_expired"))
    following = events.wait_for(of_type("assignment_created", attempt=2))
    assert expired["data"]["assignment_id"] == created["data"]["assignment_id"]
    assert following["data"]["officer"]["nrp"] == BHABIN_MENTENG
    assert following["causationid"] == expired["id"]
    assert store.officer(POLISI_RW_MENTENG_RW05)["status"] == "available"


def test_an_officer_the_assignment_sms_never_reached_is_replaced_at_once(
        store, events, publish_raw, start_dispatch):
    start_dispatch(**SLOW)
    envelope = send_report(publish_raw)
    created = events.wait_for(of_type("assignment_created"))
    failed = {"specversion": "1.0", "id": "sms-failed-1", "source": "/siaga/notify", "type": "sms_failed",
              "time": datetime.now(timezone.utc).isoformat(), "correlationid": envelope["data"]["report_id"],
              "data": {"sms_id": "s1", "to": created["data"]["officer"]["phone"], "recipient_role": "officer",
                       "report_id": envelope["data"]["report_id"], "assignment_id": created["data"]["assignment_id"],
                       "attempts": 5, "reason": "gateway refused: unknown subscriber"}}
    publish_raw(failed, exchange="notify.events", routing_key="sms_failed")
    expired = events.wait_for(of_type("assignment_expired"))
    assert expired["data"]["reason"] == "officer unreachable by SMS (gateway refused: unknown subscriber)"
    assert events.wait_for(of_type("assignment_created", attempt=2))["data"]["officer"]["nrp"] == BHABIN_MENTENG
