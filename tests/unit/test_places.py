"""Village from coordinates, the nearest village off a coast, adjacency, and who wins when a stated
village code and the coordinates disagree: pure lookups over the shipped Jakarta boundaries."""
import pytest

from services.reports import places
from shared import boundaries

MENTENG, GONDANGDIA, KWITANG = "31.71.06.1001", "31.71.06.1004", "31.71.04.1005"
# Off Kalibaru's northern shore (Jakarta Utara): 222 m out at sea, and 1.1 km out.
OFF_KALIBARU, FAR_AT_SEA = (-6.08017, 106.92337), (-6.0722, 106.92337)


@pytest.fixture(scope="module")
def atlas():
    return boundaries.atlas(boundaries.PlaceSettings())


@pytest.mark.parametrize("point, village", [
    ((-6.1966, 106.8322), MENTENG), ((-6.1954, 106.8305), GONDANGDIA), ((-6.1862, 106.8412), KWITANG),
    ((-6.2005, 106.8260), MENTENG),
])
def test_a_point_lies_in_its_village(atlas, point, village):
    assert atlas.village_at(*point) == boundaries.Located(village, 0.0)


def test_a_point_off_the_coast_takes_the_nearest_village_within_reach(atlas):
    found = atlas.village_at(*OFF_KALIBARU, within_m=500)
    assert found.village_code == "31.72.04.1004" and 200 < found.distance_m < 250 and not found.inside
    assert atlas.village_at(*OFF_KALIBARU, within_m=100) is None
    assert atlas.village_at(*FAR_AT_SEA, within_m=500) is None


def test_neighbours_share_a_border_within_one_district(atlas):
    assert atlas.neighbours(GONDANGDIA) == (MENTENG, "31.71.06.1002", "31.71.06.1003", "31.71.06.1005")
    assert all(code.startswith("31.71.06.") for code in atlas.neighbours(MENTENG))
    assert atlas.neighbours("99.99.99.9999") == ()


def test_centroid_is_the_sources_centre(atlas):
    lat, lon = atlas.centroid(MENTENG)
    assert -6.21 < lat < -6.19 and 106.82 < lon < 106.85
    assert atlas.centroid("99.99.99.9999") is None


def test_a_province_without_a_file_is_an_error_naming_the_import_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="siaga.boundaries import"):
        boundaries.province_files(tmp_path, ("32",))


def locate(atlas, source_kind, **location):
    return places.locate({"lat": None, "lon": None, "village_code": None} | location, source_kind, atlas, 500)


def test_gps_only_finds_the_village(atlas):
    placed = locate(atlas, "citizen_app", lat=-6.1954, lon=106.8305)
    assert placed.fields == {"village_code": GONDANGDIA, "village_from": "coordinates", "village_distance_m": 0.0}


def test_gps_only_off_the_coast_takes_the_nearest_and_says_how_far(atlas):
    placed = locate(atlas, "cctv", lat=OFF_KALIBARU[0], lon=OFF_KALIBARU[1])
    assert placed.fields["village_from"] == "nearest_village" and placed.fields["village_code"] == "31.72.04.1004"


def test_gps_only_far_from_every_village_is_a_reason_in_both_languages(atlas):
    placed = locate(atlas, "citizen_app", lat=FAR_AT_SEA[0], lon=FAR_AT_SEA[1])
    assert placed.fields == {} and "500 m" in placed.reasons["location"]["en"]
    assert "isi kode desa" in placed.reasons["location"]["id"]


def test_a_device_fix_wins_over_a_picked_village_and_both_are_kept(atlas):
    placed = locate(atlas, "citizen_app", lat=-6.1954, lon=106.8305, village_code=KWITANG)
    assert placed.fields["village_code"] == GONDANGDIA and placed.fields["given_village_code"] == KWITANG


def test_a_stated_village_wins_over_a_geocode_for_110_and_siskamling(atlas):
    for kind in ("hotline_110", "siskamling"):
        placed = locate(atlas, kind, lat=-6.1954, lon=106.8305, village_code=KWITANG)
        assert placed.fields == {"village_code": KWITANG, "village_from": "given", "gps_village_code": GONDANGDIA}


def test_agreeing_code_and_coordinates_say_coordinates(atlas):
    placed = locate(atlas, "hotline_110", lat=-6.1954, lon=106.8305, village_code=GONDANGDIA)
    assert placed.fields["village_from"] == "coordinates" and "gps_village_code" not in placed.fields


def test_a_code_with_coordinates_outside_the_served_provinces_keeps_the_code(atlas):
    placed = locate(atlas, "citizen_app", lat=-7.25, lon=112.75, village_code="35.78.01.1001")
    assert placed.fields == {"village_code": "35.78.01.1001", "village_from": "given"}
