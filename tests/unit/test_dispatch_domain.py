"""Who goes: area-first order, busy officers skipped with a reason, the nearest skilled officer,
the duty desk as last resort; shifts, stale locations, the assignment's life."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import h3
import pytest

from services.dispatch import assignments, choice, geo, shifts
from services.dispatch.exceptions import InvalidOfficer, InvalidTransition, NotAssignedOfficer
from services.dispatch.officers import located
from services.dispatch.roster import RosterError, csv_entry, parse_officer, parse_roster, read_entries
from services.dispatch.settings import Settings
from shared.envelope import Event
from shared.events import dispatch as dispatch_events
from shared.settings import load
from tests.factories import DEMO_ROSTER

PLACE = {"village_code": "31.71.06.1001", "rw": 5, "village_name": "Menteng", "lat": -6.1966, "lon": 106.8322}
# Monday 23 Nov 2026, 10:00 WIB
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
SETTINGS = Settings()


def roster(**status_by_nrp):
    officers = parse_roster(read_entries(DEMO_ROSTER))
    for officer in officers:
        officer["status"] = status_by_nrp.get(officer["_id"], officer["status"])
    return [located(o, o["lat"], o["lon"], o["located_at"], SETTINGS.h3_resolution) for o in officers]


def officer(nrp, **fields):
    base = {"_id": nrp, "name": f"Officer {nrp}", "rank": "Brigpol", "role": "patrol_unit", "polsek": "31.71.06",
            "areas": [], "skills": ["first_aid"], "phone": "+6281100000000", "status": "available",
            "assignment_id": None, "shifts": []}
    return located(base | fields, fields.get("lat"), fields.get("lon"), fields.get("located_at", NOW),
                          SETTINGS.h3_resolution)


def choose(place=PLACE, officers=None, assignment_id="a1", **kwargs):
    return choice.choose(place, roster() if officers is None else officers, assignment_id,
                         now=kwargs.pop("now", NOW), **kwargs)


def nrps(choice):
    return [c.nrp for c in choice.candidates]


# ---------------------------------------------------------------- area rules

def test_polisi_rw_of_the_rw_comes_before_the_village_bhabinkamtibmas():
    choice = choose()
    assert nrps(choice) == ["90120344", "75030412"]
    assert choice.candidates[0].rule == "area_polisi_rw"


def test_busy_polisi_rw_is_skipped_with_the_reason_and_the_bhabinkamtibmas_is_next():
    choice = choose(officers=roster(**{"90120344": "on_scene"}))
    assert nrps(choice) == ["75030412"]
    assert choice.skipped == [{"nrp": "90120344", "reason": "polisi_rw of 31.71.06.1001/RW05 is on_scene"}]


def test_an_officer_already_claimed_by_this_assignment_still_counts_as_free():
    officers = roster(**{"90120344": "assigned"})
    next(o for o in officers if o["_id"] == "90120344")["assignment_id"] = "a1"
    assert choose(officers=officers, assignment_id="a1").candidates[0].own
    assert nrps(choose(officers=officers, assignment_id="a2")) == ["75030412"]


def test_a_kelurahan_without_its_own_officer_has_no_candidate_but_the_duty_desk():
    choice = choose({"village_code": "31.71.06.1004", "rw": 3})
    assert choice.candidates == []
    assert choice.duty_desk["_id"] == "70010001"


def test_officers_already_tried_for_the_report_are_skipped():
    choice = choose(exclude={"90120344"})
    assert nrps(choice) == ["75030412"]
    assert choice.skipped[0] == {"nrp": "90120344",
                                 "reason": "polisi_rw of 31.71.06.1001/RW05 was already tried for this report"}


def test_an_officer_off_shift_is_skipped_even_when_available():
    # 93070722 works mon-fri 08:00-16:00 WIB: on Monday 10:00 WIB on duty, at 17:00 WIB not
    place = {"village_code": "31.71.06.1005", "rw": 8}
    assert nrps(choose(place))[0] == "93070722"
    evening = choose(place, now=NOW + timedelta(hours=7))
    assert "93070722" not in nrps(evening)
    assert {"nrp": "93070722", "reason": "polisi_rw of 31.71.06.1005/RW08 is off shift"} in evening.skipped


# ---------------------------------------------------------------- nearest skilled officer

def test_with_no_area_officer_free_the_nearest_on_shift_officer_with_the_skills_is_next():
    near = officer("1001", lat=-6.1970, lon=106.8330, skills=["first_aid", "traffic"])
    nearer_unskilled = officer("1002", lat=-6.1966, lon=106.8323, skills=["crowd_control"])
    far = officer("1003", lat=-6.2000, lon=106.8400, skills=["first_aid", "traffic"])
    choice = choose({**PLACE, "rw": None, "village_code": "31.71.06.1004"}, [],
                    nearby=[far, nearer_unskilled, near], skills=["first_aid", "traffic"])
    assert nrps(choice) == ["1001", "1003"]
    assert choice.candidates[0].rule == "nearest_skilled"
    assert choice.candidates[0].distance_m == pytest.approx(99, abs=1)
    assert choice.candidates[0].reason == "patrol_unit 99 m away with first_aid, traffic"


def test_a_stale_location_is_not_trusted_for_distance():
    stale = officer("1001", lat=-6.1970, lon=106.8330, located_at=NOW - timedelta(hours=3))
    choice = choose({**PLACE, "village_code": None}, [], nearby=[stale], skills=["first_aid"])
    assert choice.candidates == []
    assert choice.skipped == [{"nrp": "1001", "reason": "nearby but last located 3 h ago (too old to trust)"}]


def test_officers_beyond_the_radius_are_not_candidates():
    far = officer("1001", lat=-6.25, lon=106.83)  # ~6 km south
    assert choose({**PLACE, "village_code": None}, [], nearby=[far]).candidates == []


def test_the_ring_of_cells_covers_the_whole_radius():
    resolution, radius = 8, 3000
    ring = set(geo.cells_within(-6.1966, 106.8322, radius, resolution))
    for bearing in range(0, 360, 15):
        import math
        dlat = radius * 0.999 * math.cos(math.radians(bearing)) / 111_320
        dlon = radius * 0.999 * math.sin(math.radians(bearing)) / (111_320 * math.cos(math.radians(-6.1966)))
        lat, lon = -6.1966 + dlat, 106.8322 + dlon
        assert geo.distance_m(-6.1966, 106.8322, lat, lon) <= radius
        assert geo.cell_of(lat, lon, resolution) in ring


def test_the_officer_who_reported_it_on_patrol_goes_first_already_on_scene():
    patrol = officer("1001", status="unavailable")
    choice = choose(officers=[*roster(), patrol], reporting_nrp="1001")
    assert choice.candidates[0].nrp == "1001" and choice.candidates[0].rule == "reporting_officer"


def test_a_reporting_officer_on_another_assignment_falls_back_to_the_area_rules():
    patrol = officer("1001", status="on_scene", assignment_id="other")
    choice = choose(officers=[*roster(), patrol], reporting_nrp="1001")
    assert nrps(choice) == ["90120344", "75030412"]
    assert choice.skipped[0] == {"nrp": "1001", "reason": "reporting officer is busy with another assignment"}


# ---------------------------------------------------------------- shifts

@pytest.mark.parametrize("schedule, local, on", [
    (["mon-fri 07:00-15:00"], "2026-11-23 07:00", True),     # Monday
    (["mon-fri 07:00-15:00"], "2026-11-23 15:00", False),
    (["mon-fri 07:00-15:00"], "2026-11-28 10:00", False),    # Saturday
    (["fri 22:00-06:00"], "2026-11-28 03:00", True),         # Saturday night belongs to Friday's shift
    (["fri 22:00-06:00"], "2026-11-29 03:00", False),
    (["sat,sun 00:00-24:00"], "2026-11-29 23:59", True),
    (["daily 19:00-07:00"], "2026-11-23 06:59", True),
    ([], "2026-11-23 03:00", True),                          # no schedule: always on call
])
def test_shifts_are_read_in_local_time(schedule, local, on):
    local_time = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    assert shifts.on_duty(schedule, local_time - timedelta(hours=7), 7) is on


def test_a_shift_in_wita_is_read_in_wita():
    utc = datetime(2026, 11, 23, 23, 30, tzinfo=timezone.utc)  # 06:30 WIB, 07:30 WITA (Tuesday)
    assert shifts.on_duty(["tue 07:00-15:00"], utc, 8) and not shifts.on_duty(["tue 07:00-15:00"], utc, 7)


@pytest.mark.parametrize("line", ["weekdays 07:00-15:00", "mon 7-15", "mon 25:00-26:00", "mon-fri 07:60-08:00"])
def test_a_bad_shift_line_is_refused_with_a_reason(line):
    with pytest.raises(ValueError, match="expected|days are|not a time"):
        shifts.parse_shift(line)


# ---------------------------------------------------------------- deadlines and the assignment's life

@pytest.mark.parametrize("priority, minutes", [("P1", 2), ("P2", 5), ("P3", 15), ("P4", 60)])
def test_acknowledgement_deadline_follows_priority(priority, minutes):
    assert choice.ack_deadline(priority, NOW) == NOW + timedelta(minutes=minutes)


def test_deadlines_come_from_config():
    settings = load(Settings, {"ACK_SECONDS": {"P1": 5}, "MAX_TRIES": 2})
    assert settings.ack_seconds["P1"] == 5 and settings.ack_seconds["P4"] == 3600 and settings.max_tries == 2


def make_assignment(state="created", **overrides):
    cause = Event(id="e1", source="/siaga/reports", type="report_received", time=NOW, data={},
                  correlationid="r1")
    request = {"report": {"report_id": "r1", "number": "MTG-1", "category": "theft", "priority": "P3",
                          "description": "x", "village_code": "31.71.06.1001", "village_name": "Menteng",
                          "rw": 5, "address": None},
               "place": PLACE, "skills": [], "reporting_officer_nrp": None}
    candidate = choice.Candidate(roster()[0], "area_bhabinkamtibmas", "bhabinkamtibmas of 31.71.06.1001")
    assignment = assignments.new_assignment("a1", request, candidate, [], NOW, cause)
    if state != "created":
        assignment = assignments.moved(assignment, assignments.step(assignment, state, NOW, "console", "why"))
    return assignment | overrides


@pytest.mark.parametrize("state, action, decision", [
    ("created", "acknowledge", assignments.ADVANCE),
    ("created", "on_scene", assignments.ADVANCE),        # an officer may skip steps
    ("acknowledged", "acknowledge", assignments.REPEAT),  # said again: the same event again, no new effect
    ("en_route", "acknowledge", assignments.PASSED),      # already implied
    ("acknowledged", "decline", assignments.ADVANCE),
    ("on_scene", "complete", assignments.ADVANCE),
    ("completed", "complete", assignments.REPEAT),
])
def test_assignment_transitions(state, action, decision):
    assert assignments.decide(make_assignment(state), action) == decision


@pytest.mark.parametrize("state, action, reason", [
    ("expired", "acknowledge", "already expired at 10:00 WIB; it went to the next officer"),
    ("completed", "decline", "already completed"),
    ("en_route", "decline", "complete it with an outcome instead of declining"),
    ("declined", "complete", "already declined"),
])
def test_invalid_transitions_say_why(state, action, reason):
    with pytest.raises(InvalidTransition, match=reason):
        assignments.decide(make_assignment(state), action)


def test_only_the_assigned_officer_may_answer_for_an_assignment():
    with pytest.raises(NotAssignedOfficer, match="assigned to Bripka Agus Setiawan"):
        assignments.decide(make_assignment(), "acknowledge", by_nrp="99999999")


def test_step_events_have_deterministic_ids_and_causes():
    assignment = make_assignment("declined")
    again = make_assignment("declined")
    assert assignments.step_cause(assignment, "declined").id == assignments.step_cause(again, "declined").id
    assert assignments.step_event_data(assignment, "declined")["reason"] == "why"
    assert assignments.successor_id(assignment) == assignments.successor_id(make_assignment())


# ---------------------------------------------------------------- the roster file

def test_roster_with_bad_entries_loads_nothing_and_lists_every_reason():
    entries = read_entries(DEMO_ROSTER)
    entries[0]["phone"] = "12"
    entries[2]["role"] = "sheriff"
    entries[3]["areas"] = ["Menteng"]
    entries[4]["shifts"] = ["weekdays 7-15"]
    with pytest.raises(RosterError) as caught:
        parse_roster(entries)
    assert set(caught.value.reasons) == {1, 3, 4, 5}
    assert "mon-fri" in str(caught.value.reasons[5]["shifts"])


def test_a_csv_row_splits_lists_and_leaves_empty_cells_to_the_defaults():
    row = {"nrp": "12345678", "name": "Bripda A", "rank": "Bripda", "role": "patrol_unit", "polsek": "31.71.06",
           "areas": "", "skills": "first_aid;traffic", "phone": "0812-1111-2222", "status": "",
           "shifts": "mon-fri 07:00-15:00; sat 07:00-12:00", "lat": "-6.19", "lon": "106.83", "located_at": ""}
    officer = parse_officer(csv_entry(row))
    assert officer["status"] == "available" and officer["shifts"] == ["mon-fri 07:00-15:00", "sat 07:00-12:00"]
    assert officer["skills"] == ["first_aid", "traffic"] and officer["lat"] == -6.19 and officer["located_at"] is None


def test_lat_without_lon_is_refused():
    with pytest.raises(InvalidOfficer, match="lat and lon come together"):
        parse_officer(read_entries(DEMO_ROSTER)[0] | {"lat": -6.2})


def test_the_trimmed_ring_still_holds_every_point_in_reach_and_drops_the_corners():
    rng, resolution, radius = random.Random(8), 8, 3000
    for lat0, lon0 in ((-6.1966, 106.8322), (5.9, 95.3), (-10.9, 140.9), (0.0, 120.0)):
        ring = set(geo.cells_within(lat0, lon0, radius, resolution))
        disk = h3.grid_disk(geo.cell_of(lat0, lon0, resolution), geo.ring_size(radius, resolution))
        assert ring < set(disk) and len(ring) < len(disk) / 1.5
        for _ in range(2000):
            bearing = rng.uniform(0, 2 * math.pi)  # half inside, half on the rim (where misses would be)
            reach = radius * (math.sqrt(rng.random()) if rng.random() < 0.5 else rng.uniform(0.98, 1.0))
            lat = lat0 + reach * math.cos(bearing) / 111_320
            lon = lon0 + reach * math.sin(bearing) / (111_320 * math.cos(math.radians(lat0)))
            if geo.distance_m(lat0, lon0, lat, lon) <= radius:
                assert geo.cell_of(lat, lon, resolution) in ring


def test_the_event_schema_names_every_selection_rule():
    assert set(dispatch_events.RULES) == set(choice.RULES)
