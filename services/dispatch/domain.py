"""Pure dispatch rules: who may take a report, in which order, and by when they must answer."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared import wilayah

# Seconds an officer has to acknowledge, by priority.
ACK_SECONDS = {"P1": 120, "P2": 300, "P3": 900, "P4": 3600}

# Area-first rule order: the RW's own officer knows the street, then the village's.
AREA_RULES = (("polisi_rw", "area_polisi_rw"), ("bhabinkamtibmas", "area_bhabinkamtibmas"))


@dataclass
class Candidate:
    officer: dict[str, Any]
    rule: str
    reason: str


@dataclass
class Choice:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    duty_desk: dict[str, Any] | None = None


def rw_area(village_code: str, rw: int) -> str:
    return f"{village_code}/RW{rw:02d}"


def report_areas(place: dict[str, Any]) -> list[str]:
    village = place.get("village_code")
    if not village:
        return []
    areas = [village]
    if place.get("rw"):
        areas.insert(0, rw_area(village, place["rw"]))
    return areas


def polsek_of(place: dict[str, Any]) -> str | None:
    village = place.get("village_code")
    return wilayah.district_code(village) if village else None


def choose(place: dict[str, Any], officers: list[dict[str, Any]], assignment_id: str) -> Choice:
    """Order the free area officers for a report; record who was passed over and why.

    An officer already claimed by this very assignment (a redelivery) counts as free.
    """
    choice = Choice()
    rw = rw_area(place["village_code"], place["rw"]) if place.get("village_code") and place.get("rw") else None
    village = place.get("village_code")
    for role, rule in AREA_RULES:
        area = rw if role == "polisi_rw" else village
        if area is None:
            continue
        for officer in officers:
            if officer["role"] != role or area not in officer.get("areas", ()):
                continue
            if officer.get("status") == "available" or officer.get("assignment_id") == assignment_id:
                choice.candidates.append(Candidate(officer, rule, f"{role} of {area}"))
            else:
                choice.skipped.append({"nrp": officer["_id"], "reason": f"{role} of {area} is {officer.get('status')}"})
    polsek = polsek_of(place)
    choice.duty_desk = next(
        (o for o in officers if o["role"] == "duty_desk" and o.get("polsek") == polsek), None
    )
    return choice


def ack_deadline(priority: str, now: datetime, ack_seconds: dict[str, int] = ACK_SECONDS) -> datetime:
    return now + timedelta(seconds=ack_seconds[priority])


def officer_ref(officer: dict[str, Any]) -> dict[str, Any]:
    return {key: officer[key] for key in ("name", "rank", "role", "phone")} | {"nrp": officer["_id"]}


def report_summary(report: dict[str, Any]) -> dict[str, Any]:
    place = report["place"]
    return {
        "report_id": report["report_id"],
        "number": report["number"],
        "category": report["category"],
        "priority": report["priority"],
        "description": report["description"],
        "village_code": place.get("village_code"),
        "village_name": place.get("village_name"),
        "rw": place.get("rw"),
        "address": place.get("address"),
    }


def new_assignment(assignment_id: str, report: dict[str, Any], candidate: Candidate,
                   skipped: list[dict[str, str]], now: datetime) -> dict[str, Any]:
    return {
        "_id": assignment_id,
        "report_id": report["report_id"],
        "officer": officer_ref(candidate.officer),
        "report": report_summary(report),
        "rule": candidate.rule,
        "reason": candidate.reason,
        "skipped": skipped,
        "state": "created",
        "created_at": now,
        "ack_deadline": ack_deadline(report["priority"], now),
    }


def created_event_data(assignment: dict[str, Any]) -> dict[str, Any]:
    return {"assignment_id": assignment["_id"]} | {
        key: assignment[key] for key in ("officer", "report", "rule", "reason", "skipped", "ack_deadline")
    }


def escalation_event_data(report: dict[str, Any], choice: Choice) -> dict[str, Any]:
    return {
        "report": report_summary(report),
        "polsek": polsek_of(report["place"]) or "",
        "duty_desk": officer_ref(choice.duty_desk) if choice.duty_desk else None,
        "reason": "no area officer free" if choice.skipped else "no area officer for this place",
        "skipped": choice.skipped,
    }
