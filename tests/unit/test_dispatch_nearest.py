"""A village without a free officer of its own: the Bhabinkamtibmas of the bordering villages of the
same Polsek, nearest first; then the nearest skilled officer (a live fix, or an area officer's area
centre); then the duty desk — each choice with its rule, its distance and a reason in Bahasa."""
from datetime import datetime, timedelta, timezone

from services.dispatch import assignments, choice
from services.dispatch.officers import with_index_fields
from services.dispatch.roster import parse_roster, read_entries
from services.dispatch.settings import Settings
from shared import boundaries
from shared.envelope import Event
from tests.factories import DEMO_ROSTER

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)  # Monday 10:00 WIB
SETTINGS = Settings()
ATLAS = boundaries.atlas()
GONDANGDIA, KEBON_SIRIH_BHABIN, CIKINI_BHABIN, MENTENG_BHABIN, PEGANGSAAN_BHABIN = (
    "31.71.06.1004", "82040127", "78070519", "75030412", "80110233")


def roster(**status_by_nrp):
    officers = [with_index_fields(o, SETTINGS.h3_resolution, ATLAS.centroid)
                for o in parse_roster(read_entries(DEMO_ROSTER))]
    for officer in officers:
        officer["status"] = status_by_nrp.get(officer["_id"], officer["status"])
    return officers


def request(**place):
    report = {"report_id": "r1", "number": "R1", "category": "fire", "priority": "P1", "description": "Asap",
              "place": {"village_code": GONDANGDIA, "village_name": "Gondangdia", "rw": 3, "lat": None,
                        "lon": None, "address": None} | place, "skills": []}
    return assignments.request_from_report(report, ATLAS)


def choose(req, officers, **kwargs):
    return choice.choose(req["place"], officers, "a1", now=NOW, settings=SETTINGS, **kwargs)


def test_the_request_carries_the_bordering_villages_of_the_polsek_and_the_village_centre():
    place = request()["place"]
    assert place["neighbours"] == ["31.71.06.1001", "31.71.06.1002", "31.71.06.1003", "31.71.06.1005"]
    assert place["centre"] == list(ATLAS.centroid(GONDANGDIA))
    assert set(place["neighbours"]) <= set(choice.request_keys(request()))


def test_gondangdia_goes_to_the_nearest_neighbouring_bhabinkamtibmas_with_distance_and_bahasa():
    chosen = choose(request(), roster())
    assert [c.nrp for c in chosen.candidates] == [KEBON_SIRIH_BHABIN, CIKINI_BHABIN, MENTENG_BHABIN,
                                                  PEGANGSAAN_BHABIN]
    first = chosen.candidates[0]
    assert first.rule == "adjacent_bhabinkamtibmas" and 700 < first.distance_m < 820
    assert first.reason_bahasa.startswith("Bhabinkamtibmas desa tetangga Kebon Sirih, ")


def test_from_the_reports_coordinates_the_nearest_neighbour_changes():
    near_menteng = request(lat=-6.1950, lon=106.8320)  # Gondangdia's south, by Menteng
    assert choose(near_menteng, roster()).candidates[0].nrp == MENTENG_BHABIN


def test_a_fresh_fix_counts_before_the_area_centre():
    officers = roster()
    cikini = next(o for o in officers if o["_id"] == CIKINI_BHABIN)
    cikini.update(lat=-6.1918, lon=106.8295, located_at=NOW - timedelta(minutes=1))  # at Gondangdia's centre
    first = choose(request(), officers).candidates[0]
    assert first.nrp == CIKINI_BHABIN and first.distance_m < 50


def test_busy_neighbours_are_skipped_then_the_nearest_skilled_by_area_centre():
    busy = {nrp: "unavailable" for nrp in (KEBON_SIRIH_BHABIN, CIKINI_BHABIN, MENTENG_BHABIN, PEGANGSAAN_BHABIN)}
    officers = roster(**busy)
    # Polisi RW of Kebon Sirih RW08 (ppa) is not adjacent's Bhabinkamtibmas: found by the nearest rule from home
    chosen = choose(request(), officers, skills=["ppa"], nearby=officers)
    assert chosen.candidates[0].rule == "nearest_skilled" and chosen.candidates[0].nrp == "93070722"
    assert "(dari pusat wilayahnya)" in chosen.candidates[0].reason_bahasa
    assert any(skip["nrp"] == KEBON_SIRIH_BHABIN and skip["reason"].startswith(
        "bhabinkamtibmas of the neighbouring 31.71.06.1005, ") and skip["reason"].endswith(" is unavailable")
        for skip in chosen.skipped)


def test_a_neighbouring_village_of_another_polsek_does_not_count():
    kwitang = request(village_code="31.71.04.1005", rw=None)
    assert all(code.startswith("31.71.04.") for code in kwitang["place"]["neighbours"])
    assert choose(kwitang, roster()).candidates == []


def test_the_escalation_says_its_rules_and_reads_in_bahasa():
    busy = {o["_id"]: "unavailable" for o in roster()}
    req = request()
    chosen = choose(req, roster(**busy))
    data = assignments.escalation_event_data(req, chosen.duty_desk, choice.escalation_rules(chosen, req),
                                             chosen.skipped)
    assert data["rules"] == ["no_area_officer", "nobody_nearby"]
    assert data["reason"] == "no area officer for this place; nobody suitable nearby"
    assert data["reason_bahasa"] == ("tidak ada petugas wilayah di lokasi ini; "
                                     "tidak ada petugas yang sesuai di sekitar")


def test_the_created_event_carries_rule_distance_and_bahasa_reason():
    req = request()
    chosen = choose(req, roster())
    cause = Event(id="e1", source="/siaga/reports", type="report_received", time=NOW, data={})
    data = assignments.created_event_data(assignments.new_assignment("a1", req, chosen.candidates[0], [], NOW, cause))
    assert data["rule"] == "adjacent_bhabinkamtibmas" and 700 < data["distance_m"] < 820
    assert data["reason_bahasa"].startswith("Bhabinkamtibmas desa tetangga Kebon Sirih")
