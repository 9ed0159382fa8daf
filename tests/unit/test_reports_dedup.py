"""Near-duplicate rules: the index keys always cover the radius, and the exact checks pick the original."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import h3
import pytest

from services.reports import dedup
from services.reports.settings import DedupWindow, IntakeSettings

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
RULES = IntakeSettings()
MENTENG = {"lat": -6.1966, "lon": 106.8322, "village_code": "31.71.06.1001"}


def offset(place: dict, metres: float, bearing: float) -> dict:
    lat = place["lat"] + metres * math.cos(bearing) / 111_320
    lon = place["lon"] + metres * math.sin(bearing) / (111_320 * math.cos(math.radians(place["lat"])))
    return place | {"lat": lat, "lon": lon}


def report(place: dict, category: str = "traffic_accident", minutes_ago: float = 0, status: str = "received",
           id: str | None = None) -> dict:
    return {"_id": id or f"r{random.random()}", "number": "ABC123", "category": category, "status": status,
            "place": place, "received_at": NOW - timedelta(minutes=minutes_ago)}


@pytest.mark.parametrize("radius", [50, 150, 300, 1000, 2500])
def test_every_point_within_the_radius_shares_a_key_with_the_search_anywhere_in_indonesia(radius):
    rng = random.Random(radius)
    window = DedupWindow(radius, 30)
    for _ in range(1500):
        here = {"lat": rng.uniform(-11, 6), "lon": rng.uniform(95, 141)}
        there = offset(here, radius * rng.uniform(0.5, 0.999), rng.uniform(0, 2 * math.pi))
        earlier = NOW - timedelta(minutes=rng.uniform(0, 29.9))  # inside the window, maybe the hour before
        found_by = set(dedup.index_keys("fire", there, earlier, window))
        assert set(dedup.search_keys("fire", here, window, NOW)) & found_by, (here, there, earlier)


def test_the_search_asks_for_a_few_keys_of_the_hours_the_window_touches_not_a_scan():
    for radius in (50, 150, 300, 1000):
        assert len(dedup.search_keys("fire", MENTENG, DedupWindow(radius, 30), NOW)) <= 2 * 19
    hour = int(NOW.timestamp() // 3600)
    assert dedup.search_keys("fire", {"village_code": "31.71.06.1001"}, DedupWindow(300, 60), NOW) == [
        f"fire|31.71.06.1001|{hour - 1}", f"fire|31.71.06.1001|{hour}"]
    assert not set(dedup.search_keys("fire", MENTENG, DedupWindow(300, 60), NOW)) & set(
        dedup.index_keys("fire", MENTENG, NOW - timedelta(hours=2, minutes=1), DedupWindow(300, 60)))  # too old


def test_a_report_is_indexed_under_one_cell_at_its_categorys_search_resolution_and_its_village():
    """Every index entry is rewritten by each update of the report, so it carries only the keys a search of
    its own category can ask for; a category never merged carries none."""
    hour = int(NOW.timestamp() // 3600)
    for radius in (50, 300, 1000):
        window = DedupWindow(radius, 30)
        resolution, _ = dedup.disk_for(radius)
        keys = dedup.index_keys("fire", MENTENG, NOW, window)
        cell = h3.latlng_to_cell(MENTENG["lat"], MENTENG["lon"], resolution)
        assert keys == [f"fire|{cell}|{hour}", f"fire|31.71.06.1001|{hour}"]
        assert keys[0] in dedup.search_keys("fire", MENTENG, window, NOW)
    assert dedup.index_keys("missing_person", MENTENG, NOW, RULES.window_for("missing_person")) == []


def test_keys_carry_the_category_so_a_fire_never_matches_an_accident():
    assert not set(dedup.index_keys("fire", MENTENG, NOW, RULES.window_for("fire"))) & set(
        dedup.search_keys("traffic_accident", MENTENG, RULES.window_for("traffic_accident"), NOW))


def test_the_earliest_open_report_within_radius_and_window_is_the_original():
    new = report(MENTENG)
    earlier = report(offset(MENTENG, 120, 0.3), minutes_ago=20, id="earlier")
    later = report(offset(MENTENG, 50, 1.0), minutes_ago=5, id="later")
    original, distance = dedup.choose_original(new, [later, earlier], RULES)
    assert original["_id"] == "earlier" and 115 <= distance <= 125


@pytest.mark.parametrize("candidate", [
    report(offset(MENTENG, 160, 0), id="too-far"),
    report(MENTENG, minutes_ago=31, id="too-old"),
    report(MENTENG, status="resolved", id="closed"),
    report(MENTENG, status="needs_review", id="held"),
    report(MENTENG, category="fire", id="other-category"),
    report({"village_code": "31.71.06.1001", "lat": None, "lon": None}, id="no-point"),
], ids=lambda c: c["_id"])
def test_what_is_not_an_original_of_a_located_accident(candidate):
    assert dedup.choose_original(report(MENTENG), [candidate], RULES) is None


def test_without_coordinates_the_same_village_is_enough():
    new = report({"village_code": "31.71.06.1001", "lat": None, "lon": None})
    located = report(MENTENG, minutes_ago=10, id="located")
    other_village = report({"village_code": "31.71.06.1002", "lat": None, "lon": None}, id="other")
    original, distance = dedup.choose_original(new, [other_village, located], RULES)
    assert (original["_id"], distance) == ("located", None)


def test_missing_persons_are_never_merged_and_held_reports_never_look():
    assert dedup.dedup_query(report(MENTENG, category="missing_person") | {"status": "received"}, RULES) is None
    assert dedup.dedup_query(report(MENTENG, status="needs_review"), RULES) is None
    query = dedup.dedup_query(report(MENTENG, category="fire"), RULES)
    assert query.since == NOW - timedelta(minutes=60)


def test_a_duplicate_is_stored_out_of_the_index_and_its_reporter_kept_for_the_original():
    new = report(MENTENG) | {"reporter": {"name": "Sri", "phone": "+6281311112222"}, "anonymous": False,
                             "source_kind": "hotline_110", "history": [], "dedup_keys": ["x"], "priority": "P1"}
    duplicate = dedup.as_duplicate(new, report(MENTENG, id="orig"), 12)
    assert (duplicate["status"], duplicate["dedup_keys"], duplicate["duplicate_of"]["report_id"]) == (
        "duplicate", [], "orig")
    assert dedup.duplicate_link(duplicate)["reporter"]["phone"] == "+6281311112222"
    assert dedup.duplicate_event_data(duplicate)["distance_m"] == 12
