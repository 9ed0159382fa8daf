"""Import village boundaries: any province, or the whole country, into the folder Siaga loads from.

    python -m siaga.boundaries import ../shared/data/boundaries --province 32 --province 36
    python -m siaga.boundaries import ../shared/data/boundaries --all
    python -m siaga.boundaries import desa.geojsonl --code-field KDEPUM --into /srv/siaga/boundaries
    python -m siaga.boundaries list

A source is a `PP.geojsonl.gz` file, a folder of them, or GeoJSON lines of one's own (gzipped or
not, e.g. `ogr2ogr -f GeoJSONSeq desa.geojsonl desa.shp` from BIG/BPS shapefiles): one Feature per
village with its Kemendagri code (the feature's `id` or the property `--code-field`) and a Polygon or
MultiPolygon in WGS 84. Every code is checked against wilayah.csv and every geometry must be a valid
area: one bad feature refuses the whole import and names it, so nothing half-imported is loaded.
The output is `PP.geojsonl.gz` per province (coordinates rounded to 5 decimals, about 1 m), in
`--into` (default: PLACES.BOUNDARIES_DIR, else the shipped shared/data/boundaries); the licence of
the shipped data (boundaries/LICENSE) goes with any copy of it. A service loads the provinces named
in PLACES.PROVINCES (`SIAGA_PROVINCES=31,32`).
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Iterator

from shapely.geometry import MultiPolygon, mapping, shape

from shared import boundaries, wilayah
from shared.config import service_config
from shared.settings import read


class ImportRefused(Exception):
    pass


def sources(paths: Iterable[Path], provinces: set[str] | None) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for file in sorted(path.glob("*.geojsonl*")):
                if provinces is None or file.name[:2] in provinces:
                    yield file
        elif path.exists():
            yield path
        else:
            raise ImportRefused(f"{path}: no such file or folder")


def village_feature(raw: dict[str, Any], code_field: str | None, name_field: str | None) -> dict[str, Any]:
    """One feature in the shipped format; ImportRefused says what is wrong with it."""
    props = raw.get("properties") or {}
    code = str(props.get(code_field) if code_field else raw.get("id") or props.get("code") or "").strip()
    if len(code) == 10 and code.isdigit():  # BPS/BIG write codes without dots
        code = f"{code[:2]}.{code[2:4]}.{code[4:6]}.{code[6:]}"
    if not wilayah.village_exists(code):
        raise ImportRefused(f"{code or '(no code)'}: not a Kemendagri village code (wilayah.csv)")
    geometry = shape(raw.get("geometry") or {})
    if geometry.geom_type == "Polygon":
        geometry = MultiPolygon([geometry])
    if geometry.geom_type != "MultiPolygon" or geometry.is_empty or geometry.area == 0:
        raise ImportRefused(f"{code}: geometry must be a Polygon or MultiPolygon with an area")
    minx, miny, maxx, maxy = geometry.bounds
    if not (94.5 <= minx and maxx <= 141.5 and -11.5 <= miny and maxy <= 6.5):
        raise ImportRefused(f"{code}: lies outside Indonesia: coordinates must be [lon, lat] in WGS 84")
    centre = geometry.representative_point()
    name = props.get(name_field) if name_field else props.get("name")
    return {"type": "Feature", "id": code,
            "properties": {"code": code, "name": name or wilayah.village_name(code),
                           "lat": props.get("lat", round(centre.y, 6)), "lng": props.get("lng", round(centre.x, 6))},
            "geometry": _rounded(mapping(geometry))}


def _rounded(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "MultiPolygon", "coordinates": [[[[round(x, 5), round(y, 5)] for x, y, *_ in ring]
                                                     for ring in polygon] for polygon in geometry["coordinates"]]}


def run_import(paths: list[Path], into: Path, provinces: set[str] | None, code_field: str | None = None,
               name_field: str | None = None) -> dict[str, int]:
    """Read every source, check every feature, then write each province's file: {province: villages}."""
    by_province: dict[str, dict[str, dict]] = defaultdict(dict)
    for path in sources(paths, provinces):
        for number, raw in enumerate(boundaries.read_features(path), 1):
            try:
                feature = village_feature(raw, code_field, name_field)
            except (ImportRefused, ValueError, TypeError, AttributeError) as exc:
                raise ImportRefused(f"{path}, feature {number}: {exc}") from None
            if provinces is None or feature["id"][:2] in provinces:
                by_province[feature["id"][:2]][feature["id"]] = feature
    if provinces:
        missing = provinces - set(by_province)
        if missing:
            raise ImportRefused(f"no villages of province {', '.join(sorted(missing))} in {', '.join(map(str, paths))}")
    into.mkdir(parents=True, exist_ok=True)
    for province, features in sorted(by_province.items()):
        partial = into / f".{province}.geojsonl.gz.part"
        with gzip.open(partial, "wt", encoding="utf-8") as handle:
            for code in sorted(features):
                handle.write(json.dumps(features[code], separators=(",", ":"), ensure_ascii=False) + "\n")
        partial.replace(into / f"{province}.geojsonl.gz")
    licence = boundaries.SHIPPED_DIR / "LICENSE"
    if into.resolve() != boundaries.SHIPPED_DIR.resolve() and not (into / "LICENSE").exists():
        shutil.copyfile(licence, into / "LICENSE")
    boundaries.load.cache_clear()
    return {province: len(features) for province, features in sorted(by_province.items())}


def configured_folder() -> Path:
    return read(boundaries.PlaceSettings, service_config("reports")).folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siaga.boundaries", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser("import", help="check and import village boundaries")
    importing.add_argument("source", nargs="+", type=Path, help="PP.geojsonl.gz files, folders of them, GeoJSON lines")
    which = importing.add_mutually_exclusive_group(required=True)
    which.add_argument("--province", action="append", help="a province code (repeat for more)")
    which.add_argument("--all", action="store_true", help="every province in the sources")
    importing.add_argument("--into", type=Path, help="the folder to write (default: PLACES.BOUNDARIES_DIR)")
    importing.add_argument("--code-field", help="the property holding the village code (default: the feature's id)")
    importing.add_argument("--name-field", help="the property holding the village name (default: wilayah.csv's)")
    commands.add_parser("list", help="the provinces in the configured folder, with their villages")
    args = parser.parse_args(argv)
    if args.command == "list":
        folder = configured_folder()
        for path in boundaries.province_files(folder, ("*",)):
            count = sum(1 for _ in boundaries.read_features(path))
            print(f"{path.name[:2]}  {wilayah.names().get(path.name[:2], '?'):30}  {count:6} villages")
        return 0
    try:
        counts = run_import(args.source, args.into or configured_folder(), None if args.all else set(args.province),
                            args.code_field, args.name_field)
    except ImportRefused as exc:
        print(f"nothing imported: {exc}", file=sys.stderr)
        return 1
    for province, count in counts.items():
        print(f"{province}  {wilayah.names().get(province, '?'):30}  {count:6} villages")
    print(f"into {args.into or configured_folder()}; serve them with SIAGA_PROVINCES={','.join(counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
