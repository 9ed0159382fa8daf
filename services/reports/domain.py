"""Pure intake rules: validation with reasons, normalisation, near-duplicates, the report lifecycle. No I/O."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

import h3
from marshmallow import ValidationError

from services.reports import reasons as why
from services.reports.schemas import DETAILS_SCHEMAS, PRIORITIES
from shared import wilayah
from shared.categories import CATEGORIES, categorise
from shared.envelope import Event, derived_id
from shared.events.intake import IncidentReportedSchema
from shared.phones import normalise_phone

# --- Settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DedupWindow:
    """Two open reports of one category this close in space and time are one incident."""

    radius_m: float
    minutes: float

    @property
    def period(self) -> timedelta:
        return timedelta(minutes=self.minutes)


DEFAULT_DEDUP_WINDOWS: dict[str, DedupWindow] = {
    "traffic_accident": DedupWindow(150, 30),
    "fire": DedupWindow(300, 60),
    "brawl": DedupWindow(300, 30),
    "robbery": DedupWindow(200, 30),
    "theft": DedupWindow(100, 60),
    "domestic_violence": DedupWindow(50, 120),
    "disturbance": DedupWindow(200, 60),
    "disaster": DedupWindow(1000, 180),
    "missing_person": DedupWindow(0, 0),  # two missing children nearby are two children: never merged
    "other": DedupWindow(100, 30),
}


@dataclass(frozen=True)
class Rules:
    """Intake's settings (config.yml `INTAKE`); defaults are what a Polres starts with."""

    max_clock_skew: timedelta = timedelta(minutes=5)
    cctv_review_floor: float = 0.5  # below: stored as needs_review, no officer until a person looks
    cctv_low_confidence: float = 0.8  # below (and above the floor): one priority step lower
    dedup_windows: dict[str, DedupWindow] = field(default_factory=lambda: dict(DEFAULT_DEDUP_WINDOWS))

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> "Rules":
        config = config or {}
        windows = dict(DEFAULT_DEDUP_WINDOWS)
        for category, (radius_m, minutes) in (config.get("DEDUP_WINDOWS") or {}).items():
            windows[category] = DedupWindow(float(radius_m), float(minutes))
        return cls(
            max_clock_skew=timedelta(seconds=float(config.get("MAX_CLOCK_SKEW_SECONDS", 300))),
            cctv_review_floor=float(config.get("CCTV_REVIEW_FLOOR", 0.5)),
            cctv_low_confidence=float(config.get("CCTV_LOW_CONFIDENCE", 0.8)),
            dedup_windows=windows,
        )

    def window_for(self, category: str) -> DedupWindow:
        return self.dedup_windows.get(category) or self.dedup_windows.get("other") or DedupWindow(0, 0)


# --- Validation ---------------------------------------------------------------------------------


def report_id_for(incident: Event) -> str:
    """The same upstream message always becomes the same report."""
    return derived_id(incident, "report")


def report_number(report_id: str) -> str:
    """Short code people read out and type in SMS replies."""
    return report_id.replace("-", "")[:6].upper()


def rejection_reasons(data: dict[str, Any], rules: Rules, now: datetime) -> dict[str, why.Explanation]:
    """Every reason the envelope schema cannot see: per-source details, reference data, time, phones.

    Tolerates partial data (what passed the schema of an incident that failed it), so a sender
    whose message broke the schema still learns every other reason at once.
    """
    reasons: dict[str, why.Explanation] = {}
    if data.get("source_kind") in DETAILS_SCHEMAS:
        details_schema = DETAILS_SCHEMAS[data["source_kind"]]()
        reasons.update(why.explain_messages(details_schema.validate(data.get("details") or {}), "details"))
    village = (data.get("location") or {}).get("village_code")
    if village and not wilayah.village_exists(village):
        reasons["location.village_code"] = why.unknown_village(village)
    occurred_at = data.get("occurred_at")
    if occurred_at and occurred_at > now + rules.max_clock_skew:
        reasons["occurred_at"] = why.in_the_future(int(rules.max_clock_skew.total_seconds() // 60))
    for path, phone in _phones(data):
        try:
            normalise_phone(phone)
        except ValueError as exc:
            reasons[path] = why.invalid_phone(str(exc))
    return reasons


def every_reason(raw: Any, rules: Rules, now: datetime) -> dict[str, why.Explanation]:
    """The schema's reasons for raw incident data plus intake's own on whatever part of it is valid."""
    if not isinstance(raw, dict):
        return why.explain_messages({"data": ["Invalid input type."]})
    try:
        return rejection_reasons(IncidentReportedSchema().load(raw), rules, now)
    except ValidationError as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return why.explain_messages(exc.messages) | rejection_reasons(valid, rules, now)


def _phones(data: dict[str, Any]) -> Iterable[tuple[str, str]]:
    reporter = data.get("reporter") or {}
    if isinstance(reporter.get("phone"), str) and reporter["phone"].strip():
        yield "reporter.phone", reporter["phone"]
    details = data.get("details") or {}
    for key in ("caller_number", "guard_phone"):
        if isinstance(details.get(key), str) and details[key].strip():
            yield f"details.{key}", details[key]


def rejection(source: str, id: str, explanations: dict[str, why.Explanation], data: Any) -> dict[str, Any]:
    """report_rejected data: `reasons` in English (field → message), `explanations` in both languages."""
    return {
        "original": {"source": source, "id": id},
        "reasons": {path: text["en"] for path, text in explanations.items()},
        "explanations": explanations,
        "reporter_phone": reporter_phone(data),
    }


def dead_letter_rejection(source: str, id: str, dead_letter_reasons: dict[str, Any], data: Any,
                          rules: Rules, now: datetime) -> dict[str, Any]:
    """A message that could not be taken: `reasons` as the dead letter has them; `explanations` add,
    for a schema violation of `data`, every reason intake finds in the rest of it."""
    explanations = why.explain_dead_letter(dead_letter_reasons)
    if set(dead_letter_reasons) == {"data"}:
        explanations = every_reason(data, rules, now) | explanations
    return {
        "original": {"source": source, "id": id},
        "reasons": dead_letter_reasons,
        "explanations": explanations,
        "reporter_phone": reporter_phone(data),
    }


def reporter_phone(data: Any) -> str | None:
    """The phone a rejection can be sent to: only a valid one, and never for an anonymous report."""
    reporter = data.get("reporter") if isinstance(data, dict) else None
    if not isinstance(reporter, dict) or reporter.get("anonymous") is True:
        return None
    if not isinstance(reporter.get("phone"), str):
        return None
    try:
        return normalise_phone(reporter["phone"])
    except ValueError:
        return None


# --- The stored report --------------------------------------------------------------------------


def new_report(incident: Event, rules: Rules, now: datetime) -> dict[str, Any]:
    """The stored report for a valid incident (the caller has checked `rejection_reasons`)."""
    data = incident.data
    kind = data["source_kind"]
    details = DETAILS_SCHEMAS[kind]().load(data.get("details") or {})
    category = categorise(data["category"])
    location = data["location"]
    reporter = _reporter(data, details)
    priority, status = _priority_and_status(kind, details, category.priority, rules)
    report_id = report_id_for(incident)
    place = {
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "village_code": location.get("village_code"),
        "village_name": wilayah.village_name(location["village_code"]) if location.get("village_code") else None,
        "rw": location.get("rw"),
        "address": location.get("address"),
    }
    return {
        "_id": report_id,
        "number": report_number(report_id),
        "origin": {"source": incident.source, "id": incident.id},
        "source_kind": kind,
        "source_details": _normalised_details(details),
        "category": category.code,
        "priority": priority,
        "skills": list(category.skills),
        "description": data["description"],
        "place": place,
        "anonymous": reporter is None,
        "reporter": reporter,
        "reporting_officer_nrp": details.get("officer_nrp"),
        "occurred_at": data.get("occurred_at"),
        "received_at": now,
        "updated_at": now,
        "status": status,
        "intake_status": status,  # what intake decided; a redelivery republishes exactly that
        "history": [{"status": status, "at": now, "assignment_id": None, "officer_nrp": None}],
        "dedup_keys": index_keys(category.code, place, now),
        "duplicate_count": 0,
        "duplicates": [],
        "assignments": {},
    }


def _reporter(data: dict[str, Any], details: dict[str, Any]) -> dict[str, Any] | None:
    """Who can be told what happened: None when anonymous. A 110 caller's number counts as theirs."""
    reporter = data.get("reporter") or {"anonymous": True}
    if reporter.get("anonymous"):
        return None
    phone = reporter.get("phone") or details.get("caller_number") or details.get("guard_phone")
    name = reporter.get("name") or details.get("guard_on_duty") or _open311_name(details)
    if not phone and not name:
        return None
    return {"name": name, "phone": normalise_phone(phone) if phone else None}


def _open311_name(details: dict[str, Any]) -> str | None:
    name = " ".join(part for part in (details.get("first_name"), details.get("last_name")) if part)
    return name or None


def _priority_and_status(kind: str, details: dict[str, Any], default: str, rules: Rules) -> tuple[str, str]:
    """A 110 operator may set the priority; a CCTV guess is lowered, or held for a person below the floor."""
    if kind == "hotline_110" and details.get("priority"):
        return details["priority"], "received"
    if kind == "cctv":
        confidence = details["confidence"]
        if confidence < rules.cctv_review_floor:
            return lower_priority(default), "needs_review"
        if confidence < rules.cctv_low_confidence:
            return lower_priority(default), "received"
    return default, "received"


def lower_priority(priority: str) -> str:
    return PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]


def _normalised_details(details: dict[str, Any]) -> dict[str, Any]:
    normal = {key: value for key, value in details.items() if value not in (None, [], {})}
    for key in ("caller_number", "guard_phone"):
        if normal.get(key):
            normal[key] = normalise_phone(normal[key])
    return normal


def received_event_data(report: dict[str, Any]) -> dict[str, Any]:
    """report_received: only fields fixed at intake, so a republish is byte-for-byte the same fact."""
    return {
        "report_id": report["_id"],
        **{key: report.get(key) for key in (
            "number", "source_kind", "category", "priority", "skills", "description",
            "place", "anonymous", "reporter", "received_at", "occurred_at", "reporting_officer_nrp",
        )},
    }


# --- Near-duplicates ----------------------------------------------------------------------------
#
# A report is indexed under `dedup_keys`: "<category>|<H3 cell>|<hour>" at resolutions 7, 8 and 9,
# and "<category>|<village code>|<hour>" (hours since the epoch, of its receipt). A check asks for
# the H3 disk around the new point at the one resolution whose few rings are sure to cover the
# category's radius (or, without coordinates, the village key), in every hour the window touches:
# an equality lookup of a few dozen keys, so its cost depends on the reports of those few hours in
# those few cells, never on the archive. (A range on `received_at` beside the `$in` makes the
# embedded server scan the collection.) Status, time and exact distance are then checked here.

INDEX_RESOLUTIONS = (7, 8, 9)
# Open reports an incident may duplicate: not one waiting for review, not a duplicate itself.
OPEN_STATUSES = ("received", "awaiting_officer", "assigned", "acknowledged", "en_route", "on_scene", "escalated")
_EDGE_SAFETY = 0.8  # H3 edges in Indonesia are within a few % of the average; margin for the rest


KEY_HOUR = timedelta(hours=1)


def _hour(at: datetime) -> int:
    return int(at.timestamp() // KEY_HOUR.total_seconds())


def index_keys(category: str, place: dict[str, Any], received_at: datetime) -> list[str]:
    keys = []
    if place.get("lat") is not None and place.get("lon") is not None:
        keys += [f"{category}|{h3.latlng_to_cell(place['lat'], place['lon'], res)}" for res in INDEX_RESOLUTIONS]
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


def dedup_query(report: dict[str, Any], rules: Rules) -> DedupQuery | None:
    """What to look up for `report`; None when its category is never merged or it is not dispatchable."""
    window = rules.window_for(report["category"])
    if report["status"] != "received" or window.minutes <= 0:
        return None
    keys = search_keys(report["category"], report["place"], window, report["received_at"])
    return DedupQuery(keys, report["received_at"] - window.period) if keys else None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def choose_original(report: dict[str, Any], candidates: Iterable[dict[str, Any]],
                    rules: Rules) -> tuple[dict[str, Any], int | None] | None:
    """The earliest open report `report` repeats, and the distance in metres (None: same village)."""
    window = rules.window_for(report["category"])
    here = report["place"]
    has_point = here.get("lat") is not None and here.get("lon") is not None
    matches = []
    for candidate in candidates:
        if candidate["_id"] == report["_id"] or candidate.get("category") != report["category"]:
            continue
        if candidate.get("status") not in OPEN_STATUSES:
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
    status = "duplicate"
    return report | {
        "status": status,
        "intake_status": status,
        "duplicate_of": {"report_id": original["_id"], "number": original["number"], "distance_m": distance_m},
        "history": [{"status": status, "at": report["received_at"], "assignment_id": None, "officer_nrp": None}],
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


# --- Lifecycle ----------------------------------------------------------------------------------
#
# dispatch's events arrive on one queue per event type, so in any order, and any of them twice.
# Each assignment keeps every step it went through (first time seen) and the furthest one; the
# report follows its *latest* assignment — the one with the latest event time, because dispatch
# creates the next assignment only after the previous one ended. Within an assignment the status
# only moves forward (assigned → acknowledged → en_route → on_scene → resolved). A declined or
# expired assignment ends; if it is still the latest, the report waits for the next officer
# (`awaiting_officer`) — the one move back, and only until the next assignment_created (later in
# time) takes over, whichever of the two events is processed first. Escalation counts as a step
# after every assignment tried. resolved and cancelled are final. Each event is one update_one
# with an aggregation pipeline: the rules below run inside the database, atomically.

STEP_RANKS = {"created": 1, "acknowledged": 2, "departed": 3, "arrived": 4, "escalated": 5, "completed": 6}
ENDING_STEPS = ("declined", "expired")
STATUS_OF_RANK = {1: "assigned", 2: "acknowledged", 3: "en_route", 4: "on_scene", 5: "escalated", 6: "resolved"}
FINAL_STATUSES = ("resolved", "cancelled")
# Reports dispatch never saw (held for review, duplicates) ignore assignment events.
TRACKED_STATUSES = OPEN_STATUSES + FINAL_STATUSES
LIVE_STATUSES = OPEN_STATUSES + ("resolved",)  # all but cancelled: the common case, in one update
ESCALATION = "escalation"


@dataclass(frozen=True)
class Step:
    report_id: str
    assignment_id: str
    name: str  # a key of STEP_RANKS or ENDING_STEPS
    at: datetime
    officer: dict[str, Any] | None = None
    note: str | None = None


def step_from(event: Event, name: str) -> Step:
    """A Step from any assignment_* event (created and escalated have their own shapes)."""
    data = event.data
    if name == "escalated":
        return Step(data["report"]["report_id"], ESCALATION, name, event.time,
                    _officer(data.get("duty_desk")), data.get("reason"))
    if name == "created":
        # A patrol officer's own report starts on scene: no acknowledgement is awaited.
        step = "arrived" if data.get("state") == "on_scene" else "created"
        return Step(data["report"]["report_id"], _safe_key(data["assignment_id"]), step, event.time,
                    _officer(data["officer"]), data.get("reason"))
    note = data.get("reason") or data.get("outcome")
    return Step(data["report_id"], _safe_key(data["assignment_id"]), name, data["at"], _officer(data["officer"]), note)


def _officer(ref: dict[str, Any] | None) -> dict[str, Any] | None:
    return {key: ref.get(key) for key in ("nrp", "name", "rank", "role")} if ref else None


def _safe_key(assignment_id: str) -> str:
    """Assignment ids become field names: no dots or dollars."""
    return re.sub(r"[.$]", "_", assignment_id)


def lifecycle_update(step: Step) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(filter, pipeline) for one update_one that records `step` and moves the status if it should."""
    a = f"assignments.{step.assignment_id}"
    ending = step.name in ENDING_STEPS
    rank = 0 if ending else STEP_RANKS[step.name]
    record = {
        f"{a}.rank": {"$max": [{"$ifNull": [f"${a}.rank", 0]}, rank]},
        f"{a}.ended": {"$or": [{"$ifNull": [f"${a}.ended", False]}, ending]},
        f"{a}.last_at": {"$max": [f"${a}.last_at", step.at]},
        f"{a}.steps.{step.name}": {"$ifNull": [f"${a}.steps.{step.name}", step.at]},
        "updated_at": {"$max": ["$updated_at", step.at]},
    }
    if step.officer:
        record[f"{a}.officer"] = {"$literal": step.officer}
    if step.note:
        record[f"{a}.notes.{step.name}"] = {"$literal": step.note}
    branches = [{"case": {"$eq": [f"${a}.rank", r]}, "then": status} for r, status in STATUS_OF_RANK.items()]
    # completed wins over a decline that raced it; otherwise an ended assignment waits for the next.
    decide = {
        "_latest": {"$gte": [f"${a}.last_at", {"$ifNull": ["$current_at", f"${a}.last_at"]}]},
        "_next": {"$cond": [
            {"$and": [f"${a}.ended", {"$lt": [f"${a}.rank", STEP_RANKS["completed"]]}]},
            "awaiting_officer",
            {"$switch": {"branches": branches, "default": "$status"}},
        ]},
    }
    applies = {"$and": ["$_latest", {"$not": [{"$in": ["$status", list(FINAL_STATUSES)]}]}]}
    moves = {"$and": [applies, {"$ne": ["$_next", "$status"]}]}
    transition = {"status": "$_next", "at": step.at, "assignment_id": step.assignment_id,
                  "officer_nrp": (step.officer or {}).get("nrp")}
    apply = {
        "history": {"$cond": [moves, {"$concatArrays": ["$history", [transition]]}, "$history"]},
        "status": {"$cond": [applies, "$_next", "$status"]},
        "current": {"$cond": [applies, step.assignment_id, "$current"]},
        "current_at": {"$cond": [applies, f"${a}.last_at", "$current_at"]},
        "officer": {"$cond": [applies, {"$ifNull": [f"${a}.officer", "$officer"]}, "$officer"]},
    }
    pipeline = [{"$set": record}, {"$set": decide}, {"$set": apply}, {"$unset": ["_latest", "_next"]}]
    return {"_id": step.report_id}, pipeline


def first_step_update(step: Step) -> tuple[dict[str, Any], dict[str, Any]]:
    """(filter, update) with the very result `lifecycle_update` gives, for a report no step has touched
    yet (status received, no current assignment) — dispatch's first assignment_created, the common case.

    Plain update operators: the embedded server evaluates a pipeline in Python, expression by
    expression, and spends about a quarter more on it. On any other report the filter matches
    nothing and the pipeline decides."""
    ending = step.name in ENDING_STEPS
    status = "awaiting_officer" if ending else STATUS_OF_RANK[STEP_RANKS[step.name]]
    assignment: dict[str, Any] = {"rank": 0 if ending else STEP_RANKS[step.name], "ended": ending,
                                  "last_at": step.at, "steps": {step.name: step.at}}
    if step.officer:
        assignment["officer"] = step.officer
    if step.note:
        assignment["notes"] = {step.name: step.note}
    transition = {"status": status, "at": step.at, "assignment_id": step.assignment_id,
                  "officer_nrp": (step.officer or {}).get("nrp")}
    changes = {f"assignments.{step.assignment_id}": assignment, "status": status,
               "current": step.assignment_id, "current_at": step.at}
    if step.officer:
        changes["officer"] = step.officer
    fresh = {"_id": step.report_id, "status": "received", "current": {"$exists": False}}
    return fresh, {"$set": changes, "$max": {"updated_at": step.at}, "$push": {"history": transition}}


# --- Review of held reports (CCTV below the floor) ----------------------------------------------

REVIEW_DECISIONS = ("dispatch", "dismiss")


def reviewed(report: dict[str, Any], decision: str, reviewer: str, note: str | None, now: datetime) -> dict[str, Any]:
    """$set for a held report a person looked at: dispatch it, or dismiss it (cancelled)."""
    status = "received" if decision == "dispatch" else "cancelled"
    return {
        "status": status,
        "updated_at": now,
        "review": {"decision": decision, "by": reviewer, "note": note, "at": now},
        "history": report["history"] + [{"status": status, "at": now, "assignment_id": None, "officer_nrp": None}],
    }


def review_event_id(report_id: str) -> str:
    """report_received for a reviewed report has no cause event: its id derives from the report."""
    return derived_id(f"/siaga/reports|{report_id}", "report_received", "review")


# --- Cancellation by a duty officer ---------------------------------------------------------
#
# An open report (one dispatch handles) may be cancelled from a console: final, like resolved, so no
# later assignment event moves it (lifecycle_update leaves FINAL_STATUSES alone). The cancellation is
# stored on the report, and report_cancelled is built from what was stored, under an id derived from
# the report: cancelling again (or retrying after a crash between the write and the publish)
# republishes the very same event.

CANCEL_REASON_LIMIT = 300  # ReportCancelledSchema.reason
CANCELLED_BY_LIMIT = 80  # ReportCancelledSchema.cancelled_by


def cancel_reason(reason: Any) -> str | None:
    """The reason, whitespace tidied; None when empty or too long."""
    text = " ".join(str(reason or "").split())
    return text if 0 < len(text) <= CANCEL_REASON_LIMIT else None


def cancellation(report: dict[str, Any], reason: str, by: str, now: datetime) -> dict[str, Any]:
    return {"reason": reason, "by": by, "at": now, "previous_status": report["status"]}


def cancelled_changes(cancelled: dict[str, Any]) -> dict[str, Any]:
    """The update that cancels an open report (the store adds the condition that it still is open)."""
    at = cancelled["at"]
    transition = {"status": "cancelled", "at": at, "assignment_id": None, "officer_nrp": None}
    return {"$set": {"status": "cancelled", "updated_at": at, "cancellation": cancelled},
            "$push": {"history": transition}}


def was_cancelled(report: dict[str, Any]) -> bool:
    """Cancelled by a console (not a report dismissed on review, which is `cancelled` too)."""
    return report["status"] == "cancelled" and bool(report.get("cancellation"))


def cancelled_event_data(report: dict[str, Any]) -> dict[str, Any]:
    cancelled, village = report["cancellation"], (report.get("place") or {}).get("village_code")
    return {
        "report_id": report["_id"],
        "number": report["number"],
        "reason": cancelled["reason"],
        "cancelled_by": cancelled["by"],
        "at": cancelled["at"],
        "previous_status": cancelled.get("previous_status"),
        "village_code": village,
        "polsek": wilayah.district_code(village) if village else None,
    }


def cancel_event_id(report_id: str) -> str:
    return derived_id(f"{report_id}|cancel", "report_cancelled")


# --- Console queries ----------------------------------------------------------------------------


def list_query(filters: dict[str, Any]) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if filters.get("status"):
        query["status"] = {"$in": filters["status"]}
    if filters.get("village_code"):
        query["place.village_code"] = filters["village_code"]
    if filters.get("category"):
        query["category"] = categorise(filters["category"]).code
    received: dict[str, Any] = {}
    if filters.get("received_from"):
        received["$gte"] = filters["received_from"]
    if filters.get("received_until"):
        received["$lt"] = filters["received_until"]
    if received:
        query["received_at"] = received
    return query


def category_codes() -> list[str]:
    return list(CATEGORIES)
