"""The import command: any province (here the desa of Kec. Gunungputri, Kab. Bogor, cut from the full data
under its MIT licence, tests/data/boundaries) into a folder a process loads; a point there finds its desa.
Files of one's own (ogr2ogr's GeoJSONSeq: codes without dots, Polygons, RS-prefixed lines) are taken too;
one bad feature refuses the whole import."""
import gzip
import json
from pathlib import Path

import pytest

from services.reports import places
from shared import boundaries
from siaga import boundaries as command

SAMPLE = Path(__file__).parent.parent / "data" / "boundaries" / "32.01.02.geojsonl"
CIANGSANA = (-6.3560, 106.9588)


def test_a_province_is_imported_and_a_gps_point_finds_its_desa(tmp_path, capsys):
    assert command.main(["import", str(SAMPLE), "--province", "32", "--into", str(tmp_path)]) == 0
    assert "32  Jawa Barat" in capsys.readouterr().out
    assert (tmp_path / "LICENSE").read_text().startswith("MIT License")
    atlas = boundaries.load(tmp_path, ("32",))
    assert len(atlas) == 10 and atlas.village_at(*CIANGSANA) == boundaries.Located("32.01.02.2003", 0.0)
    placed = places.locate({"lat": CIANGSANA[0], "lon": CIANGSANA[1], "village_code": None}, "citizen_app", atlas, 500)
    assert placed.fields["village_code"] == "32.01.02.2003" and placed.fields["village_from"] == "coordinates"
    assert set(atlas.neighbours("32.01.02.2003")) >= {"32.01.02.2002", "32.01.02.2009"}


def test_files_of_ones_own_from_ogr2ogr_are_taken(tmp_path):
    own = tmp_path / "desa.geojsonl"
    with own.open("w") as handle:
        for line in SAMPLE.read_text().splitlines():
            feature = json.loads(line)
            polygon = feature["geometry"]["coordinates"][0]
            props = {"KDEPUM": feature["id"].replace(".", "")}
            handle.write("\x1e" + json.dumps({"type": "Feature", "properties": props,
                                              "geometry": {"type": "Polygon", "coordinates": polygon}}) + "\n")
    into = tmp_path / "out"
    assert command.main(["import", str(own), "--all", "--code-field", "KDEPUM", "--into", str(into)]) == 0
    first = json.loads(gzip.open(into / "32.geojsonl.gz", "rt").readline())
    assert first["id"] == "32.01.02.2001" and first["properties"]["name"] == "Wanaherang"
    assert first["geometry"]["type"] == "MultiPolygon"


def test_one_bad_feature_refuses_the_whole_import(tmp_path, capsys):
    bad = tmp_path / "bad.geojsonl"
    lines = SAMPLE.read_text().splitlines()
    wrong = json.loads(lines[1]) | {"id": "32.01.02.2999"}
    bad.write_text("\n".join([lines[0], json.dumps(wrong)]) + "\n")
    into = tmp_path / "out"
    assert command.main(["import", str(bad), "--all", "--into", str(into)]) == 1
    assert "32.01.02.2999: not a Kemendagri village code" in capsys.readouterr().err
    assert not into.exists() or not list(into.glob("*.gz"))


@pytest.mark.parametrize("provinces", [("31",), ("*",)])
def test_the_shipped_folder_serves_jakarta(provinces):
    assert [path.name for path in boundaries.province_files(boundaries.SHIPPED_DIR, provinces)] == ["31.geojsonl.gz"]
