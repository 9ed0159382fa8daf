"""Pure rules about officers: their index keys and location, whether one is free and on shift now,
and how the roster looks on a console. No I/O."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from services.dispatch import geo, shifts
from services.dispatch.exceptions import DispatchError
from services.dispatch.schemas import STATUSES
from shared import wilayah

# Stands for "never located" in the database, so a range query needs no `null` semantics.
NEVER = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Phones' clocks drift: a fix up to this far in the future is taken as now.
FUTURE_TOLERANCE_S = 300
# What a console may set by hand; the other statuses follow the officer's assignment.
CONSOLE_STATUSES = ("off_duty", "available", "unavailable")


AREA_ROLES = ("polisi_rw", "bhabinkamtibmas")


def lookup_keys(officer: Mapping[str, Any], resolution: int) -> list[str]:
    """Index keys that let one query fetch a report's area officers, duty desk and reporting officer,
    and the H3 cell of an area officer's area centre (`home:<cell>`) for the nearest-officer rule."""
    keys = [*officer.get("areas", ()), f"nrp:{officer['_id']}"]
    if officer["role"] == "duty_desk":
        keys.append(desk_key(officer["polsek"]))
    if officer.get("home_lat") is not None:
        keys.append(home_key(geo.cell_of(officer["home_lat"], officer["home_lon"], resolution)))
    return keys


def home_key(cell: str) -> str:
    return f"home:{cell}"


def with_home(officer: dict[str, Any], centre: Callable[[str], tuple[float, float] | None] | None) -> dict[str, Any]:
    """An area officer's position when no fresh fix is known: the centre of the first village of their areas."""
    home = None
    if centre is not None and officer["role"] in AREA_ROLES and officer.get("areas"):
        home = centre(officer["areas"][0].split("/", 1)[0])
    return officer | {"home_lat": home[0] if home else None, "home_lon": home[1] if home else None}


def desk_key(polsek: str) -> str:
    return f"desk:{polsek}"


def located(officer: dict[str, Any], lat: float | None, lon: float | None, at: datetime | None,
            resolution: int, accuracy_m: float | None = None) -> dict[str, Any]:
    """The location fields of an officer document (cell for the spatial index)."""
    if lat is None or lon is None:
        return officer | {"lat": None, "lon": None, "accuracy_m": None, "located_at": NEVER, "cell": None}
    return officer | {"lat": lat, "lon": lon, "accuracy_m": accuracy_m, "located_at": at or NEVER,
                      "cell": geo.cell_of(lat, lon, resolution)}


def with_index_fields(officer: dict[str, Any], resolution: int,
                      centre: Callable[[str], tuple[float, float] | None] | None = None) -> dict[str, Any]:
    """A roster entry as stored: its location cell, area centre, lookup keys and shifts filled in."""
    officer = located(officer, officer.get("lat"), officer.get("lon"), officer.get("located_at"), resolution)
    officer = with_home(officer, centre)
    return officer | {"keys": lookup_keys(officer, resolution), "shifts": officer.get("shifts") or []}


def utc_offset(officer: Mapping[str, Any]) -> int:
    return wilayah.time_zone(officer["polsek"])[1]


def is_on_duty(officer: Mapping[str, Any], now: datetime) -> bool:
    """Shifts are in the Polsek's local time (WIB/WITA/WIT)."""
    return shifts.on_duty(officer.get("shifts") or (), now, utc_offset(officer))


def why_not_free(officer: Mapping[str, Any], now: datetime) -> str | None:
    """Why this officer cannot be claimed now, or None when free and on shift."""
    status = officer.get("status")
    if status != "available" or officer.get("assignment_id"):
        return f"is {status}"
    if not is_on_duty(officer, now):
        return "is off shift"
    return None


def plausible_fix_time(at: datetime, now: datetime) -> bool:
    """A fix stamped in the future (a phone with a wrong clock) would block every true fix after it."""
    return (at - now).total_seconds() <= FUTURE_TOLERANCE_S


def location_age_s(officer: Mapping[str, Any], now: datetime) -> float | None:
    at = officer.get("located_at")
    if officer.get("lat") is None or at is None or at <= NEVER:
        return None
    return (now - at).total_seconds()


def check_console_status(status: str) -> None:
    if status not in CONSOLE_STATUSES:
        raise DispatchError(f"status {status!r}: a console may set {', '.join(CONSOLE_STATUSES[:-1])} "
                            f"or {CONSOLE_STATUSES[-1]}")


# ---------------------------------------------------------------- the roster on a console

def officer_view(officer: Mapping[str, Any]) -> dict[str, Any]:
    hidden = {"keys", "cell", "_id", "home_lat", "home_lon"}
    view = {key: (value.isoformat() if isinstance(value, datetime) else value)
            for key, value in officer.items() if key not in hidden}
    if officer.get("located_at") == NEVER:
        view["located_at"] = None
    return {"nrp": officer["_id"]} | view


def roster_filter(polsek: str, village: str | None, status: str | None) -> dict[str, Any]:
    """A console's roster filter, checked; DispatchError says what is wrong with it."""
    if not re.fullmatch(r"\d{2}\.\d{2}\.\d{2}", polsek or ""):
        raise DispatchError(f"polsek {polsek!r}: give a district code like 31.71.06")
    if village and not (wilayah.VILLAGE_CODE.match(village) and village.startswith(polsek + ".")):
        raise DispatchError(f"village {village!r}: give a village code of Polsek {polsek}, like {polsek}.1001")
    if status and status not in STATUSES:
        raise DispatchError(f"status {status!r}: one of {', '.join(STATUSES)}")
    return {"polsek": polsek, "village": village or None, "status": status or None}


def roster_matches(officer: Mapping[str, Any], village: str | None, status: str | None) -> bool:
    """Village: officers whose areas lie in it (the village itself or one of its RWs)."""
    if status and officer.get("status") != status:
        return False
    return not village or any(area == village or area.startswith(village + "/") for area in officer.get("areas", ()))


def roster_entry(officer: Mapping[str, Any], assignment: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    """An officer as a roster view shows them: who, where, whether on shift and what they are on now."""
    current = None
    if assignment is not None:
        report = assignment["report"]
        current = {"assignment_id": assignment["_id"], "state": assignment["state"], "report_id": report["report_id"],
                   "number": report["number"], "category": report["category"], "priority": report["priority"]}
    return officer_view(officer) | {"on_shift": is_on_duty(officer, now), "assignment": current}
