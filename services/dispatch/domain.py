"""Pure dispatch rules: who may take a report, in which order, by when they must answer, and
how an assignment moves from created to completed. No I/O: the store and the service call these."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from services.dispatch import geo, shifts
from services.dispatch.exceptions import DispatchError, InvalidTransition, NotAssignedOfficer, OfficerNotFree
from services.dispatch.schemas import STATUSES
from shared import wilayah
from shared.contract import (
    ASSIGNMENT_ACKNOWLEDGED,
    ASSIGNMENT_ARRIVED,
    ASSIGNMENT_COMPLETED,
    ASSIGNMENT_CREATED,
    ASSIGNMENT_DECLINED,
    ASSIGNMENT_DEPARTED,
    ASSIGNMENT_EXPIRED,
    EventType,
)
from shared.envelope import Event, derived_id, to_millisecond

SOURCE = "/siaga/dispatch"
# Seconds an officer has to acknowledge, by priority (config.yml DISPATCH.ACK_SECONDS overrides).
ACK_SECONDS = {"P1": 120, "P2": 300, "P3": 900, "P4": 3600}
# Stands for "never located" in the database, so a range query needs no `null` semantics.
NEVER = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Area-first rule order: the RW's own officer knows the street, then the village's.
AREA_RULES = (("polisi_rw", "area_polisi_rw"), ("bhabinkamtibmas", "area_bhabinkamtibmas"))
NEAREST_RULE = "nearest_skilled"
REPORTING_RULE = "reporting_officer"
# A duty officer named the officer by hand on a console (the officer called in by radio).
NAMED_RULE = "named_by_console"
RULES = tuple(rule for _, rule in AREA_RULES) + (NEAREST_RULE, REPORTING_RULE, NAMED_RULE)

NO_ACK_REASON = "not acknowledged by the deadline"
# Phones' clocks drift: a fix up to this far in the future is taken as now.
FUTURE_TOLERANCE_S = 300


@dataclass(frozen=True)
class Settings:
    """Dispatch's tunables (config.yml `DISPATCH:`), read once per container."""

    ack_seconds: Mapping[str, float] = field(default_factory=lambda: dict(ACK_SECONDS))
    max_tries: int = 3
    nearest_radius_m: float = 3000.0
    location_max_age_s: float = 900.0
    h3_resolution: int = 8
    sweep_seconds: float = 2.0
    follow_up_grace_s: float = 30.0
    skipped_limit: int = 20

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> "Settings":
        section = dict(section or {})
        defaults = cls()
        return cls(
            ack_seconds={**defaults.ack_seconds,
                         **{key: float(value) for key, value in (section.get("ACK_SECONDS") or {}).items()}},
            max_tries=int(section.get("MAX_TRIES", defaults.max_tries)),
            nearest_radius_m=float(section.get("NEAREST_RADIUS_M", defaults.nearest_radius_m)),
            location_max_age_s=float(section.get("LOCATION_MAX_AGE_S", defaults.location_max_age_s)),
            h3_resolution=int(section.get("H3_RESOLUTION", defaults.h3_resolution)),
            sweep_seconds=float(section.get("SWEEP_SECONDS", defaults.sweep_seconds)),
            follow_up_grace_s=float(section.get("FOLLOW_UP_GRACE_S", defaults.follow_up_grace_s)),
            skipped_limit=int(section.get("SKIPPED_LIMIT", defaults.skipped_limit)),
        )


DEFAULT_SETTINGS = Settings()


# ---------------------------------------------------------------- officers

def lookup_keys(officer: Mapping[str, Any]) -> list[str]:
    """Index keys that let one query fetch a report's area officers, duty desk and reporting officer."""
    keys = [*officer.get("areas", ()), f"nrp:{officer['_id']}"]
    if officer["role"] == "duty_desk":
        keys.append(desk_key(officer["polsek"]))
    return keys


def desk_key(polsek: str) -> str:
    return f"desk:{polsek}"


def located(officer: dict[str, Any], lat: float | None, lon: float | None, at: datetime | None,
            resolution: int, accuracy_m: float | None = None) -> dict[str, Any]:
    """The location fields of an officer document (cell for the spatial index)."""
    if lat is None or lon is None:
        return officer | {"lat": None, "lon": None, "accuracy_m": None, "located_at": NEVER, "cell": None}
    return officer | {"lat": lat, "lon": lon, "accuracy_m": accuracy_m, "located_at": at or NEVER,
                      "cell": geo.cell_of(lat, lon, resolution)}


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


# ---------------------------------------------------------------- choosing

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
class Outcome:
    """What assigning came to: a claimed officer's assignment, or the data of an escalation (and
    when it was decided: a decision said again keeps its time, so consumers order it right)."""

    assignment: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None
    at: datetime | None = None


# A decision to escalate is stored beside the assignments, under the id the assignment would have
# had, so a redelivered report (or a repeated follow-up) finds it instead of deciding anew.
ESCALATED = "escalated"


def escalation_record(decision_id: str, escalation: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"_id": decision_id, "state": ESCALATED, "report_id": escalation["report"]["report_id"],
            "escalation": escalation, "created_at": now}


def outcome_of(stored: Mapping[str, Any]) -> Outcome:
    """A decision as stored: an assignment, or an escalation record. Its time to the millisecond, as
    the database keeps it, so the first telling and a repeat carry the same time."""
    at = to_millisecond(stored["created_at"])
    if stored["state"] == ESCALATED:
        return Outcome(escalation=stored["escalation"], at=at)
    return Outcome(assignment=dict(stored), at=at)


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


def ack_deadline(priority: str, now: datetime, ack_seconds: Mapping[str, float] = ACK_SECONDS) -> datetime:
    return now + timedelta(seconds=ack_seconds[priority])


# ---------------------------------------------------------------- assignments

def officer_ref(officer: Mapping[str, Any]) -> dict[str, Any]:
    return {key: officer[key] for key in ("name", "rank", "role", "phone")} | {"nrp": officer["_id"]}


def report_summary(report: Mapping[str, Any]) -> dict[str, Any]:
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


def request_from_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """What choosing needs, kept with each assignment so a reassignment can choose again."""
    return {
        "report": report_summary(report),
        "place": {key: report["place"].get(key) for key in ("lat", "lon", "village_code", "rw")},
        "skills": list(report.get("skills") or ()),
        "reporting_officer_nrp": report.get("reporting_officer_nrp"),
    }


def created_event_id(cause: Event) -> str:
    return derived_id(cause, ASSIGNMENT_CREATED.name)


def new_assignment(assignment_id: str, request: Mapping[str, Any], candidate: Candidate,
                   skipped: list[dict[str, str]], now: datetime, cause: Event, *,
                   settings: Settings = DEFAULT_SETTINGS, attempt: int = 1,
                   tried: Iterable[str] = ()) -> dict[str, Any]:
    """A fresh assignment awaiting acknowledgement (or, for the reporting officer, already on scene)."""
    on_scene = candidate.rule == REPORTING_RULE
    deadline = now if on_scene else ack_deadline(request["report"]["priority"], now, settings.ack_seconds)
    history = [{"state": "created", "at": now, "via": "system"}]
    if on_scene:
        history.append({"state": "on_scene", "at": now, "via": "officer_app"})
    return {
        "_id": assignment_id,
        "report_id": request["report"]["report_id"],
        "report": request["report"],
        "request": dict(request),
        "officer": officer_ref(candidate.officer),
        "rule": candidate.rule,
        "reason": candidate.reason,
        "distance_m": None if candidate.distance_m is None else round(candidate.distance_m),
        "skipped": skipped,
        "attempt": attempt,
        "tried": [*tried, candidate.nrp],
        "state": "on_scene" if on_scene else "created",
        "created_at": now,
        "ack_deadline": deadline,
        "due_at": None if on_scene else deadline,  # the sweep's work list: (state, due_at)
        "history": history,
        "event_id": created_event_id(cause),
        "correlationid": cause.correlationid or request["report"]["report_id"],
    }


def successor_id(assignment: Mapping[str, Any]) -> str:
    """The next attempt's id is fixed by the one before it, so a retried follow-up finds its own work."""
    return derived_id(f"{SOURCE}|{assignment['_id']}", "assignment", "next")


def created_event_data(assignment: Mapping[str, Any]) -> dict[str, Any]:
    """The same data however far the assignment has moved since, so a republished event is the same event."""
    return {"assignment_id": assignment["_id"]} | {
        key: assignment[key] for key in
        ("officer", "report", "rule", "reason", "skipped", "ack_deadline", "distance_m", "attempt")
    } | {"state": "on_scene" if assignment["rule"] == REPORTING_RULE else "created"}


def escalation_event_data(request: Mapping[str, Any], duty_desk: dict[str, Any] | None,
                          reason: str, skipped: list[dict[str, str]], *, attempts: int = 0,
                          last_assignment_id: str | None = None) -> dict[str, Any]:
    return {
        "report": request["report"],
        "polsek": polsek_of(request["place"]) or "",
        "duty_desk": officer_ref(duty_desk) if duty_desk else None,
        "reason": reason,
        "skipped": skipped,
        "attempts": attempts,
        "last_assignment_id": last_assignment_id,
    }


def escalation_reason(choice: Choice, request: Mapping[str, Any]) -> str:
    area = "no area officer free" if choice.area_officers else "no area officer for this place"
    nearby = ("nobody suitable nearby" if has_coordinates(request["place"])
              else "no coordinates to look for the nearest officer")
    return f"{area}; {nearby}"


def tries_exhausted_reason(assignment: Mapping[str, Any]) -> str:
    return f"{assignment['attempt']} officers tried, none took it"


# ---------------------------------------------------------------- the assignment's life

# Forward progress; an action may skip steps (an officer may reply "on scene" without "OK").
PROGRESS = ("created", "acknowledged", "en_route", "on_scene", "completed")
TERMINAL = ("completed", "declined", "expired")
ACTIONS = {"acknowledge": "acknowledged", "decline": "declined", "en_route": "en_route",
           "on_scene": "on_scene", "complete": "completed"}
STEP_EVENTS: dict[str, EventType] = {
    "acknowledged": ASSIGNMENT_ACKNOWLEDGED, "declined": ASSIGNMENT_DECLINED, "en_route": ASSIGNMENT_DEPARTED,
    "on_scene": ASSIGNMENT_ARRIVED, "completed": ASSIGNMENT_COMPLETED, "expired": ASSIGNMENT_EXPIRED,
}
# What the officer's own status becomes; None = released (free for the next report).
OFFICER_STATUS = {"acknowledged": "assigned", "en_route": "en_route", "on_scene": "on_scene",
                  "completed": None, "declined": None, "expired": None}
STATE_TEXT = {"created": "waiting for acknowledgement", "acknowledged": "acknowledged", "en_route": "en route",
              "on_scene": "on scene", "completed": "completed", "declined": "declined", "expired": "expired"}

ADVANCE, REPEAT, PASSED = "advance", "repeat", "passed"


def decide(assignment: Mapping[str, Any], action: str, by_nrp: str | None = None) -> str:
    """ADVANCE (do it), REPEAT (done before: say it again, same event), PASSED (a later step
    already implies it: nothing to do); InvalidTransition with a reason a person can read.

    `by_nrp`: the officer answering for himself (an SMS reply), who must be the assigned one.
    """
    state, target = assignment["state"], ACTIONS[action]
    number = assignment["report"]["number"]
    if by_nrp is not None and by_nrp != assignment["officer"]["nrp"]:
        raise NotAssignedOfficer(f"report #{number} is assigned to {assignment['officer']['name']}, "
                                 f"not to NRP {by_nrp}")
    if ended_by_cancellation(assignment):
        at = _local_time(_history_at(assignment, state), assignment)
        raise InvalidTransition(f"report #{number} was cancelled at {at}: the officer is no longer needed there")
    if state == target:
        return REPEAT
    if state in TERMINAL:
        at = _local_time(_history_at(assignment, state), assignment)
        raise InvalidTransition(f"assignment for report #{number} was already {STATE_TEXT[state]} at {at}"
                                f"{'; it went to the next officer' if state in ('declined', 'expired') else ''}")
    if action == "decline":
        if state in ("created", "acknowledged"):
            return ADVANCE
        raise InvalidTransition(f"the officer is already {STATE_TEXT[state]} for report #{number}: "
                                "complete it with an outcome instead of declining")
    return ADVANCE if PROGRESS.index(target) > PROGRESS.index(state) else PASSED


def step(assignment: Mapping[str, Any], target: str, now: datetime, via: str,
         note: str | None = None) -> dict[str, Any]:
    """The history entry for a move to `target`; the note is the decline reason or the outcome."""
    entry: dict[str, Any] = {"state": target, "at": now, "via": via}
    if target == "declined":
        entry["reason"] = note or "declined without a reason"
    elif target == "completed":
        entry["outcome"] = note or "completed"
    elif target == "expired":
        entry["reason"] = note or NO_ACK_REASON
    return entry


def moved(assignment: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """The assignment after a step (what the store wrote with its compare-and-set)."""
    cancelled = bool(entry.get("report_cancelled"))
    ended = entry["state"] in ("declined", "expired") and not cancelled
    return dict(assignment) | {
        "state": entry["state"],
        "history": [*assignment["history"], dict(entry)],
        # a declined/expired assignment stays due until its follow-up (next officer or duty desk) is done;
        # one ended because its report was cancelled has no follow-up at all
        "due_at": entry["at"] if ended else None,
    } | ({"successor": CANCELLED_SUCCESSOR} if cancelled else {})


def step_event_data(assignment: Mapping[str, Any], state: str) -> dict[str, Any]:
    entry = next(e for e in reversed(assignment["history"]) if e["state"] == state)
    data = {
        "assignment_id": assignment["_id"],
        "report_id": assignment["report_id"],
        "number": assignment["report"]["number"],
        "officer": assignment["officer"],
        "at": entry["at"],
        "via": entry["via"],
    }
    if state in ("declined", "expired"):
        data["reason"] = entry["reason"]
    if state == "completed":
        data["outcome"] = entry["outcome"]
    if state == "expired":
        data["attempt"] = assignment["attempt"]
    if entry.get("report_cancelled"):
        data["report_cancelled"] = True
    return data


def assignment_cause(assignment: Mapping[str, Any]) -> Event:
    """The assignment_created event, as the cause of every later step of the assignment."""
    return Event(id=assignment["event_id"], source=SOURCE, type=ASSIGNMENT_CREATED.name,
                 time=assignment["created_at"], data={}, correlationid=assignment.get("correlationid"))


def step_cause(assignment: Mapping[str, Any], state: str) -> Event:
    """A step event (e.g. the expiry), as the cause of what follows it (the next officer)."""
    event_type = STEP_EVENTS[state]
    created = assignment_cause(assignment)
    return Event(id=derived_id(created, event_type.name), source=SOURCE, type=event_type.name,
                 time=_history_at(assignment, state), data={}, correlationid=created.correlationid)


def _history_at(assignment: Mapping[str, Any], state: str) -> datetime:
    return next((e["at"] for e in reversed(assignment["history"]) if e["state"] == state), assignment["created_at"])


def _local_time(at: datetime, assignment: Mapping[str, Any]) -> str:
    zone, offset = wilayah.time_zone(assignment["report"].get("village_code") or "31")
    return (at + timedelta(hours=offset)).strftime(f"%H:%M {zone}")


def assignment_view(assignment: Mapping[str, Any]) -> dict[str, Any]:
    """What a console sees: JSON-ready (times as ISO 8601 UTC), without internal bookkeeping."""
    def iso(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value
    return {
        "assignment_id": assignment["_id"],
        "report": assignment["report"],
        "officer": assignment["officer"],
        "state": assignment["state"],
        "rule": assignment["rule"],
        "reason": assignment["reason"],
        "distance_m": assignment.get("distance_m"),
        "attempt": assignment["attempt"],
        "skipped": assignment["skipped"],
        "ack_deadline": iso(assignment["ack_deadline"]),
        "history": [{key: iso(value) for key, value in entry.items()} for entry in assignment["history"]],
    }


def officer_view(officer: Mapping[str, Any]) -> dict[str, Any]:
    hidden = {"keys", "cell", "_id"}
    view = {key: (value.isoformat() if isinstance(value, datetime) else value)
            for key, value in officer.items() if key not in hidden}
    if officer.get("located_at") == NEVER:
        view["located_at"] = None
    return {"nrp": officer["_id"]} | view


# ---------------------------------------------------------------- by hand, from a console

REASSIGN_NOTE_LIMIT = 300  # AssignmentDeclinedSchema.reason


def check_reassignment(assignment: Mapping[str, Any], officer: Mapping[str, Any]) -> None:
    """May a console move this assignment to this officer? InvalidTransition / OfficerNotFree say why not.

    The duty officer heard the officer on the radio, so shifts are not checked; a busy officer is refused
    (the claim would fail anyway) so the current assignment is not ended for nothing.
    """
    state, number = assignment["state"], assignment["report"]["number"]
    if state in TERMINAL:
        at = _local_time(_history_at(assignment, state), assignment)
        what = "cancelled with its report" if ended_by_cancellation(assignment) else f"already {STATE_TEXT[state]}"
        raise InvalidTransition(f"assignment for report #{number} was {what} at {at}; nothing to reassign")
    if officer["_id"] == assignment["officer"]["nrp"]:
        raise InvalidTransition(f"report #{number} is already assigned to {officer['name']}")
    if officer["role"] == "duty_desk":
        raise OfficerNotFree(f"{officer['name']} is the duty desk, not an officer one can send")
    if officer.get("assignment_id") or officer.get("status") != "available":
        busy = f" on another report (assignment {officer['assignment_id']})" if officer.get("assignment_id") else ""
        raise OfficerNotFree(f"{officer['name']} is {officer.get('status')}{busy}: choose a free officer")


def reassignment_step(assignment: Mapping[str, Any], officer: Mapping[str, Any], reason: str,
                      now: datetime) -> dict[str, Any]:
    """The current assignment ends as declined via the console, naming who takes over (so a follow-up
    finished later by a sweep, after a crash, still claims the named officer)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise DispatchError("say why the report is reassigned (for the record and the next shift)")
    note = f"reassigned by console to {officer['name']} ({officer['_id']}): {reason}"
    entry = step(assignment, "declined", now, "console", note[:REASSIGN_NOTE_LIMIT])
    return entry | {"reassign_to": officer["_id"], "reassign_reason": reason}


def named_officer(ended: Mapping[str, Any]) -> tuple[str, str] | None:
    """(NRP, reason) when the assignment ended because a console named the next officer."""
    last = ended["history"][-1]
    return (last["reassign_to"], last.get("reassign_reason", "")) if last.get("reassign_to") else None


def named_candidate(officer: dict[str, Any], reason: str, own: bool = False) -> Candidate:
    return Candidate(officer, NAMED_RULE, f"named by the duty officer on the console: {reason}", None, own)


# ---------------------------------------------------------------- a report cancelled on a console
#
# reports publishes report_cancelled; the report's open assignment (whatever its state) ends as
# declined via the console with the reason "report cancelled: …", and nobody follows it: no next
# officer, no duty desk (successor "report_cancelled", never due for the sweep). Declined is the
# existing terminal state every consumer already handles (reports ignores it on a cancelled report,
# notify closes the officer's SMS replies, the board ends the assignment); a separate `cancelled`
# state would need an assignment event of its own.

CANCELLED_SUCCESSOR = "report_cancelled"


def cancellation_step(assignment: Mapping[str, Any], reason: str, now: datetime) -> dict[str, Any]:
    note = f"report cancelled: {' '.join((reason or '').split()) or 'no reason given'}"
    return step(assignment, "declined", now, "console", note[:REASSIGN_NOTE_LIMIT]) | {"report_cancelled": True}


def ended_by_cancellation(assignment: Mapping[str, Any]) -> bool:
    return assignment["state"] == "declined" and bool(assignment["history"][-1].get("report_cancelled"))


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
