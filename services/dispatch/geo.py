"""Where officers are: H3 cells for the spatial index, and distances on the ground.

The database indexes each located officer's H3 cell; a report looks up the ring of cells that
surely covers its search radius (one indexed `$in`), never the whole roster. The exact distance
then decides, so the ring only has to be large enough, never exact.
"""
from __future__ import annotations

import math
from functools import lru_cache

import h3

EARTH_RADIUS_M = 6_371_008.8


def cell_of(lat: float, lon: float, resolution: int) -> str:
    return h3.latlng_to_cell(lat, lon, resolution)


@lru_cache(maxsize=32)
def ring_size(radius_m: float, resolution: int) -> int:
    """Grid distance k such that every point within `radius_m` lies in a cell at most k steps away.

    A point is at most one circumradius (= edge e) from its cell's centre, and centres k steps
    apart are at least 1.5·k·e apart; 10% margin covers H3's cell-size distortion.
    """
    edge = h3.average_hexagon_edge_length(resolution, unit="m")
    return max(1, math.ceil((radius_m + 2.2 * edge) / (1.35 * edge)))


def cells_within(lat: float, lon: float, radius_m: float, resolution: int) -> list[str]:
    """The cells to query for officers within `radius_m` of a point.

    The grid disk of `ring_size` is a hexagon around the circle, about 2.4 times its area at the
    default radius: its corner cells cannot hold anyone in reach, yet each costs the database an
    index lookup. A cell is kept when its nearest possible point (its centre, less its reach: the
    distance to its farthest vertex, as H3 edges are great-circle arcs) is within the radius.
    """
    origin = cell_of(lat, lon, resolution)
    reach = cell_reach_m(origin) * REACH_MARGIN
    return [cell for cell in h3.grid_disk(origin, ring_size(radius_m, resolution))
            if h3.great_circle_distance((lat, lon), h3.cell_to_latlng(cell), unit="m") - reach <= radius_m]


def cell_reach_m(cell: str) -> float:
    """How far the farthest point of a cell lies from its centre."""
    clat, clon = h3.cell_to_latlng(cell)
    return max(distance_m(clat, clon, vlat, vlon) for vlat, vlon in h3.cell_to_boundary(cell))


# The origin's reach stands for the whole disk: H3 cell sizes drift slowly across a disk, far less
# than this margin, and measuring every cell's own reach would cost CPU on every report.
REACH_MARGIN = 1.05


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
