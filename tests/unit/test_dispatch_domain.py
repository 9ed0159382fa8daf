"""Who goes: area-first order, busy officers skipped with a reason, the duty desk as last resort."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.dispatch import domain
from services.dispatch.roster import RosterError, parse_roster, read_entries
from tests.factories import DEMO_ROSTER

PLACE = {"village_code": "31.71.06.1001", "rw": 5, "village_name": "Menteng"}


def roster(**status_by_nrp):
    officers = parse_roster(read_entries(DEMO_ROSTER))
    for officer in officers:
        officer["status"] = status_by_nrp.get(officer["_id"], officer["status"])
    return officers


def test_polisi_rw_of_the_rw_comes_before_the_village_bhabinkamtibmas():
    choice = domain.choose(PLACE, roster(), "a1")
    assert [c.officer["_id"] for c in choice.candidates] == ["90120344", "75030412"]
    assert choice.candidates[0].rule == "area_polisi_rw"


def test_busy_polisi_rw_is_skipped_with_the_reason_and_the_bhabinkamtibmas_is_next():
    choice = domain.choose(PLACE, roster(**{"90120344": "on_scene"}), "a1")
    assert [c.officer["_id"] for c in choice.candidates] == ["75030412"]
    assert choice.skipped == [{"nrp": "90120344", "reason": "polisi_rw of 31.71.06.1001/RW05 is on_scene"}]


def test_an_officer_already_claimed_by_this_assignment_still_counts_as_free():
    officers = roster(**{"90120344": "assigned"})
    next(o for o in officers if o["_id"] == "90120344")["assignment_id"] = "a1"
    assert domain.choose(PLACE, officers, "a1").candidates[0].officer["_id"] == "90120344"
    assert domain.choose(PLACE, officers, "a2").candidates[0].officer["_id"] == "75030412"


def test_a_kelurahan_without_its_own_officer_has_no_candidate_but_the_duty_desk():
    choice = domain.choose({"village_code": "31.71.06.1004", "rw": 3}, roster(), "a1")
    assert choice.candidates == []
    assert choice.duty_desk["_id"] == "70010001"


@pytest.mark.parametrize("priority, minutes", [("P1", 2), ("P2", 5), ("P3", 15), ("P4", 60)])
def test_acknowledgement_deadline_follows_priority(priority, minutes):
    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert domain.ack_deadline(priority, now) == now + timedelta(minutes=minutes)


def test_roster_with_bad_entries_loads_nothing_and_lists_every_reason():
    entries = read_entries(DEMO_ROSTER)
    entries[0]["phone"] = "12"
    entries[2]["role"] = "sheriff"
    entries[3]["areas"] = ["Menteng"]
    with pytest.raises(RosterError) as caught:
        parse_roster(entries)
    assert set(caught.value.reasons) == {1, 3, 4}
