"""Village boundaries: which village a point lies in, which villages border one, where a village's
centre is. Published data (`shared/data/boundaries/PP.geojsonl.gz`, MIT, licence beside it), like
wilayah.csv: each process loads the provinces it serves, once, and asks it in memory.

The lookup is shapely's STRtree over the villages' polygons: a point is tested only against the few
polygons whose bounding boxes hold it (p50 25 µs, p99 110 µs at national scale, `python -m bench
boundaries`). H3 cells prepared from the polygons would answer in one hash lookup but cost a cell
table per province and a second exact test at every cell a border crosses; the tree needs nothing
prepared and is exact. The whole country took +267 MB of resident memory here (0.6 MB for Jakarta,
up to 24 MB for Jawa Timur) and 17 s to load: a process loads only `PLACES.PROVINCES`.

A point outside every polygon (the sea off a coast, a gap between two simplified borders, a
rounded GPS fix) takes the nearest village within `PLACES.NEAREST_VILLAGE_M`; farther is no village.
"""
from __future__ import annotations

import gzip
import json
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator

import numpy
import shapely
from nameko.extensions import DependencyProvider
from shapely import STRtree
from shapely.geometry import Point, shape

from shared.config import PROJECT_ROOT
from shared.settings import read, setting

SHIPPED_DIR = PROJECT_ROOT / "shared" / "data" / "boundaries"
EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = 111_320.0
# Two villages whose borders come this close share a border: the source's borders are simplified
# separately, so neighbours' lines cross and gap by a few metres (0.0001° ≈ 11 m).
BORDER_TOLERANCE_DEG = 0.0001


@dataclass(frozen=True)
class PlaceSettings:
    """Where villages come from, which provinces a process loads, how far a point may lie outside one."""

    SECTION: ClassVar[str] = "PLACES"
    boundaries_dir: str = setting("", "folder of the village boundaries, PP.geojsonl.gz per province (empty: the "
                                      "shipped shared/data/boundaries; `python -m siaga.boundaries import` adds more)")
    provinces: tuple = setting(("31",), "province codes whose boundaries this process loads (\"*\": every file "
                                        "in the folder: the whole country, ~270 MB and 17 s to load)")
    nearest_village_m: float = setting(500.0, "a point outside every village takes the nearest one this close "
                                              "(metres: coast, border, rounding); farther, no village")

    @property
    def folder(self) -> Path:
        return Path(self.boundaries_dir) if self.boundaries_dir else SHIPPED_DIR


@dataclass(frozen=True)
class Located:
    """The village a point lies in (distance 0) or the nearest one within reach (its distance)."""

    village_code: str
    distance_m: float

    @property
    def inside(self) -> bool:
        return self.distance_m == 0.0


class Atlas:
    """The villages of some provinces: polygons in an STRtree, centroids, borders shared."""

    def __init__(self, features: Iterable[dict[str, Any]]):
        codes, geometries, centroids = [], [], {}
        for feature in features:
            code = feature.get("id") or feature["properties"]["code"]
            codes.append(code)
            geometries.append(shape(feature["geometry"]))
            props = feature.get("properties") or {}
            if props.get("lat") is not None and props.get("lng") is not None:
                centroids[code] = (float(props["lat"]), float(props["lng"]))
        self.codes = codes
        self.index = {code: position for position, code in enumerate(codes)}
        self.geometries = numpy.array(geometries, dtype=object)
        self.tree = STRtree(self.geometries)
        self._centroids = centroids
        self._neighbours: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.codes)

    def __contains__(self, code: str) -> bool:
        return code in self.index

    def village_at(self, lat: float, lon: float, within_m: float = 0.0) -> Located | None:
        """The village holding the point; else the nearest within `within_m` metres; else None.
        A point on a shared border belongs to the lower code, so the answer never wavers."""
        point = Point(lon, lat)
        inside = self.tree.query(point, predicate="intersects")
        if len(inside):
            return Located(min(self.codes[i] for i in inside), 0.0)
        if within_m <= 0:
            return None
        reach = within_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.1))
        best: Located | None = None
        for position in self.tree.query(point, predicate="dwithin", distance=reach):
            nearest = shapely.shortest_line(point, self.geometries[position]).coords[-1]
            metres = distance_m(lat, lon, nearest[1], nearest[0])
            code = self.codes[position]
            if metres <= within_m and (best is None or (metres, code) < (best.distance_m, best.village_code)):
                best = Located(code, round(metres, 1))
        return best

    def neighbours(self, code: str) -> tuple[str, ...]:
        """Villages of the same district (one Polsek) that share a border with this one, by code."""
        if code not in self.index:
            return ()
        with self._lock:
            if code not in self._neighbours:
                district = code.rsplit(".", 1)[0] + "."
                near = self.tree.query(self.geometries[self.index[code]], predicate="dwithin",
                                       distance=BORDER_TOLERANCE_DEG)
                self._neighbours[code] = tuple(sorted(
                    self.codes[i] for i in near if self.codes[i] != code and self.codes[i].startswith(district)))
            return self._neighbours[code]

    def centroid(self, code: str) -> tuple[float, float] | None:
        """(lat, lon) of a village's centre: the source's, else the polygon's representative point."""
        if code in self._centroids:
            return self._centroids[code]
        if code not in self.index:
            return None
        point = self.geometries[self.index[code]].representative_point()
        return (point.y, point.x)

    def outlines(self, prefix: str, decimals: int = 4) -> Iterator[tuple[str, list]]:
        """(code, [[ [lon, lat], … ] ring, …]) of every village whose code starts with `prefix`: for a map."""
        for code in self.codes:
            if code.startswith(prefix):
                geometry = self.geometries[self.index[code]]
                rings = []
                for polygon in getattr(geometry, "geoms", [geometry]):
                    rings.append([[round(x, decimals), round(y, decimals)] for x, y in polygon.exterior.coords])
                yield code, rings


def read_features(path: Path) -> Iterator[dict[str, Any]]:
    """The features of one file: GeoJSON lines, gzipped or not (ogr2ogr's GeoJSONSeq may start lines with RS)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            line = line.strip().lstrip("\x1e")
            if line:
                yield json.loads(line)


def province_files(folder: Path, provinces: Iterable[str]) -> list[Path]:
    """The files of the provinces asked for ("*": all in the folder); a province without a file is an error."""
    provinces = tuple(provinces)
    if "*" in provinces:
        return sorted(folder.glob("[0-9][0-9].geojsonl.gz"))
    files = [folder / f"{province}.geojsonl.gz" for province in provinces]
    missing = [str(path) for path in files if not path.exists()]
    if missing:
        raise FileNotFoundError(f"no village boundaries at {', '.join(missing)}: "
                                "import them with `python -m siaga.boundaries import`")
    return files


@lru_cache(maxsize=4)
def load(folder: Path, provinces: tuple[str, ...]) -> Atlas:
    """One Atlas per (folder, provinces) per process: every worker of a service shares it."""
    return Atlas(feature for path in province_files(folder, provinces) for feature in read_features(path))


def atlas(settings: PlaceSettings = PlaceSettings()) -> Atlas:
    return load(settings.folder, tuple(settings.provinces))


class AtlasProvider(DependencyProvider):
    """Hands every worker the boundaries of the provinces the service serves (PLACES), loaded at start."""

    def setup(self):
        self.atlas = atlas(read(PlaceSettings, self.container.config))

    def get_dependency(self, worker_ctx):
        return self.atlas


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
