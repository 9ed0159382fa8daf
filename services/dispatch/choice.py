"""Who may take a report, and in which order: the area rules, the reporting officer, the nearest
skilled officer; who was passed over and why. Pure: the use cases fetch the officers and claim."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from services.dispatch import geo
from services.dispatch.officers import FUTURE_TOLERANCE_S, desk_key, location_age_s, why_not_free
from services.dispatch.settings import DEFAULT_SETTINGS, Settings
from shared import wilayah

# Area-first rule order: the RW's own officer knows the street, then the village's.
AREA_RULES = (("polisi_rw", "area_polisi_rw"), ("bhabinkamtibmas", "area_bhabinkamtibmas"))
NEAREST_RULE = "nearest_skilled"
REPORTING_RULE = "reporting_officer"
# A duty officer named the officer by hand on a console (the officer called in by radio).
NAMED_RULE = "named_by_console"
RULES = tuple(rule for _, rule in AREA_RULES) + (NEAREST_RULE, REPORTING_RULE, NAMED_RULE)


@dataclass
class Candidate:
    officer: dict[str, Any]
    rule: str
    reason: str
    distance_m: float | None = None
    own: bool = False  # already claimed by this very assignment (a redelivery)

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
    """Keys of every officer the area rules may need: RW, village, duty desk, reporting officer."""
    place = request["place"]
    keys = report_areas(place)
    if polsek := polsek_of(place):
        keys.append(desk_key(polsek))
    if nrp := request.get("reporting_officer_nrp"):
        keys.append(f"nrp:{nrp}")
    return keys


def has_coordinates(place: Mapping[str, Any]) -> bool:
    return place.get("lat") is not None and place.get("lon") is not None


def choose(place: Mapping[str, Any], officers: Iterable[dict[str, Any]], assignment_id: str, *,
           now: datetime, skills: Iterable[str] = (), nearby: Iterable[dict[str, Any]] = (),
           settings: Settings = DEFAULT_SETTINGS, exclude: Iterable[str] = (),
           taken: Mapping[str, str] | None = None, reporting_nrp: str | None = None) -> Choice:
    """Order who may take a report, and record who was passed over and why.

    1. the reporting officer (on patrol, already on scene), 2. the RW's Polisi RW, 3. the
    village's Bhabinkamtibmas, 4. the nearest on-shift officer with every skill the category
    needs, within the radius, whose location is fresh. An officer already claimed by this very
    assignment (a redelivery) counts as free; `exclude` are officers already tried for the report;
    `taken` are officers whose claim was just lost to another report.
    """
    officers, exclude, taken = list(officers), set(exclude), dict(taken or {})
    choice, listed = Choice(), set()

    def consider(officer: dict[str, Any], rule: str, reason: str, distance: float | None = None) -> None:
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
            choice.candidates.append(Candidate(officer, rule, reason, distance, own))

    if reporting_nrp:
        reporter = next((o for o in officers if o["_id"] == reporting_nrp), None)
        if reporter is None:
            choice.skipped.append({"nrp": reporting_nrp, "reason": "reporting officer is not on the roster"})
        elif reporting_nrp not in exclude and reporting_nrp not in taken and (
                not reporter.get("assignment_id") or reporter.get("assignment_id") == assignment_id):
            listed.add(reporting_nrp)
            choice.candidates.append(Candidate(
                reporter, REPORTING_RULE, "reported it on patrol and is already on scene", 0.0,
                reporter.get("assignment_id") == assignment_id))
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
                consider(officer, rule, f"{role} of {area}")

    if has_coordinates(place):
        needed = set(skills)
        scored = []
        for officer in nearby:
            if (officer["_id"] in listed or officer["role"] == "duty_desk"
                    or not needed <= set(officer.get("skills", ()))):
                continue
            age = location_age_s(officer, now)
            if age is None:
                continue
            if not -FUTURE_TOLERANCE_S <= age <= settings.location_max_age_s:
                listed.add(officer["_id"])
                choice.skipped.append({"nrp": officer["_id"],
                                       "reason": f"nearby but last located {_age_text(age)} ago (too old to trust)"})
                continue
            distance = geo.distance_m(place["lat"], place["lon"], officer["lat"], officer["lon"])
            if distance <= settings.nearest_radius_m:
                scored.append((distance, officer))
        scored.sort(key=lambda pair: (pair[0], pair[1]["_id"]))
        skill_text = f" with {', '.join(sorted(needed))}" if needed else ""
        for distance, officer in scored:
            consider(officer, NEAREST_RULE, f"{officer['role']} {distance:.0f} m away{skill_text}", distance)

    polsek = polsek_of(place)
    choice.duty_desk = next((o for o in officers if o["role"] == "duty_desk" and o.get("polsek") == polsek), None)
    del choice.skipped[settings.skipped_limit:]
    return choice


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


def escalation_reason(choice: Choice, request: Mapping[str, Any]) -> str:
    area = "no area officer free" if choice.area_officers else "no area officer for this place"
    nearby = ("nobody suitable nearby" if has_coordinates(request["place"])
              else "no coordinates to look for the nearest officer")
    return f"{area}; {nearby}"

