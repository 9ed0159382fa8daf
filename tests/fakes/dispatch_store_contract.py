"""What every dispatch store answers, the same way: the fake (unit tier) and Mongo (integration tier)
run these assertions. Subclass with a `store` fixture; the subclass's name makes pytest collect it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.dispatch import assignments, officers
from services.dispatch.choice import Candidate
from services.dispatch.exceptions import AssignmentNotFound, OfficerNotFound
from shared.envelope import Event
from tests.factories import MENTENG
from tests.factories.dispatch import create_officer

NOW = datetime(2026, 1, 5, 3, 0, tzinfo=timezone.utc)  # whole seconds: the database keeps milliseconds
FIRST, SECOND = "91000001", "91000002"


def stored_assignment(store, officer_nrp: str = FIRST, assignment_id: str = "a1") -> dict:
    cause = Event(id=f"e-{assignment_id}", source="/siaga/reports", type="report_received", time=NOW, data={},
                  correlationid="r1")
    request = {"report": {"report_id": "r1", "number": "MTG-1", "category": "theft", "priority": "P3",
                          "description": "x", "village_code": MENTENG["village_code"], "village_name": "Menteng",
                          "rw": 5, "address": None},
               "place": {key: MENTENG[key] for key in ("lat", "lon", "village_code", "rw")},
               "skills": [], "reporting_officer_nrp": None}
    candidate = Candidate(store.officer(officer_nrp), "nearest_skilled", "near")
    return store.add_assignment(assignments.new_assignment(assignment_id, request, candidate, [], NOW, cause))


class DispatchStoreContract:
    @pytest.fixture(autouse=True)
    def roster(self, store):
        located = {"lat": MENTENG["lat"], "lon": MENTENG["lon"], "located_at": NOW.isoformat()}
        store.replace_roster([create_officer(FIRST, **located), create_officer(SECOND, **located)])

    def test_an_officer_is_claimed_once_and_released_only_by_the_assignment_that_holds_him(self, store):
        assert store.claim(FIRST, "a1") and not store.claim(FIRST, "a2")
        assert store.officer(FIRST)["status"] == "assigned"
        near = {o["_id"] for o in store.officers_near(MENTENG, [], "a2")}
        assert near == {SECOND}  # a claimed officer is out of the spatial index, except for his own claim
        assert FIRST in {o["_id"] for o in store.officers_near(MENTENG, [], "a1")}
        store.release(FIRST, "a2")
        assert store.officer(FIRST)["assignment_id"] == "a1"
        store.hold(FIRST, "a1", "en_route")
        assert store.officer(FIRST)["status"] == "en_route"
        store.release(FIRST, "a1")
        assert (store.officer(FIRST)["status"], store.officer(FIRST)["assignment_id"]) == ("available", None)
        assert store.claim(FIRST, "a2")

    def test_an_officer_on_patrol_who_reported_is_claimed_whatever_his_status(self, store):
        store.update_status(SECOND, "unavailable", NOW)
        assert not store.claim(SECOND, "a1") and store.claim(SECOND, "a1", on_scene=True)
        assert store.officer(SECOND)["status"] == "on_scene"

    def test_an_assignment_is_inserted_once_and_a_second_insert_gets_the_first(self, store):
        first = stored_assignment(store, FIRST)
        again = stored_assignment(store, SECOND)
        assert again["officer"]["nrp"] == FIRST and store.decision("a1")["officer"]["nrp"] == FIRST
        assert store.decision("nothing") is None and first["_id"] == "a1"
        assert [a["_id"] for a in store.assignments_for("r1")] == ["a1"]

    def test_an_assignment_moves_only_from_the_state_it_was_read_in(self, store):
        read = stored_assignment(store)
        acknowledged = store.move(read, assignments.step(read, "acknowledged", NOW, "console"))
        assert acknowledged["state"] == "acknowledged"
        assert store.move(read, assignments.step(read, "declined", NOW, "console", "no")) is None
        stored = store.assignment("a1")
        assert stored["state"] == "acknowledged" and [e["state"] for e in stored["history"]] == [
            "created", "acknowledged"]

    def test_a_cancellation_records_that_nobody_follows(self, store):
        read = stored_assignment(store)
        store.move(read, assignments.cancellation_step(read, "salah lapor", NOW))
        stored = store.assignment("a1")
        assert (stored["state"], stored["due_at"], stored["successor"]) == ("declined", None, "report_cancelled")
        assert not store.is_cancelled("r1")
        store.remember_cancellation("r1", NOW)
        store.remember_cancellation("r1", NOW)
        assert store.is_cancelled("r1")

    def test_overdue_and_stalled_assignments_are_found_and_a_follow_up_is_leased_once(self, store):
        read = stored_assignment(store)
        assert store.overdue(NOW) == [] and [a["_id"] for a in store.overdue(read["due_at"])] == ["a1"]
        later = read["due_at"] + timedelta(seconds=1)
        store.move(read, assignments.step(read, "expired", later, "system"))
        assert store.overdue(later) == []
        stalled = store.stalled_follow_ups(later)
        assert [a["_id"] for a in stalled] == ["a1"] and store.stalled_follow_ups(NOW) == []
        assert store.lease_follow_up(stalled[0], later + timedelta(seconds=5))
        assert not store.lease_follow_up(stalled[0], later + timedelta(seconds=5))
        store.finish_follow_up(stalled[0], "next", later)
        assert store.stalled_follow_ups(later + timedelta(hours=1)) == []
        assert store.assignment("a1")["successor"] == "next"

    def test_an_assignment_is_said_again_once_and_only_while_unanswered_then_its_deadline_is_due(self, store):
        """A P3 assignment: due first to be said again (REANNOUNCE_S), before its deadline."""
        read, other = stored_assignment(store), stored_assignment(store, SECOND, "a2")
        assert read["due_at"] < read["ack_deadline"]
        assert store.mark_reannounced(read, read["due_at"]) and not store.mark_reannounced(read, read["due_at"])
        assert store.assignment("a1")["due_at"] == read["ack_deadline"]
        store.move(other, assignments.step(other, "acknowledged", NOW, "sms"))
        assert not store.mark_reannounced(other, other["due_at"])
        assert store.assignment("a2")["due_at"] is None

    def test_an_escalation_record_is_a_decision_but_not_an_assignment(self, store):
        store.add_assignment(assignments.escalation_record("x1", {"report": {"report_id": "r2"}}, NOW))
        assert store.decision("x1")["state"] == "escalated" and store.assignments_for("r2") == []
        with pytest.raises(AssignmentNotFound):
            store.assignment("x1")

    def test_status_and_location_change_only_with_newer_news_and_never_under_an_assignment(self, store):
        assert store.update_status(FIRST, "off_duty", NOW) and not store.update_status(FIRST, "available", NOW)
        assert store.officers_near(MENTENG, [], "") == [store.officer(SECOND)]
        assert store.claim(SECOND, "a1") and not store.update_status(SECOND, "off_duty", NOW + timedelta(1))
        assert store.update_location(FIRST, -6.2, 106.8, NOW + timedelta(minutes=1))
        assert not store.update_location(FIRST, -6.3, 106.9, NOW)
        assert not store.update_location("00000000", -6.3, 106.9, NOW)
        assert store.officer(FIRST)["lat"] == -6.2
        with pytest.raises(OfficerNotFound):
            store.officer("00000000")

    def test_a_roster_reload_keeps_live_state_and_the_roster_lists_the_current_assignment(self, store):
        stored_assignment(store)
        store.claim(FIRST, "a1")
        store.replace_roster([create_officer(FIRST, name="Bripka Baru", status="off_duty")])
        first = store.officer(FIRST)
        assert (first["name"], first["status"], first["assignment_id"]) == ("Bripka Baru", "assigned", "a1")
        assert first["keys"] == officers.lookup_keys(first, store.settings.h3_resolution)
        listed = store.roster("31.71.06")
        assert [(o["_id"], a and a["state"]) for o, a in listed] == [(FIRST, "created"), (SECOND, None)]
        assert store.roster("31.71.06", status="available")[0][0]["_id"] == SECOND

    def test_an_area_officer_without_a_fix_is_near_by_the_centre_of_their_area(self, store):
        bhabin = create_officer("91000003", role="bhabinkamtibmas", areas=["31.71.06.1004"])  # Gondangdia, no fix
        store.replace_roster([bhabin])
        stored = store.officer("91000003")
        assert stored["lat"] is None and stored["home_lat"] is not None
        assert "91000003" in {o["_id"] for o in store.officers_near(MENTENG, [], "a1")}  # ~1 km away
        far = {"lat": -6.25, "lon": 106.83, "village_code": None, "rw": None}  # ~6 km south
        assert "91000003" not in {o["_id"] for o in store.officers_near(far, [], "a1")}

    def test_escalations_of_a_report_are_kept_apart_from_its_assignments(self, store):
        stored_assignment(store, FIRST)
        escalation = {"report": {"report_id": "r1"}, "polsek": "31.71.06"}
        store.add_assignment(assignments.escalation_record("esc-1", escalation, NOW, {"place": {}}))
        assert [e["_id"] for e in store.escalations_for("r1")] == ["esc-1"]
        assert [a["_id"] for a in store.assignments_for("r1")] == ["a1"]

    # ---- the archive (shared/archive.py)

    def test_an_assignment_is_over_for_the_archive_only_once_nothing_follows_it(self, store):
        completed = stored_assignment(store, FIRST, "a1")
        store.move(completed, assignments.step(completed, "completed", NOW, "sms", "selesai"))
        declined = stored_assignment(store, SECOND, "a2")
        declined = store.move(declined, assignments.step(declined, "declined", NOW, "sms", "jauh"))
        stored_assignment(store, FIRST, "a3")  # still waiting for its officer
        later = NOW + timedelta(seconds=1)
        assert [a["_id"] for a in store.archivable(later, 10)["assignments"]] == ["a1"]
        store.finish_follow_up(declined, "a4", NOW)  # the next officer was decided: now it is over
        store.finish_follow_up(declined, "a4", later)  # finished again (a sweep after a crash): over since NOW
        assert {(a["_id"], a["ended_at"]) for a in store.archivable(later, 10)["assignments"]} == {
            ("a1", NOW), ("a2", NOW)}
        assert store.archivable(NOW, 10)["assignments"] == []  # not ended before then
        assert len(store.archivable(later, 1)["assignments"]) == 1

    def test_an_escalation_is_over_for_the_archive_once_the_duty_desk_acted_on_it(self, store):
        store.add_assignment(assignments.escalation_record("esc-1", {"report": {"report_id": "r1"}}, NOW))
        later = NOW + timedelta(seconds=1)
        assert store.archivable(later, 10)["assignments"] == []
        store.end_escalation("esc-1", NOW)
        store.end_escalation("esc-1", later)  # the first end stands
        assert [(a["_id"], a["ended_at"]) for a in store.archivable(later, 10)["assignments"]] == [("esc-1", NOW)]

    def test_an_archived_assignment_is_a_decision_found_only_in_the_archive(self, store):
        read = stored_assignment(store)
        store.move(read, assignments.step(read, "completed", NOW, "sms", "selesai"))
        ended = store.archivable(NOW + timedelta(seconds=1), 10)["assignments"]
        store.copy_to_archive("assignments", ended)
        assert store.decision("a1")["state"] == "completed"  # a sweep stopped here: still live
        assert store.delete_archived("assignments", ended) == 1
        assert store.decision("a1") is None and store.archived_decision("a1")["state"] == "completed"
        assert store.archived_decision("nothing") is None
        with pytest.raises(AssignmentNotFound):
            store.assignment("a1")  # nobody acts on it any more
        assert store.assignment("a1", archived=True)["state"] == "completed"  # but a console may look
        assert [a["_id"] for a in store.decisions_about("r1")] == ["a1"]

    def test_an_assignment_changed_after_its_copy_stays_until_the_next_sweep(self, store):
        store.add_assignment(assignments.escalation_record("esc-1", {"report": {"report_id": "r1"}}, NOW))
        store.end_escalation("esc-1", NOW)
        copied = store.archivable(NOW + timedelta(seconds=1), 10)["assignments"]
        store.copy_to_archive("assignments", copied)
        store.copy_to_archive("assignments", copied)  # a sweep that died after its copy, and the next one
        assert store.delete_archived("assignments", [copied[0] | {"ended_at": NOW - timedelta(1)}]) == 0
        assert store.decision("esc-1") is not None
        assert store.delete_archived("assignments", copied) == 1
        assert store.delete_archived("assignments", copied) == 0
        assert [a["_id"] for a in store.decisions_about("r1")] == ["esc-1"]
