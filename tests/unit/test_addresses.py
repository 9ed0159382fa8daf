"""An address in words → its village, tolerant of how people write; several or none → candidates."""
import pytest

from services.reports import addresses, places
from shared import boundaries

JAKARTA = ("31",)


@pytest.mark.parametrize("text, village", [
    ("Gondangdia", "31.71.06.1004"),
    ("KEBON  SIRIH!!", "31.71.06.1005"),
    ("Kel. Menteng", "31.71.06.1001"),
    ("kelurahan menteng, kec. menteng, jakpus", "31.71.06.1001"),
    ("Jl. Cikini Raya 45, Cikini, Menteng, Jakpus", "31.71.06.1003"),  # Menteng: the kecamatan here
    ("Menteng Dalam", "31.74.01.1003"),  # the longest name wins over Menteng
    ("Kebon Kacang, Tanah Abang", "31.71.07.1006"),
    ("Pasar Baru, Kota Adm. Jakarta Pusat", "31.71.02.1001"),
])
def test_one_village_is_taken(text, village):
    assert addresses.match(text, JAKARTA) == addresses.Matched(village_code=village)


def test_a_kecamatan_alone_lists_its_kelurahan():
    matched = addresses.match("Kec. Menteng", JAKARTA)
    assert matched.village_code is None
    assert matched.candidates == tuple(f"31.71.06.100{i}" for i in range(1, 6))


def test_a_misspelling_is_not_taken_but_offered():
    assert addresses.match("Gondangdya", JAKARTA) == addresses.Matched(candidates=("31.71.06.1004",))


def test_nothing_known_gives_no_candidates_and_other_provinces_are_not_served():
    assert addresses.match("Jl. Sudirman", JAKARTA) == addresses.Matched()
    assert addresses.match("Desa Cibodas, Kab. Bogor", JAKARTA) == addresses.Matched()


def test_describe_reads_like_an_indonesian_address():
    assert addresses.describe("31.71.06.1004") == "Kel. Gondangdia, Kec. Menteng, Kota Administrasi Jakarta Pusat " \
                                                  "(31.71.06.1004)"


def test_110_and_siskamling_without_a_village_code_use_the_same_matcher():
    atlas = boundaries.atlas()
    location = {"lat": None, "lon": None, "village_code": None, "address": "Gg. Gondangdia Kecil, Gondangdia"}
    placed = places.locate(location, "hotline_110", atlas, 500, JAKARTA)
    assert placed.fields == {"village_code": "31.71.06.1004", "village_from": "address"}
    several = places.locate(location | {"address": "Kec. Menteng"}, "siskamling", atlas, 500, JAKARTA)
    assert several.fields == {} and "Kel. Cikini, Kec. Menteng" in several.reasons["location.address"]["en"]
    assert "isi kode salah satunya" in several.reasons["location.address"]["id"]


def test_a_kota_named_that_holds_none_of_the_villages_is_not_overruled():
    matched = addresses.match("Kebon Kacang, Kec. Senen", JAKARTA)  # Kebon Kacang lies in Tanah Abang
    assert matched == addresses.Matched(candidates=("31.71.07.1006",))
