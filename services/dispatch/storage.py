"""The dispatch database: the roster (officers) and assignments, one document operation or query each.

Every change that two replicas could race on is a compare-and-set `update_one` whose filter
states what must still be true (fast on the embedded server, unlike find_one_and_update):
an officer is claimed only while `available` with no assignment; an assignment moves only from
the state it was read in. The officer remembers the claiming assignment, so a redelivered
report finds its own claim instead of taking a second officer. What to do with these answers
(who next, when to release) is the use cases' (usecases.py).

Assignments and escalation records over for longer than ARCHIVE.AFTER_SECONDS (`ended_at`) move to
`assignments_archive` (shared/archive.py); only a console's look at one and `siaga trace` read it there, and
a report_received old enough to have had its decision archived (usecases.assign_report).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from pymongo import ASCENDING, DESCENDING, UpdateMany, UpdateOne
from pymongo.errors import DuplicateKeyError

from services.dispatch import assignments, choice, geo, officers
from services.dispatch.exceptions import AssignmentNotFound, OfficerNotFound
from services.dispatch.settings import DEFAULT_SETTINGS, Settings
from shared import boundaries, lifecycle
from shared.archive import MongoArchive, archive_of, find_both, find_one_anywhere
from shared.boundaries import Atlas, PlaceSettings
from shared.mongo import MongoStorage, Store
from shared.settings import read

# Fields a roster file (or a console's save_officer) owns; live state (status, claim,
# location) is the officers' and dispatch's own and survives a roster reload.
ROSTER_FIELDS = ("name", "rank", "role", "polsek", "areas", "skills", "phone", "shifts", "keys", "home_lat", "home_lon")
SWEEP_BATCH = 50
# The newest assignments of one officer an SMS reply is read against: ended ones explain a late reply.
REPLY_LOOKBACK = 20
# Roster entries written per bulk write: the embedded server's cost of an `$in` over a batch grows
# with the square of its size, so a large roster goes in batches.
ROSTER_BATCH = 250


class DispatchStore(MongoArchive, Store):
    FINAL_FIELD = {"assignments": "ended_at"}  # set once, when nothing follows the assignment any more

    def __init__(self, db, settings: Settings = DEFAULT_SETTINGS, atlas: Atlas | None = None):
        super().__init__(db)
        self.settings = settings  # the spatial index's geometry: H3 resolution and the search radius
        self._atlas = atlas

    @property
    def atlas(self) -> Atlas:
        """The village boundaries this process serves (PLACES): neighbours and centres of villages."""
        if self._atlas is None:
            self._atlas = boundaries.atlas()
        return self._atlas

    def ensure_indexes(self) -> None:
        self.db.officers.create_index([("keys", ASCENDING)], name="keys")
        self.db.officers.create_index([("free_cell", ASCENDING)], name="free_cell")
        self.db.officers.create_index([("polsek", ASCENDING)], name="polsek")
        self.db.assignments.create_index([("report_id", ASCENDING)], name="report_id")
        self.db.assignments.create_index([("state", ASCENDING), ("due_at", ASCENDING)], name="state_due_at")
        self.db.assignments.create_index([("officer.nrp", ASCENDING), ("created_at", DESCENDING)], name="officer")
        self.db.officers.create_index([("phone", ASCENDING)], name="phone")
        self.db.assignments.create_index([("ended_at", ASCENDING)], name="ended_at", sparse=True)
        archive_of(self.db.assignments).create_index([("report_id", ASCENDING)], name="report_id")

    # ------------------------------------------------------------ decisions and claims

    def decision(self, decision_id: str) -> dict[str, Any] | None:
        """The assignment or escalation record stored under this id, if any was decided."""
        return self.db.assignments.find_one({"_id": decision_id})

    def add_assignment(self, assignment: dict[str, Any]) -> dict[str, Any]:
        """Insert, or return what an earlier run stored under the same deterministic id."""
        try:
            self.insert(self.db.assignments, assignment)
            return assignment
        except DuplicateKeyError:
            return self.db.assignments.find_one({"_id": assignment["_id"]})

    def officers_by_keys(self, keys: list[str]) -> list[dict[str, Any]]:
        """Area officers, the duty desk and the reporting officer: one indexed query, shared with other
        workers' (shared/grouped_lookups.py)."""
        return self.lookup(self.db.officers, "keys", keys)

    def officers_near(self, place: dict[str, Any], skills: Iterable[str],
                      assignment_id: str = "") -> list[dict[str, Any]]:
        """Free officers in the ring of H3 cells around the place: the spatial index, not a roster scan.

        `free_cell` holds the cell of an available officer only (a claimed one holds `claim:<assignment>`,
        so a redelivered report still finds its own claim): the embedded server pays per document the
        index yields, so busy officers are not even read. The skills are checked here, not in the
        filter: with a second condition the embedded server's planner scans the whole roster
        (explain: COLLSCAN, every officer examined), and a hint on the index is slower still.
        """
        cells = geo.cells_within(*choice.origin(place), self.settings.nearest_radius_m, self.settings.h3_resolution)
        needed = set(skills)
        live = self.db.officers.find({"free_cell": {"$in": [*cells, claim_marker(assignment_id)]}})
        found = {officer["_id"]: officer for officer in live}
        for officer in self.db.officers.find({"keys": {"$in": [officers.home_key(cell) for cell in cells]}}):
            found.setdefault(officer["_id"], officer)
        return [officer for officer in found.values() if needed <= set(officer.get("skills", ()))]

    def claim(self, nrp: str, assignment_id: str, on_scene: bool = False) -> bool:
        """Atomically take a free officer. The officer who reported on patrol is taken unless on another
        assignment, whatever the status: he is working and already there. Undone by `release` to exactly
        the officer as he was (a repeated report claims before its insert meets the stored decision)."""
        condition: dict[str, Any] = {"_id": nrp, "assignment_id": None}
        if not on_scene:
            condition["status"] = "available"
        status = (lifecycle.ON_SCENE if on_scene else lifecycle.CREATED).officer_status
        claimed = self.update(self.db.officers, condition, {"$set": {
            "status": status, "assignment_id": assignment_id, "free_cell": claim_marker(assignment_id)}})
        if claimed is None:  # shared with other workers' claims, not all of which took their officer
            claimed = self.db.officers.find_one({"_id": nrp, "assignment_id": assignment_id}, {"_id": 1}) is not None
        return claimed

    def release(self, nrp: str, assignment_id: str) -> None:
        """Free the officer, if this assignment still holds him (idempotent); back in the spatial index."""
        self.db.officers.update_one({"_id": nrp, "assignment_id": assignment_id}, [{"$set": {
            "status": "available", "assignment_id": None, "free_cell": "$cell"}}])

    def hold(self, nrp: str, assignment_id: str, status: str) -> None:
        """The officer's status while this assignment still holds him (en route, on scene …)."""
        self.db.officers.update_one({"_id": nrp, "assignment_id": assignment_id}, {"$set": {"status": status}})

    # ------------------------------------------------------------ assignments

    def assignment(self, assignment_id: str, archived: bool = False) -> dict[str, Any]:
        """A live assignment (what an action moves); `archived`: or its archived copy (to look at)."""
        query = {"_id": assignment_id}
        found = find_one_anywhere(self.db.assignments, query) if archived else self.db.assignments.find_one(query)
        if found is None or found["state"] == assignments.ESCALATED:
            raise AssignmentNotFound(assignment_id)
        return found

    def decisions_about(self, report_id: str) -> list[dict[str, Any]]:
        """Every assignment and escalation of a report, live and archived, oldest first (`siaga trace`)."""
        return find_both(self.db.assignments, {"report_id": report_id}, [("created_at", ASCENDING)], 1000)

    def escalations_for(self, report_id: str) -> list[dict[str, Any]]:
        return list(self.db.assignments.find({"report_id": report_id, "state": assignments.ESCALATED}))

    def assignments_for(self, report_id: str) -> list[dict[str, Any]]:
        return list(self.db.assignments.find({"report_id": report_id, "state": {"$ne": assignments.ESCALATED}}))

    def assignments_of_officer(self, nrp: str) -> list[dict[str, Any]]:
        """The officer's newest assignments, open and ended: what an SMS reply of his is read against."""
        return list(self.db.assignments.find({"officer.nrp": nrp}, {"report": 1, "state": 1, "created_at": 1})
                    .sort("created_at", DESCENDING).limit(REPLY_LOOKBACK))

    def move(self, assignment: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any] | None:
        """The assignment after the step, if it was still in the state it was read in; None if it moved meanwhile."""
        after = assignments.moved(assignment, entry)
        result = self.db.assignments.update_one(
            {"_id": assignment["_id"], "state": assignment["state"]},
            {"$set": {"state": after["state"], "due_at": after["due_at"]}
                     | ({"successor": after["successor"]} if entry.get("report_cancelled") else {})
                     | ({"ended_at": after["ended_at"]} if "ended_at" in after else {}),
             "$push": {"history": entry}})
        return after if result.matched_count == 1 else None

    def overdue(self, now: datetime) -> list[dict[str, Any]]:
        """Unacknowledged assignments due to be said again or past their deadline (index state_due_at)."""
        return list(self.db.assignments.find({"state": "created", "due_at": {"$lte": now}}).limit(SWEEP_BATCH))

    def gauges(self) -> Iterable[tuple[str, dict, float]]:
        """Assignments waiting for their officer, before and past their due time (the deadline, or saying
        them again; index state_due_at): what an engineer is woken for is an overdue one that stays
        overdue (the sweep did not act)."""
        now = datetime.now(timezone.utc)
        for state, due in (("pending", {"$gt": now}), ("overdue", {"$lte": now})):
            yield "siaga_assignment_deadlines", {"state": state}, float(
                self.db.assignments.count_documents({"state": "created", "due_at": due}))

    def mark_reannounced(self, assignment: dict[str, Any], now: datetime) -> bool:
        """Only one replica says an assignment again, and only while its officer has not answered; then
        the sweep's next work on it is the deadline."""
        result = self.db.assignments.update_one(
            {"_id": assignment["_id"], "state": "created", "reannounced_at": None},
            {"$set": {"reannounced_at": now, "due_at": assignment["ack_deadline"]}})
        return result.modified_count == 1

    def stalled_follow_ups(self, before: datetime) -> list[dict[str, Any]]:
        """Declined or expired assignments whose next step was due before then and never finished."""
        stalled: list[dict[str, Any]] = []
        for state in lifecycle.ENDING:  # an equality uses the index; `$in` beside a range scans
            stalled += self.db.assignments.find({"state": state, "due_at": {"$lte": before}}).limit(SWEEP_BATCH)
        return stalled[:SWEEP_BATCH]

    def lease_follow_up(self, assignment: dict[str, Any], now: datetime) -> bool:
        """Take a stalled follow-up for another grace period; only one replica wins it."""
        result = self.db.assignments.update_one(
            {"_id": assignment["_id"], "state": assignment["state"], "due_at": assignment["due_at"]},
            {"$set": {"due_at": now}})
        return result.matched_count == 1

    def finish_follow_up(self, ended: dict[str, Any], successor: str, at: datetime) -> None:
        """The follow-up is done: never due again, what came of it is recorded, and the assignment is over (since
        the first time: a follow-up finished again keeps it)."""
        self.db.assignments.update_one({"_id": ended["_id"], "state": ended["state"]},
                                       {"$set": {"due_at": None, "successor": successor}, "$min": {"ended_at": at}})

    def end_escalation(self, escalation_id: str, at: datetime) -> None:
        """The duty desk acted on the escalation (or its report was cancelled): it is over, since the first time."""
        self.db.assignments.update_one({"_id": escalation_id, "state": assignments.ESCALATED,
                                        "ended_at": {"$exists": False}}, {"$set": {"ended_at": at}})

    def archived_decision(self, decision_id: str) -> dict[str, Any] | None:
        """The decision stored under this id, if it is in the archive."""
        return archive_of(self.db.assignments).find_one({"_id": decision_id})

    def archivable(self, before: datetime, limit: int) -> dict[str, list[dict[str, Any]]]:
        """Assignments and escalations over since before then, the longest first (index ended_at)."""
        return {"assignments": list(self.db.assignments.find({"ended_at": {"$lt": before}})
                                    .sort([("ended_at", ASCENDING)]).limit(limit))}

    def remember_cancellation(self, report_id: str, now: datetime) -> None:
        try:
            self.db.cancelled_reports.insert_one({"_id": report_id, "at": now})
        except DuplicateKeyError:
            pass

    def is_cancelled(self, report_id: str) -> bool:
        return self.db.cancelled_reports.find_one({"_id": report_id}, {"_id": 1}) is not None

    # ------------------------------------------------------------ the roster

    def officer(self, nrp: str) -> dict[str, Any]:
        found = self.db.officers.find_one({"_id": nrp})
        if found is None:
            raise OfficerNotFound(nrp)
        return found

    def officer_by_phone(self, phone: str) -> dict[str, Any] | None:
        """The officer whose roster phone (E.164) this is: who an inbound SMS came from."""
        return self.db.officers.find_one({"phone": phone})

    def roster(self, polsek: str, village: str | None = None, status: str | None = None,
               ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """A Polsek's officers with their current assignment: two queries (officers, then their assignments)."""
        listed = [o for o in self.db.officers.find({"polsek": polsek}).sort("_id", ASCENDING)
                  if officers.roster_matches(o, village, status)]
        held = [o["assignment_id"] for o in listed if o.get("assignment_id")]
        current = {a["_id"]: a for a in self.db.assignments.find(
            {"_id": {"$in": held}}, {"report": 1, "state": 1})} if held else {}
        return [(o, current.get(o.get("assignment_id"))) for o in listed]

    def replace_roster(self, entries: Iterable[dict[str, Any]]) -> int:
        """Upsert roster entries by NRP. Roster fields are replaced; an officer's live state (status,
        claim, location) is kept, so reloading a roster mid-shift frees nobody from an incident."""
        indexed = [officers.with_index_fields(entry, self.settings.h3_resolution, self.atlas.centroid)
                   for entry in entries]
        for start in range(0, len(indexed), ROSTER_BATCH):
            self._upsert_roster(indexed[start:start + ROSTER_BATCH])
        return len(indexed)

    def _upsert_roster(self, batch: list[dict[str, Any]]) -> None:
        writes: list[Any] = [UpdateOne(
            {"_id": o["_id"]},
            {"$set": {key: o[key] for key in ROSTER_FIELDS},
             "$setOnInsert": {"status": o["status"], "assignment_id": None, "status_reported_at": officers.NEVER,
                              "lat": None, "lon": None, "accuracy_m": None, "located_at": officers.NEVER,
                              "cell": None, "free_cell": None}},
            upsert=True) for o in batch]
        by_status: dict[str, list[str]] = {}
        for officer in batch:
            by_status.setdefault(officer["status"], []).append(officer["_id"])
        writes += [UpdateMany({"_id": {"$in": nrps}, "assignment_id": None}, [{"$set": {
            "status": status, "free_cell": "$cell" if status == "available" else None}}])
            for status, nrps in by_status.items()]
        writes += [UpdateOne({"_id": o["_id"], "located_at": {"$lt": o["located_at"]}},
                             [{"$set": located_fields(o)}])
                   for o in batch if o["lat"] is not None]
        self.db.officers.bulk_write(writes, ordered=True)

    def update_location(self, nrp: str, lat: float, lon: float, at: datetime,
                        accuracy_m: float | None = None) -> bool:
        """Newer fixes only: an app that was offline may deliver its fixes late and out of order."""
        fields = officers.located({}, lat, lon, at, self.settings.h3_resolution, accuracy_m)
        result = self.db.officers.update_one({"_id": nrp, "located_at": {"$lt": at}},
                                             [{"$set": located_fields(fields)}])
        return result.matched_count == 1

    def update_status(self, nrp: str, status: str, at: datetime) -> bool:
        """Set a free officer's status, if `at` is newer than the last status report; False if not applied."""
        result = self.db.officers.update_one(
            {"_id": nrp, "assignment_id": None, "status_reported_at": {"$lt": at}},
            [{"$set": {"status": status, "status_reported_at": at,
                       "free_cell": "$cell" if status == "available" else None}}])
        return result.matched_count == 1


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
        self.store.settings = read(Settings, self.container.config)
        self.store._atlas = boundaries.atlas(read(PlaceSettings, self.container.config))
