"""Who may take a report, and in which order: the area rules, the reporting officer, the nearest
skilled officer; who was passed over and why. Pure: the use cases fetch the officers and claim."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from services.dispatch import geo
from services.dispatch.officers import FUTURE_TOLERANCE_S, desk_key, location_age_s, why_not_free
from services.dispatch.settings import DEFAULT_SETTINGS, Settings
from shared import wilayah

# Area-first rule order: the RW's own officer knows the street, then the village's.
AREA_RULES = (("polisi_rw", "area_polisi_rw"), ("bhabinkamtibmas", "area_bhabinkamtibmas"))
# Then the Bhabinkamtibmas of the villages bordering this one in the same Polsek, nearest first.
ADJACENT_RULE = "adjacent_bhabinkamtibmas"
NEAREST_RULE = "nearest_skilled"
REPORTING_RULE = "reporting_officer"
# A duty officer named the officer by hand on a console (the officer called in by radio).
NAMED_RULE = "named_by_console"
RULES = tuple(rule for _, rule in AREA_RULES) + (ADJACENT_RULE, NEAREST_RULE, REPORTING_RULE, NAMED_RULE)
AREA_ROLES = ("polisi_rw", "bhabinkamtibmas")
ROLE_NAMES = {"polisi_rw": "Polisi RW", "bhabinkamtibmas": "Bhabinkamtibmas", "patrol_unit": "Unit patroli",
              "duty_desk": "Piket"}


@dataclass
class Candidate:
    officer: dict[str, Any]
    rule: str
    reason: str
    distance_m: float | None = None
    own: bool = False  # already claimed by this very assignment (a redelivery)
    reason_bahasa: str = ""  # what a person reads (console, SMS, demo); `reason` is for logs

    @property
    def nrp(self) -> str:
        return self.officer["_id"]


@dataclass
class Choice:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    duty_desk: dict[str, Any] | None = None
    area_officers: int = 0  # how many officers the area rules found, free or not


def rw_area(village_code: str, rw: int) -> str:
    return f"{village_code}/RW{rw:02d}"


def report_areas(place: Mapping[str, Any]) -> list[str]:
    village = place.get("village_code")
    if not village:
        return []
    return [rw_area(village, place["rw"]), village] if place.get("rw") else [village]


def polsek_of(place: Mapping[str, Any]) -> str | None:
    village = place.get("village_code")
    return wilayah.district_code(village) if village else None


def request_keys(request: Mapping[str, Any]) -> list[str]:
    """Keys of every officer the area rules may need: RW, village, the bordering villages of the same
    Polsek, duty desk, reporting officer."""
    place = request["place"]
    keys = report_areas(place) + list(place.get("neighbours") or ())
    if polsek := polsek_of(place):
        keys.append(desk_key(polsek))
    if nrp := request.get("reporting_officer_nrp"):
        keys.append(f"nrp:{nrp}")
    return keys


def has_coordinates(place: Mapping[str, Any]) -> bool:
    return place.get("lat") is not None and place.get("lon") is not None


def origin(place: Mapping[str, Any]) -> tuple[float, float] | None:
    """Where distances are measured from: the report's coordinates, else its village's centre."""
    if has_coordinates(place):
        return place["lat"], place["lon"]
    centre = place.get("centre")
    return (centre[0], centre[1]) if centre else None


def position(officer: Mapping[str, Any], now: datetime, settings: Settings) -> tuple[float, float, str] | None:
    """(lat, lon, how) of an officer for distance: a fresh live fix, else an area officer's area centre."""
    age = location_age_s(officer, now)
    if age is not None and -FUTURE_TOLERANCE_S <= age <= settings.location_max_age_s:
        return officer["lat"], officer["lon"], "fix"
    if officer.get("home_lat") is not None and officer["role"] in AREA_ROLES:
        return officer["home_lat"], officer["home_lon"], "area"
    return None


def choose(place: Mapping[str, Any], officers: Iterable[dict[str, Any]], assignment_id: str, *,
           now: datetime, skills: Iterable[str] = (), nearby: Iterable[dict[str, Any]] = (),
           settings: Settings = DEFAULT_SETTINGS, exclude: Iterable[str] = (),
           taken: Mapping[str, str] | None = None, reporting_nrp: str | None = None) -> Choice:
    """Order who may take a report, and record who was passed over and why.

    1. the reporting officer (on patrol, already on scene), 2. the RW's Polisi RW, 3. the
    village's Bhabinkamtibmas, 4. the Bhabinkamtibmas of the bordering villages of the same Polsek
    (`place.neighbours`), nearest first, 5. the nearest on-shift officer with every skill the category
    needs, within the radius: by a fresh live fix, or an area officer by the centre of their area.
    Distances run from the report's coordinates, else from its village's centre (`place.centre`).
    An officer already claimed by this very assignment (a redelivery) counts as free; `exclude` are
    officers already tried for the report; `taken` are officers whose claim was just lost to another report.
    """
    officers, exclude, taken = list(officers), set(exclude), dict(taken or {})
    choice, listed = Choice(), set()

    def consider(officer: dict[str, Any], rule: str, reason: str, distance: float | None = None,
                 bahasa: str = "") -> None:
        nrp = officer["_id"]
        if nrp in listed:
            return
        listed.add(nrp)
        own = officer.get("assignment_id") == assignment_id
        why = ("was already tried for this report" if nrp in exclude else taken.get(nrp)
               or (None if own else why_not_free(officer, now)))
        if why:
            choice.skipped.append({"nrp": nrp, "reason": f"{reason} {why}"})
        else:
            choice.candidates.append(Candidate(officer, rule, reason, distance, own, bahasa))

    if reporting_nrp:
        reporter = next((o for o in officers if o["_id"] == reporting_nrp), None)
        if reporter is None:
            choice.skipped.append({"nrp": reporting_nrp, "reason": "reporting officer is not on the roster"})
        elif reporting_nrp not in exclude and reporting_nrp not in taken and (
                not reporter.get("assignment_id") or reporter.get("assignment_id") == assignment_id):
            listed.add(reporting_nrp)
            choice.candidates.append(Candidate(
                reporter, REPORTING_RULE, "reported it on patrol and is already on scene", 0.0,
                reporter.get("assignment_id") == assignment_id, "melapor saat patroli, sudah di lokasi"))
        else:
            listed.add(reporting_nrp)
            choice.skipped.append({"nrp": reporting_nrp,
                                   "reason": "reporting officer is busy with another assignment"})

    areas = dict(zip(("polisi_rw", "bhabinkamtibmas"), _area_pair(place)))
    for role, rule in AREA_RULES:
        area = areas.get(role)
        if area is None:
            continue
        for officer in officers:
            if officer["role"] == role and area in officer.get("areas", ()):
                choice.area_officers += 1
                consider(officer, rule, f"{role} of {area}", None,
                         f"{ROLE_NAMES[role]} {_area_name(area)} (wilayahnya sendiri)")

    start = origin(place)
    neighbours = set(place.get("neighbours") or ())
    if neighbours:
        scored = []
        for officer in officers:
            if officer["role"] == "bhabinkamtibmas" and officer["_id"] not in listed:
                theirs = sorted(neighbours.intersection(officer.get("areas", ())))
                if theirs:
                    where = position(officer, now, settings)
                    distance = geo.distance_m(*start, where[0], where[1]) if start and where else None
                    scored.append((distance if distance is not None else math.inf, officer, theirs[0]))
        scored.sort(key=lambda item: (item[0], item[1]["_id"]))
        for distance, officer, area in scored:
            metres = None if math.isinf(distance) else distance
            away = f", {metres:.0f} m away" if metres is not None else ""
            jarak = f", {metres:.0f} m" if metres is not None else ""
            consider(officer, ADJACENT_RULE, f"bhabinkamtibmas of the neighbouring {area}{away}", metres,
                     f"Bhabinkamtibmas desa tetangga {_area_name(area)}{jarak}")

    if start is not None:
        needed = set(skills)
        scored = []
        for officer in nearby:
            if (officer["_id"] in listed or officer["role"] == "duty_desk"
                    or not needed <= set(officer.get("skills", ()))):
                continue
            where = position(officer, now, settings)
            if where is None:
                age = location_age_s(officer, now)
                if age is not None:
                    listed.add(officer["_id"])
                    choice.skipped.append({"nrp": officer["_id"], "reason":
                                           f"nearby but last located {_age_text(age)} ago (too old to trust)"})
                continue
            distance = geo.distance_m(*start, where[0], where[1])
            if distance <= settings.nearest_radius_m:
                scored.append((distance, officer, where[2]))
        scored.sort(key=lambda item: (item[0], item[1]["_id"]))
        skill_text = f" with {', '.join(sorted(needed))}" if needed else ""
        keahlian = f" dengan keahlian {', '.join(sorted(needed))}" if needed else ""
        for distance, officer, how in scored:
            by = "" if how == "fix" else " (from the centre of their area)"
            dari = "" if how == "fix" else " (dari pusat wilayahnya)"
            consider(officer, NEAREST_RULE, f"{officer['role']} {distance:.0f} m away{by}{skill_text}", distance,
                     f"{ROLE_NAMES.get(officer['role'], officer['role'])} terdekat, {distance:.0f} m{dari}{keahlian}")

    polsek = polsek_of(place)
    choice.duty_desk = next((o for o in officers if o["role"] == "duty_desk" and o.get("polsek") == polsek), None)
    del choice.skipped[settings.skipped_limit:]
    return choice


def _area_name(area: str) -> str:
    village, _, rw = area.partition("/")
    name = wilayah.village_name(village) or village
    return f"{name} {rw}" if rw else name


def _area_pair(place: Mapping[str, Any]) -> tuple[str | None, str | None]:
    village = place.get("village_code")
    rw = rw_area(village, place["rw"]) if village and place.get("rw") else None
    return rw, village


def _age_text(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 60:.0f} min"


def ack_deadline(priority: str, now: datetime,
                 ack_seconds: Mapping[str, float] = DEFAULT_SETTINGS.ack_seconds) -> datetime:
    return now + timedelta(seconds=ack_seconds[priority])


# Why nobody was claimed: machine rule → (English for logs, Bahasa for people).
ESCALATION_RULES = {
    "no_area_officer_free": ("no area officer free", "petugas wilayah sedang tidak tersedia"),
    "no_area_officer": ("no area officer for this place", "tidak ada petugas wilayah di lokasi ini"),
    "nobody_nearby": ("nobody suitable nearby", "tidak ada petugas yang sesuai di sekitar"),
    "no_place_to_measure": ("no coordinates to look for the nearest officer",
                            "lokasi tanpa koordinat, petugas terdekat tak bisa dicari"),
    "tries_exhausted": ("officers tried, none took it", "petugas dihubungi, tak satu pun menerima"),
}


def escalation_rules(choice: Choice, request: Mapping[str, Any]) -> list[str]:
    area = "no_area_officer_free" if choice.area_officers else "no_area_officer"
    return [area, "nobody_nearby" if origin(request["place"]) else "no_place_to_measure"]


def escalation_reason_bahasa(rules: Iterable[str], attempts: int = 0) -> str:
    text = "; ".join(ESCALATION_RULES[rule][1] for rule in rules)
    return f"{attempts} {text}" if "tries_exhausted" in rules else text

