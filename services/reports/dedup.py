"""Near-duplicates: two open reports of one category close in space and time are one incident. No I/O.

A report is indexed under `dedup_keys`: "<category>|<H3 cell>|<hour>" at the one resolution (7, 8 or 9)
its category's search uses, and "<category>|<village code>|<hour>" (hours since the epoch, of its
receipt); a category never merged is not indexed. Every update of a report rewrites each of its index
entries on the embedded server, so it carries no key a search could not ask for. A check asks for
the H3 disk around the new point at the one resolution whose few rings are sure to cover the
category's radius (or, without coordinates, the village key), in every hour the window touches:
an equality lookup of a few dozen keys, so its cost depends on the reports of those few hours in
those few cells, never on the archive (a range on `received_at` beside the `$in` would make the
embedded server scan the collection). Status, time and exact distance are then checked here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

import h3

from services.reports.lifecycle import transition
from services.reports.settings import DedupWindow, IntakeSettings
from shared.lifecycle import DUPLICATE, OPEN_STATUSES, RECEIVED

INDEX_RESOLUTIONS = (7, 8, 9)
_EDGE_SAFETY = 0.8  # H3 edges in Indonesia are within a few % of the average; margin for the rest


KEY_HOUR = timedelta(hours=1)


def _hour(at: datetime) -> int:
    return int(at.timestamp() // KEY_HOUR.total_seconds())


def index_keys(category: str, place: dict[str, Any], received_at: datetime, window: DedupWindow) -> list[str]:
    """What a later report of the same category finds this one by. A category's radius changed in the
    settings may move its searches to another resolution: until the reports indexed before the change are
    out of the window, a report with coordinates does not find them, and is dispatched on its own (a
    report without coordinates still finds them by village)."""
    if window.minutes <= 0:
        return []
    keys = []
    if place.get("lat") is not None and place.get("lon") is not None:
        resolution, _ = disk_for(window.radius_m)
        keys.append(f"{category}|{h3.latlng_to_cell(place['lat'], place['lon'], resolution)}")
    if place.get("village_code"):
        keys.append(f"{category}|{place['village_code']}")
    return [f"{key}|{_hour(received_at)}" for key in keys]


def disk_for(radius_m: float) -> tuple[int, int]:
    """(resolution, rings) whose disk around a point's cell surely holds every point within radius_m.

    A point r away lies in a cell whose centre is at most r + 2 edges away; ring n of a hexagon
    grid starts 1.5·n edges out. The finest resolution needing at most 2 rings wins.
    """
    choice = (INDEX_RESOLUTIONS[0], 0)
    for res in sorted(INDEX_RESOLUTIONS, reverse=True):
        edge = h3.average_hexagon_edge_length(res, "m") * _EDGE_SAFETY
        rings = math.ceil((radius_m + 2 * edge) / (1.5 * edge))
        choice = (res, rings)
        if rings <= 2:
            break
    return choice


def search_keys(category: str, place: dict[str, Any], window: DedupWindow, received_at: datetime) -> list[str]:
    if place.get("lat") is not None and place.get("lon") is not None:
        res, rings = disk_for(window.radius_m)
        areas = [str(cell) for cell in h3.grid_disk(h3.latlng_to_cell(place["lat"], place["lon"], res), rings)]
    elif place.get("village_code"):
        areas = [place["village_code"]]
    else:
        return []
    hours = range(_hour(received_at - window.period), _hour(received_at) + 1)
    return sorted(f"{category}|{area}|{hour}" for area in areas for hour in hours)


@dataclass(frozen=True)
class DedupQuery:
    keys: list[str]
    since: datetime


def dedup_query(report: dict[str, Any], rules: IntakeSettings) -> DedupQuery | None:
    """What to look up for `report`; None when its category is never merged or it is not dispatchable."""
    window = rules.window_for(report["category"])
    if report["status"] != RECEIVED or window.minutes <= 0:
        return None
    keys = search_keys(report["category"], report["place"], window, report["received_at"])
    return DedupQuery(keys, report["received_at"] - window.period) if keys else None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def choose_original(report: dict[str, Any], candidates: Iterable[dict[str, Any]],
                    rules: IntakeSettings) -> tuple[dict[str, Any], int | None] | None:
    """The earliest open report `report` repeats, and the distance in metres (None: same village)."""
    window = rules.window_for(report["category"])
    here = report["place"]
    has_point = here.get("lat") is not None and here.get("lon") is not None
    matches = []
    for candidate in candidates:
        if candidate["_id"] == report["_id"] or candidate.get("category") != report["category"]:
            continue
        if candidate.get("status") not in OPEN_STATUSES:  # not held for review, not a duplicate itself
            continue
        if not (report["received_at"] - window.period <= candidate["received_at"] <= report["received_at"]):
            continue
        there = candidate["place"]
        if has_point:
            if there.get("lat") is None or there.get("lon") is None:
                continue
            distance = haversine_m(here["lat"], here["lon"], there["lat"], there["lon"])
            if distance > window.radius_m:
                continue
            matches.append((candidate["received_at"], candidate["_id"], candidate, round(distance)))
        elif there.get("village_code") == here.get("village_code"):
            matches.append((candidate["received_at"], candidate["_id"], candidate, None))
    if not matches:
        return None
    _, _, original, distance = min(matches, key=lambda match: match[:2])
    return original, distance


def as_duplicate(report: dict[str, Any], original: dict[str, Any], distance_m: int | None) -> dict[str, Any]:
    """The report, stored linked to its original: never dispatched, out of the duplicate index."""
    return report | {
        "status": DUPLICATE,
        "intake_status": DUPLICATE,
        "duplicate_of": {"report_id": original["_id"], "number": original["number"], "distance_m": distance_m},
        "history": [transition(DUPLICATE, report["received_at"])],
        "dedup_keys": [],
    }


def duplicate_link(report: dict[str, Any]) -> dict[str, Any]:
    """What the original keeps of a duplicate, so later updates can reach its reporter too."""
    return {
        "report_id": report["_id"],
        "number": report["number"],
        "source_kind": report["source_kind"],
        "anonymous": report["anonymous"],
        "reporter": report["reporter"],
        "received_at": report["received_at"],
    }


def duplicate_event_data(report: dict[str, Any]) -> dict[str, Any]:
    original = report["duplicate_of"]
    return {
        "report_id": report["_id"],
        "number": report["number"],
        "original_report_id": original["report_id"],
        "original_number": original["number"],
        "distance_m": original.get("distance_m"),
        **{key: report[key] for key in (
            "category", "priority", "place", "anonymous", "reporter", "received_at", "source_kind")},
    }
