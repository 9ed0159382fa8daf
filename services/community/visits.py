"""Visits (sambang, patroli dialogis) and the coverage of a Polsek's RWs: pure rules, no I/O.

An officer is known by the roster dispatch keeps (the phone the gateway vouches for, or the NRP a console
names); a visit lies in the officer's own Polsek; the RW is under the officer's own village unless a village
code is named. A concern turns into an incident (`concern_reported`, source `patrol_dialog`) that reports
takes in like any other; a Siskamling post leader's report is one too (source `siskamling`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from services.community.commands import Area
from services.community.exceptions import NotYourArea, Unclear
from shared import wilayah
from shared.envelope import derived_id, to_millisecond
from shared.events.community import PLACE_KINDS

SOURCE = "/siaga/community"


def number_of(some_id: str) -> str:
    """The short code people read and type, as reports numbers a report."""
    return some_id.replace("-", "")[:6].upper()


def area_of(officer: Mapping[str, Any]) -> tuple[str | None, list[int]]:
    """The officer's own village (the first of their areas) and the RWs they serve in it."""
    areas = list(officer.get("areas") or ())
    if not areas:
        return None, []
    village = areas[0].split("/", 1)[0]
    rws = sorted(int(a.split("/RW", 1)[1]) for a in areas if a.startswith(village + "/RW"))
    return village, rws


def place_of_visit(area: Area, officer: Mapping[str, Any]) -> tuple[str, int | None]:
    """(village, RW) of a visit: a named village must be in the officer's Polsek; without one the officer's own
    village; without an RW the one RW the officer serves there, if only one, else none (the whole village)."""
    own_village, own_rws = area_of(officer)
    village = area.village_code or own_village
    if village is None:
        raise Unclear("kode_kelurahan")
    if wilayah.district_code(village) != officer["polsek"]:
        raise NotYourArea(village, area.rw)
    rw = area.rw
    if rw is None and village == own_village and len(own_rws) == 1:
        rw = own_rws[0]
    return village, rw


def new_visit(visit_id: str, officer: Mapping[str, Any], village: str, rw: int | None, place_kind: str,
              concerns: str, at: datetime, via: str, by: str) -> dict[str, Any]:
    if place_kind not in PLACE_KINDS:
        raise Unclear("tempat")
    return {
        "_id": visit_id, "number": number_of(visit_id), "nrp": officer["nrp"], "officer_name": officer.get("name"),
        "polsek": officer["polsek"], "village_code": village, "village_name": wilayah.village_name(village),
        "rw": rw, "place_kind": place_kind, "concerns": " ".join((concerns or "").split())[:500],
        "visited_at": to_millisecond(at), "recorded_via": via, "recorded_by": by, "report": None,
    }


def visit_event_data(visit: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("number", "nrp", "officer_name", "polsek", "village_code", "village_name", "rw", "place_kind",
            "concerns", "visited_at", "recorded_via", "recorded_by")
    return {"visit_id": visit["_id"], **{key: visit.get(key) for key in keys}, "reported": bool(visit.get("report"))}


def visit_event_id(visit_id: str) -> str:
    return derived_id(f"{SOURCE}|visit|{visit_id}", "visit_recorded")


def concern_report(visit: Mapping[str, Any], category: str, description: str | None, at: datetime) -> dict[str, Any]:
    """What the visit's `report` field keeps: the incident said once (its id follows from the visit)."""
    return {"category": category, "description": " ".join((description or visit["concerns"] or "").split())[:500],
            "at": to_millisecond(at), "event_id": derived_id(f"{SOURCE}|visit|{visit['_id']}", "concern_reported")}


def concern_incident(visit: Mapping[str, Any]) -> dict[str, Any]:
    """The incident a visit's reported concern is: where the visit was, said by the officer who made it (not
    anonymous, no phone: the officer is not told as a reporter; dispatch picks the area officer as usual)."""
    report = visit["report"]
    return {
        "source_kind": "patrol_dialog", "category": report["category"],
        "description": report["description"] or "keluhan warga saat sambang",
        "occurred_at": visit["visited_at"],
        "location": {"village_code": visit["village_code"], "rw": visit.get("rw"),
                     "address": f"sekitar {visit['place_kind']} (sambang #{visit['number']})"},
        "reporter": {"name": visit.get("officer_name"), "phone": None, "anonymous": False},
        "details": {"visit_id": visit["_id"], "visit_number": visit["number"], "recorded_by_nrp": visit["nrp"],
                    "place_kind": visit["place_kind"]},
    }


def post_incident(post: Mapping[str, Any], category: str, description: str) -> dict[str, Any]:
    """A Siskamling post leader's report: the post's own place; the leader hears back as its reporter."""
    return {
        "source_kind": "siskamling", "category": category, "description": description,
        "location": {"village_code": post["village_code"], "rw": post.get("rw"), "address": f"Pos {post['name']}"},
        "reporter": {"name": post.get("leader_name"), "phone": post["leader_phone"], "anonymous": False},
        "details": {"post_id": post["_id"], "guard_on_duty": post.get("leader_name"),
                    "guard_phone": post["leader_phone"]},
    }


# ---------------------------------------------------------------- coverage

def known_rws(villages: Iterable[str], registered: Mapping[str, int], roster_areas: Iterable[str],
              posts: Iterable[Mapping[str, Any]], visits: Iterable[Mapping[str, Any]]) -> dict[str, set[int]]:
    """The RWs of each village Siaga knows of: the count a Polsek registered (RW 1…n), the RWs of its Polisi RW,
    of its Siskamling posts and of its visits. RWs have no national register."""
    rws: dict[str, set[int]] = {village: set(range(1, registered.get(village, 0) + 1)) for village in villages}
    for area in roster_areas:
        village, _, rw = area.partition("/RW")
        if rw and village in rws:
            rws[village].add(int(rw))
    for thing in [*posts, *visits]:
        if thing.get("rw") and thing["village_code"] in rws:
            rws[thing["village_code"]].add(thing["rw"])
    return rws


def coverage(polsek: str, rws: Mapping[str, set[int]], visits: Iterable[Mapping[str, Any]], now: datetime,
             stale_days: int) -> dict[str, Any]:
    """For each RW of each village: its last visit, what residents raised then, how many visits in the window,
    and whether it stands out (never visited, or not within `stale_days`). `visits` newest first."""
    since = now - timedelta(days=stale_days)
    last: dict[tuple[str, int | None], Mapping[str, Any]] = {}
    recent: dict[tuple[str, int | None], int] = {}
    for visit in visits:
        key = (visit["village_code"], visit.get("rw"))
        last.setdefault(key, visit)
        if visit["visited_at"] >= since:
            recent[key] = recent.get(key, 0) + 1
    villages = []
    for village in sorted(rws):
        rows = []
        for rw in sorted(rws[village]):
            visit = last.get((village, rw))
            days = None if visit is None else int((now - visit["visited_at"]).total_seconds() // 86400)
            rows.append({"rw": rw, "last_visit": visit_summary(visit), "days_since": days,
                         "visits_in_window": recent.get((village, rw), 0),
                         "stale": visit is None or visit["visited_at"] < since})
        villages.append({"village_code": village, "village_name": wilayah.village_name(village), "rws": rows,
                         "village_visit": visit_summary(last.get((village, None))),
                         "stale_count": sum(row["stale"] for row in rows)})
    return {"polsek": polsek, "stale_days": stale_days, "at": now, "villages": villages,
            "stale_count": sum(v["stale_count"] for v in villages),
            "rw_count": sum(len(v["rws"]) for v in villages)}


def visit_summary(visit: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if visit is None:
        return None
    return {"visit_id": visit["_id"], "number": visit["number"], "visited_at": visit["visited_at"],
            "nrp": visit["nrp"], "officer_name": visit.get("officer_name"), "place_kind": visit["place_kind"],
            "concerns": visit.get("concerns") or "", "reported": bool(visit.get("report"))}
