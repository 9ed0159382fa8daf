"""The dispatch database: the roster (officers) and assignments, behind domain methods.

Every change that two replicas could race on is a compare-and-set `update_one` whose filter
states what must still be true (fast on the embedded server, unlike find_one_and_update):
an officer is claimed only while `available` with no assignment; an assignment moves only from
the state it was read in. The officer remembers the claiming assignment, so a redelivered
report finds its own claim instead of taking a second officer.

Round trips on the hot path (report_received → assignment_created): one read by id for a decision
already taken (a redelivery says it again instead of deciding anew); one indexed query for the
area officers, duty desk and reporting officer; one ring query only when no area officer could
be claimed; one update per claim attempt; one insert. No read of the cancellations: a report
cancelled before its report_received arrived is caught by reports, which says report_cancelled
again when the assignment appears.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from pymongo import ASCENDING, UpdateMany, UpdateOne
from pymongo.errors import DuplicateKeyError

from services.dispatch import domain, geo
from services.dispatch.domain import Outcome, Settings
from services.dispatch.exceptions import (
    AssignmentNotFound,
    DispatchError,
    OfficerNotFound,
    OfficerOnAssignment,
)
from shared.envelope import Event
from shared.mongo import MongoStorage, Store

# Fields a roster file (or a console's save_officer) owns; live state (status, claim,
# location) is the officers' and dispatch's own and survives a roster reload.
ROSTER_FIELDS = ("name", "rank", "role", "polsek", "areas", "skills", "phone", "shifts", "keys")
SWEEP_BATCH = 50
# Roster entries written per bulk write: the embedded server's cost of an `$in` over the batch
# grows with its square (2,000 officers in one write: 67 s; in batches of 250: 18 s).
ROSTER_BATCH = 250


class DispatchStore(Store):
    def __init__(self, db, settings: Settings = domain.DEFAULT_SETTINGS):
        super().__init__(db)
        self.settings = settings

    def ensure_indexes(self) -> None:
        self.db.officers.create_index([("keys", ASCENDING)], name="keys")
        self.db.officers.create_index([("free_cell", ASCENDING)], name="free_cell")
        self.db.officers.create_index([("polsek", ASCENDING)], name="polsek")
        self.db.assignments.create_index([("report_id", ASCENDING)], name="report_id")
        self.db.assignments.create_index([("state", ASCENDING), ("due_at", ASCENDING)], name="state_due_at")

    # ------------------------------------------------------------ choosing and claiming

    def assign(self, request: dict[str, Any], assignment_id: str, now: datetime, cause: Event, *,
               attempt: int = 1, tried: Iterable[str] = (), after: str | None = None,
               looked_up: bool = False) -> Outcome:
        """Claim the best free officer for a report and store the assignment, or say why nobody.

        Decided once: a redelivered report (or a repeated follow-up) finds the stored decision, so it
        neither claims anyone again nor escalates a report whose officer has since become free
        (`looked_up`: the caller has just read it and found none; a race after that read is settled
        by the insert, as between two deliveries)."""
        decided = None if looked_up else self.db.assignments.find_one({"_id": assignment_id})
        if decided is not None:
            return domain.outcome_of(decided)
        place, tried = request["place"], list(tried)
        officers = self.officers_by_keys(domain.request_keys(request))
        taken: dict[str, str] = {}
        rules = dict(now=now, skills=request["skills"], settings=self.settings, exclude=tried, taken=taken,
                     reporting_nrp=request.get("reporting_officer_nrp"))
        choice = domain.choose(place, officers, assignment_id, **rules)
        winner = self._claim_first(choice, assignment_id, now, taken)
        if winner is None and domain.has_coordinates(place):
            nearby = self.officers_near(place, request["skills"], assignment_id)
            choice = domain.choose(place, officers, assignment_id, nearby=nearby, **rules)
            winner = self._claim_first(choice, assignment_id, now, taken)
        if winner is None:
            return self.escalate(assignment_id, domain.escalation_event_data(
                request, choice.duty_desk, domain.escalation_reason(choice, request), choice.skipped,
                attempts=attempt - 1, last_assignment_id=after), now)
        assignment = domain.new_assignment(assignment_id, request, winner, choice.skipped, now, cause,
                                           settings=self.settings, attempt=attempt, tried=tried)
        stored = self.add_assignment(assignment)
        if stored is not assignment and not winner.own and (
                stored["state"] == domain.ESCALATED or stored["officer"]["nrp"] != winner.nrp
                or stored["state"] in domain.TERMINAL):
            self.release(winner.nrp, assignment_id)  # a concurrent delivery decided first
        return domain.outcome_of(stored)

    def escalate(self, decision_id: str, escalation: dict[str, Any], now: datetime) -> Outcome:
        """Store the decision to escalate (or find the one a concurrent delivery stored first)."""
        return domain.outcome_of(self.add_assignment(domain.escalation_record(decision_id, escalation, now)))

    def _claim_first(self, choice: domain.Choice, assignment_id: str, now: datetime,
                     taken: dict[str, str]) -> domain.Candidate | None:
        for candidate in choice.candidates:
            if candidate.own or self.claim(candidate.nrp, assignment_id, now,
                                           on_scene=candidate.rule == domain.REPORTING_RULE):
                return candidate
            taken[candidate.nrp] = "was taken by another report meanwhile"
        return None

    def officers_by_keys(self, keys: list[str]) -> list[dict[str, Any]]:
        """Area officers, the duty desk and the reporting officer: one indexed query."""
        return list(self.db.officers.find({"keys": {"$in": keys}})) if keys else []

    def officers_near(self, place: dict[str, Any], skills: Iterable[str],
                      assignment_id: str = "") -> list[dict[str, Any]]:
        """Free officers in the ring of H3 cells around the place: the spatial index, not a roster scan.

        `free_cell` holds the cell of an available officer only (a claimed one holds `claim:<assignment>`,
        so a redelivered report still finds its own claim): the embedded server pays per document the
        index yields, so busy officers are not even read. The skills are checked here, not in the
        filter: with a second condition the embedded server's planner scans the whole roster
        (explain: COLLSCAN, every officer examined), and a hint on the index is slower still.
        """
        cells = geo.cells_within(place["lat"], place["lon"], self.settings.nearest_radius_m,
                                 self.settings.h3_resolution)
        needed = set(skills)
        found = self.db.officers.find({"free_cell": {"$in": [*cells, claim_marker(assignment_id)]}})
        return [officer for officer in found if needed <= set(officer.get("skills", ()))]

    def claim(self, nrp: str, assignment_id: str, now: datetime, on_scene: bool = False) -> bool:
        """Atomically take a free officer. The officer who reported on patrol is taken unless on another
        assignment, whatever the status: he is working and already there."""
        condition: dict[str, Any] = {"_id": nrp, "assignment_id": None}
        if not on_scene:
            condition["status"] = "available"
        result = self.db.officers.update_one(condition, {"$set": {
            "status": "on_scene" if on_scene else "assigned", "assignment_id": assignment_id, "claimed_at": now,
            "free_cell": claim_marker(assignment_id)}})
        return result.matched_count == 1

    def release(self, nrp: str, assignment_id: str) -> None:
        """Free the officer, if this assignment still holds him (idempotent); back in the spatial index."""
        self.db.officers.update_one({"_id": nrp, "assignment_id": assignment_id}, [{"$set": {
            "status": "available", "assignment_id": None, "free_cell": "$cell"}}])

    def add_assignment(self, assignment: dict[str, Any]) -> dict[str, Any]:
        """Insert, or return what an earlier run stored under the same deterministic id."""
        try:
            self.db.assignments.insert_one(assignment)
            return assignment
        except DuplicateKeyError:
            return self.db.assignments.find_one({"_id": assignment["_id"]})

    # ------------------------------------------------------------ the assignment's life

    def assignment(self, assignment_id: str) -> dict[str, Any]:
        found = self.db.assignments.find_one({"_id": assignment_id})
        if found is None or found["state"] == domain.ESCALATED:
            raise AssignmentNotFound(assignment_id)
        return found

    def assignments_for(self, report_id: str) -> list[dict[str, Any]]:
        return list(self.db.assignments.find({"report_id": report_id, "state": {"$ne": domain.ESCALATED}}))

    def advance(self, assignment_id: str, action: str, now: datetime, via: str,
                note: str | None = None, by_nrp: str | None = None) -> tuple[dict[str, Any], str]:
        """Apply an action with a compare-and-set on the state it was read in; re-read if it changed meanwhile."""
        for _ in range(3):
            assignment = self.assignment(assignment_id)
            decision = domain.decide(assignment, action, by_nrp)
            if decision != domain.ADVANCE:
                return assignment, decision
            after = self._move(assignment, domain.step(assignment, domain.ACTIONS[action], now, via, note))
            if after is not None:
                return after, decision
        raise DispatchError("the assignment changed several times while this action was applied; try again")

    def expire(self, assignment: dict[str, Any], now: datetime, reason: str) -> dict[str, Any] | None:
        """Expire an unacknowledged assignment; None when another replica (or an answer) got there first."""
        if assignment["state"] != "created":
            return None
        return self._move(assignment, domain.step(assignment, "expired", now, "system", reason))

    def _move(self, assignment: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any] | None:
        after = domain.moved(assignment, entry)
        result = self.db.assignments.update_one(
            {"_id": assignment["_id"], "state": assignment["state"]},
            {"$set": {"state": after["state"], "due_at": after["due_at"]}
                     | ({"successor": after["successor"]} if entry.get("report_cancelled") else {}),
             "$push": {"history": entry}})
        if result.matched_count != 1:
            return None
        officer_status = domain.OFFICER_STATUS[after["state"]]
        nrp = assignment["officer"]["nrp"]
        if officer_status is None:
            self.release(nrp, assignment["_id"])
        else:
            self.db.officers.update_one({"_id": nrp, "assignment_id": assignment["_id"]},
                                        {"$set": {"status": officer_status}})
        return after

    def overdue(self, now: datetime) -> list[dict[str, Any]]:
        """Unacknowledged assignments past their deadline (index state_due_at)."""
        return list(self.db.assignments.find({"state": "created", "due_at": {"$lte": now}}).limit(SWEEP_BATCH))

    def stalled_follow_ups(self, now: datetime) -> list[dict[str, Any]]:
        """Declined or expired assignments whose next step was never finished (a worker died mid-way)."""
        before = now - timedelta(seconds=self.settings.follow_up_grace_s)
        stalled: list[dict[str, Any]] = []
        for state in ("declined", "expired"):  # an equality uses the index; `$in` beside a range scans
            stalled += self.db.assignments.find({"state": state, "due_at": {"$lte": before}}).limit(SWEEP_BATCH)
        return stalled[:SWEEP_BATCH]

    def lease_follow_up(self, assignment: dict[str, Any], now: datetime) -> bool:
        """Take a stalled follow-up for another grace period; only one replica wins it."""
        result = self.db.assignments.update_one(
            {"_id": assignment["_id"], "state": assignment["state"], "due_at": assignment["due_at"]},
            {"$set": {"due_at": now}})
        return result.matched_count == 1

    def follow_up(self, ended: dict[str, Any], now: datetime) -> Outcome:
        """After a decline or expiry: the officer a console named, else the next candidate not yet tried,
        or the duty desk after N tries."""
        self.release(ended["officer"]["nrp"], ended["_id"])
        decided = self.db.assignments.find_one({"_id": domain.successor_id(ended)})
        if decided is not None:  # a follow-up repeated after a crash says what was decided
            return domain.outcome_of(decided)
        request = ended["request"] | {"reporting_officer_nrp": None}
        if named := domain.named_officer(ended):
            outcome = self.assign_named(request, domain.successor_id(ended), *named, now,
                                        domain.step_cause(ended, ended["state"]),
                                        attempt=ended["attempt"] + 1, tried=ended["tried"])
            if outcome is not None:
                return outcome
            # the named officer was taken by another report meanwhile: the usual rules choose
        if ended["attempt"] >= self.settings.max_tries:
            polsek = domain.polsek_of(request["place"])
            desk = next(iter(self.officers_by_keys([domain.desk_key(polsek)] if polsek else [])), None)
            skipped = [{"nrp": nrp, "reason": "was tried and did not take it"} for nrp in ended["tried"]]
            return self.escalate(domain.successor_id(ended), domain.escalation_event_data(
                request, desk, domain.tries_exhausted_reason(ended), skipped,
                attempts=ended["attempt"], last_assignment_id=ended["_id"]), now)
        return self.assign(request, domain.successor_id(ended), now, domain.step_cause(ended, ended["state"]),
                           attempt=ended["attempt"] + 1, tried=ended["tried"], after=ended["_id"], looked_up=True)

    def assign_named(self, request: dict[str, Any], assignment_id: str, nrp: str, reason: str, now: datetime,
                     cause: Event, *, attempt: int, tried: Iterable[str]) -> Outcome | None:
        """Claim the officer a console named (same compare-and-set as any claim); None if not free now."""
        try:
            officer = self.officer(nrp)
        except OfficerNotFound:
            return None
        own = officer.get("assignment_id") == assignment_id  # a repeated follow-up finds its own claim
        if not own and not self.claim(nrp, assignment_id, now):
            return None
        assignment = domain.new_assignment(assignment_id, request, domain.named_candidate(officer, reason, own), [],
                                           now, cause, settings=self.settings, attempt=attempt, tried=tried)
        return domain.outcome_of(self.add_assignment(assignment))

    def reassign(self, assignment_id: str, nrp: str, reason: str, now: datetime) -> dict[str, Any]:
        """End the assignment as declined via the console, naming the officer who takes over; the
        follow-up claims that officer. Checked against fresh reads, moved with a compare-and-set."""
        for _ in range(3):
            assignment, officer = self.assignment(assignment_id), self.officer(nrp)
            domain.check_reassignment(assignment, officer)
            ended = self._move(assignment, domain.reassignment_step(assignment, officer, reason, now))
            if ended is not None:
                return ended
        raise DispatchError("the assignment changed several times while it was reassigned; try again")

    def cancel_report(self, report_id: str, reason: str, now: datetime) -> list[dict[str, Any]]:
        """Remember the cancellation first (a late follow-up then claims nobody), then
        end the report's open assignments, freeing their officers. Returns the assignments ended by the
        cancellation, including ones an earlier delivery ended (to say it again, same event id)."""
        try:
            self.db.cancelled_reports.insert_one({"_id": report_id, "at": now})
        except DuplicateKeyError:
            pass
        ended = []
        for assignment in self.assignments_for(report_id):
            for _ in range(3):
                if assignment["state"] not in domain.TERMINAL:
                    after = self._move(assignment, domain.cancellation_step(assignment, reason, now))
                    if after is None:  # the officer answered meanwhile: read it again
                        assignment = self.assignment(assignment["_id"])
                        continue
                    ended.append(after)
                elif domain.ended_by_cancellation(assignment):
                    self.release(assignment["officer"]["nrp"], assignment["_id"])  # a crash may have left him
                    ended.append(assignment)
                break
        return ended

    def is_cancelled(self, report_id: str) -> bool:
        return self.db.cancelled_reports.find_one({"_id": report_id}, {"_id": 1}) is not None

    def finish_follow_up(self, ended: dict[str, Any], outcome: Outcome) -> None:
        successor = (outcome.assignment["_id"] if outcome.assignment
                     else "escalated" if outcome.escalation else domain.CANCELLED_SUCCESSOR)
        self.db.assignments.update_one({"_id": ended["_id"], "state": ended["state"]},
                                       {"$set": {"due_at": None, "successor": successor}})

    # ------------------------------------------------------------ the roster

    def officer(self, nrp: str) -> dict[str, Any]:
        found = self.db.officers.find_one({"_id": nrp})
        if found is None:
            raise OfficerNotFound(nrp)
        return found

    def roster(self, polsek: str, village: str | None = None, status: str | None = None,
               ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """A Polsek's officers with their current assignment: two queries (officers, then their assignments)."""
        officers = [o for o in self.db.officers.find({"polsek": polsek}).sort("_id", ASCENDING)
                    if domain.roster_matches(o, village, status)]
        held = [o["assignment_id"] for o in officers if o.get("assignment_id")]
        assignments = {a["_id"]: a for a in self.db.assignments.find(
            {"_id": {"$in": held}}, {"report": 1, "state": 1})} if held else {}
        return [(o, assignments.get(o.get("assignment_id"))) for o in officers]

    def replace_roster(self, officers: Iterable[dict[str, Any]]) -> int:
        """Upsert roster entries by NRP. Roster fields are replaced; an officer's live state (status,
        claim, location) is kept, so reloading a roster mid-shift frees nobody from an incident."""
        officers = [self._with_index_fields(officer) for officer in officers]
        for start in range(0, len(officers), ROSTER_BATCH):
            self._upsert_roster(officers[start:start + ROSTER_BATCH])
        return len(officers)

    def _upsert_roster(self, officers: list[dict[str, Any]]) -> None:
        writes: list[Any] = [UpdateOne(
            {"_id": o["_id"]},
            {"$set": {key: o[key] for key in ROSTER_FIELDS},
             "$setOnInsert": {"status": o["status"], "assignment_id": None, "status_reported_at": domain.NEVER,
                              "lat": None, "lon": None, "accuracy_m": None, "located_at": domain.NEVER,
                              "cell": None, "free_cell": None}},
            upsert=True) for o in officers]
        by_status: dict[str, list[str]] = {}
        for officer in officers:
            by_status.setdefault(officer["status"], []).append(officer["_id"])
        writes += [UpdateMany({"_id": {"$in": nrps}, "assignment_id": None}, [{"$set": {
            "status": status, "free_cell": "$cell" if status == "available" else None}}])
            for status, nrps in by_status.items()]
        writes += [UpdateOne({"_id": o["_id"], "located_at": {"$lt": o["located_at"]}},
                             [{"$set": located_fields(o)}])
                   for o in officers if o["lat"] is not None]
        self.db.officers.bulk_write(writes, ordered=True)

    def _with_index_fields(self, officer: dict[str, Any]) -> dict[str, Any]:
        officer = domain.located(officer, officer.get("lat"), officer.get("lon"), officer.get("located_at"),
                                 self.settings.h3_resolution)
        return officer | {"keys": domain.lookup_keys(officer), "shifts": officer.get("shifts") or []}

    def update_location(self, nrp: str, lat: float, lon: float, at: datetime,
                        accuracy_m: float | None = None) -> bool:
        """Newer fixes only: an app that was offline may deliver its fixes late and out of order."""
        fields = domain.located({}, lat, lon, at, self.settings.h3_resolution, accuracy_m)
        result = self.db.officers.update_one({"_id": nrp, "located_at": {"$lt": at}},
                                             [{"$set": located_fields(fields)}])
        return result.matched_count == 1

    def update_status(self, nrp: str, status: str, at: datetime) -> dict[str, Any]:
        """An officer (app or console) going on or off duty; never while an assignment holds the officer."""
        result = self.db.officers.update_one(
            {"_id": nrp, "assignment_id": None, "status_reported_at": {"$lt": at}},
            [{"$set": {"status": status, "status_reported_at": at,
                       "free_cell": "$cell" if status == "available" else None}}])
        officer = self.officer(nrp)
        if result.matched_count == 1:
            return officer
        if officer.get("assignment_id"):
            raise OfficerOnAssignment(
                f"{officer['name']} is {officer['status']} on assignment {officer['assignment_id']}: "
                "complete or decline it first")
        return officer  # an older report than the one already applied: nothing to do


def claim_marker(assignment_id: str) -> str:
    return f"claim:{assignment_id}"


def located_fields(officer: dict[str, Any]) -> dict[str, Any]:
    """A location update as a pipeline stage: only a free officer's cell goes into the spatial index."""
    fields = {key: officer[key] for key in ("lat", "lon", "accuracy_m", "located_at", "cell")}
    free = {"$and": [{"$eq": ["$status", "available"]}, {"$eq": ["$assignment_id", None]}]}
    return fields | {"free_cell": {"$cond": [free, officer["cell"], "$free_cell"]}}


class Dispatch(MongoStorage):
    """The store, with the service's settings (config.yml `DISPATCH:`)."""

    store_class = DispatchStore

    def setup(self):
        super().setup()
        self.store.settings = Settings.from_config(self.container.config.get("DISPATCH"))
