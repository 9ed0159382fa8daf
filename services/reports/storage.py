"""The reports database: one document per accepted incident, keyed by a deterministic id.

Round trips on the intake path: one indexed lookup for near-duplicates, one insert (the duplicate
key error is the idempotency fence), and for a duplicate one conditional update of its original.
Each dispatch event is one update_one (two when an assignment_created finds its report already
touched by another step): an aggregation pipeline that runs lifecycle's rules inside the database,
atomically, or for a report no step has touched yet the same result in plain update operators.

Closed reports received more than ARCHIVE.AFTER_SECONDS ago move to `reports_archive`
(shared/archive.py): a report by its id, Open311 lists, the open figures and `siaga trace`
read both; the duplicate check and the lifecycle's updates only the live collection.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.reports import lifecycle
from services.reports.dedup import DedupQuery, duplicate_link
from services.reports.lifecycle import AssignmentStep, status_of, transition
from shared.archive import MongoArchive, archive_of, find_both, find_one_anywhere
from shared.categories import categorise
from shared.lifecycle import (
    AWAITING_OFFICER,
    CANCELLED,
    CLOSED_STATUSES,
    COMPLETED,
    FINAL_STATUSES,
    NEEDS_REVIEW,
    OPEN_STATUSES,
    RECEIVED,
)
from shared.mongo import MongoStorage, Store, drop_index

log = logging.getLogger(__name__)

# What the duplicate check needs of a candidate: no descriptions, no history.
_CANDIDATE_FIELDS = {"_id": 1, "number": 1, "category": 1, "status": 1, "place": 1, "received_at": 1}


class ReportStore(MongoArchive, Store):
    FINAL_FIELD = {"reports": "status"}  # a closed report never opens again

    def ensure_indexes(self) -> None:
        reports = self.db.reports
        reports.create_index([("dedup_keys", ASCENDING)], name="dedup_keys")
        reports.create_index([("status", ASCENDING), ("received_at", DESCENDING)], name="status_received_at")
        reports.create_index([("place.village_code", ASCENDING), ("received_at", DESCENDING)],
                             name="village_received_at")
        archived = archive_of(reports)  # what the reads that answer for archived reports look up
        archived.create_index([("place.village_code", ASCENDING), ("received_at", DESCENDING)],
                              name="village_received_at")
        for collection in (reports, archived):
            drop_index(collection, "origin_id")  # an Open311 token finds its report by derived ids instead
        self.db.reveals.create_index([("polsek", ASCENDING), ("at", DESCENDING)], name="polsek_at")
        self.db.visits.create_index([("village_code", ASCENDING), ("visited_at", ASCENDING)],
                                    name="village_visited_at")

    def add(self, report: dict[str, Any]) -> dict[str, Any]:
        """Insert once; a redelivered incident gets the report stored the first time."""
        try:
            self.insert(self.db.reports, report)
            return report
        except DuplicateKeyError:
            return self.db.reports.find_one({"_id": report["_id"]})

    def get(self, report_id: str) -> dict[str, Any] | None:
        """The report, live or archived."""
        return find_one_anywhere(self.db.reports, {"_id": report_id})

    def archived(self, report_id: str) -> dict[str, Any] | None:
        """The report if it is in the archive: intake's fence for an incident old enough to be there."""
        return archive_of(self.db.reports).find_one({"_id": report_id})

    def numbered(self, number: str) -> list[dict[str, Any]]:
        """Reports with this number (the id's first six hex digits: a prefix of `_id`, read on its index),
        live or archived."""
        prefix = re.escape(number.strip().lower())
        query = {"_id": {"$regex": f"^{prefix}"}}
        found = find_both(self.db.reports, query, [("_id", ASCENDING)], 20)
        return [report for report in found if report["number"] == number.strip().upper()]

    # --- an anonymous reporter's sealed contact (anonymity.py) and the audit of its reveals ----------

    def seal(self, contact: dict[str, Any]) -> None:
        """Keep an anonymous reporter's contact apart from the report; a redelivery writes nothing new."""
        self.db.sealed_contacts.update_one({"_id": contact["_id"]}, {"$setOnInsert": contact}, upsert=True)

    def sealed_contact(self, report_id: str) -> dict[str, Any] | None:
        """Only for a reveal, which records itself (`record_reveal`)."""
        return self.db.sealed_contacts.find_one({"_id": report_id})

    def record_reveal(self, record: dict[str, Any]) -> None:
        self.db.reveals.insert_one(record)

    def reveals(self, polseks: list[str], limit: int) -> list[dict[str, Any]]:
        """The reveals of reports in these Polseks, newest first (one query per Polsek, as the index reads)."""
        found = [record for polsek in polseks
                 for record in self.db.reveals.find({"polsek": polsek}).sort([("at", DESCENDING)]).limit(limit)]
        return sorted(found, key=lambda record: record["at"], reverse=True)[:limit]

    def open_near(self, query: DedupQuery | None) -> list[dict[str, Any]]:
        """Reports under any of the keys (an index lookup: the keys name their hours); which of them
        are open and inside the window is the domain's to check."""
        if query is None:
            return []
        return self.lookup(self.db.reports, "dedup_keys", query.keys, _CANDIDATE_FIELDS)

    @staticmethod
    def near_filter(query: DedupQuery) -> dict[str, Any]:
        """The filter `open_near` sends (a group's sends the union of their keys)."""
        return {"dedup_keys": {"$in": query.keys}}

    def link_duplicate(self, duplicate: dict[str, Any]) -> bool:
        """The original counts the duplicate and keeps its reporter, once however often this runs."""
        link = duplicate_link(duplicate)
        result = self.db.reports.update_one(
            {"_id": duplicate["duplicate_of"]["report_id"], "duplicates.report_id": {"$ne": duplicate["_id"]}},
            {"$push": {"duplicates": link}, "$inc": {"duplicate_count": 1}},
        )
        return result.modified_count == 1

    def apply_step(self, step: AssignmentStep, statuses: tuple[str, ...] = lifecycle.TRACKED_STATUSES,
                   quiet: bool = False, first: bool = False) -> bool:
        """Record a dispatch step on a report in one of `statuses`; False when there is none such.

        `first`: the step is likely the report's first (assignment_created): try the cheaper plain
        update that only a report no step has touched matches, shared with other workers' (so whether it
        matched may be unknown), and the pipeline, which gives the same result once more, unless it did."""
        if first and RECEIVED in statuses:
            if self.update(self.db.reports, *first_step_update(step)):
                return True
        query, pipeline = lifecycle_update(step)
        result = self.db.reports.update_one(query | {"status": {"$in": list(statuses)}}, pipeline)
        if result.matched_count == 0 and not quiet:
            log.warning("assignment step %s for report %s ignored: no such dispatched report",
                        step.state, step.report_id)
        return result.matched_count == 1

    def review(self, report: dict[str, Any], changes: dict[str, Any]) -> bool:
        """Compare-and-set: only a report still held for review is decided, and only once."""
        result = self.db.reports.update_one({"_id": report["_id"], "status": NEEDS_REVIEW}, {"$set": changes})
        return result.modified_count == 1

    def cancel(self, report_id: str, cancellation: dict[str, Any]) -> bool:
        """Compare-and-set: only a report still open is cancelled, and only once."""
        result = self.db.reports.update_one(
            {"_id": report_id, "status": {"$in": list(OPEN_STATUSES)}}, cancel_update(cancellation))
        return result.modified_count == 1

    def find(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Newest first, live and archived."""
        return find_both(self.db.reports, query, [("received_at", DESCENDING)], limit)

    def listed(self, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Newest first, as a console filters them (ReportFilterSchema)."""
        return self.find(list_filter(filters), limit)

    def received_before(self, before, limit: int) -> list[dict[str, Any]]:
        """Reports dispatch has not answered (still received) since before `before`: the sweep's."""
        return list(self.db.reports.find({"status": RECEIVED, "received_at": {"$lt": before}})
                    .sort([("received_at", ASCENDING)]).limit(limit))

    def any_of(self, report_ids: list[str]) -> dict[str, Any] | None:
        """One of these reports, live or archived (an Open311 token's candidates)."""
        return find_one_anywhere(self.db.reports, {"_id": {"$in": report_ids}}) if report_ids else None

    def received_in(self, villages: list[str], start: datetime, end: datetime,
                    not_counted: tuple[str, ...]) -> list[dict[str, Any]]:
        """The open figures' input (figures.py): the facts of each report of these villages received in
        [start, end), live and archived: one aggregation per village and collection, each on the
        village_received_at index ($unionWith, on the embedded server, reads the other collection whole).
        A report in both (a sweep stopped between its copy and its delete) counts twice until the next sweep."""
        return [facts for collection in (self.db.reports, archive_of(self.db.reports)) for village in villages
                for facts in collection.aggregate(figures_pipeline(village, start, end, not_counted))]

    # ---- the archive (shared/archive.py)

    def archivable(self, before: datetime, limit: int) -> dict[str, list[dict[str, Any]]]:
        """Closed reports received before then, oldest first (one query per status: the status_received_at
        index takes an equality and a range, not `$in` beside a range)."""
        found: list[dict[str, Any]] = []
        for status in CLOSED_STATUSES:
            found += self.db.reports.find({"status": status, "received_at": {"$lt": before}}).sort(
                [("received_at", ASCENDING)]).limit(limit - len(found))
            if len(found) >= limit:
                break
        return {"reports": found}

    # ---- visits (community's visit_recorded), for the open figures

    def record_visit(self, visit_id: str, village_code: str, rw: int | None, visited_at: datetime) -> None:
        """Only what the figures count: where and when (no officer, no concerns); once per visit."""
        self.db.visits.update_one({"_id": visit_id}, {"$setOnInsert": {
            "village_code": village_code, "rw": rw, "visited_at": visited_at}}, upsert=True)

    def visits_in(self, villages: list[str], start: datetime, end: datetime) -> list[dict[str, Any]]:
        return list(self.db.visits.find({"village_code": {"$in": villages},
                                         "visited_at": {"$gte": start, "$lt": end}}, {"_id": 0}))


class Reports(MongoStorage):
    store_class = ReportStore


def list_filter(filters: dict[str, Any]) -> dict[str, Any]:
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


def figures_pipeline(village: str, start: datetime, end: datetime,
                     not_counted: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each report of a village reduced inside the database to what the figures read — village, category,
    status, received_at, whether an officer raised it, each assignment's step times — so no reporter,
    description, place, officer or note ever leaves the store for the public figures.

    It opens with an equality on the village and a range on received_at alone, which the embedded server
    reads on village_received_at: a `$in` of villages beside the range, or the status in the same $match,
    makes it scan the collection (and the archive grows without end)."""
    facts = {"_id": 0, "village_code": "$place.village_code", "category": 1, "status": 1, "received_at": 1,
             "by_officer": {"$ne": [{"$ifNull": ["$reporting_officer_nrp", None]}, None]},
             "steps": {"$map": {"input": {"$objectToArray": {"$ifNull": ["$assignments", {}]}}, "as": "a",
                                "in": {"$ifNull": ["$$a.v.steps", {}]}}}}
    return [{"$match": {"place.village_code": village, "received_at": {"$gte": start, "$lt": end}}},
            {"$match": {"status": {"$nin": list(not_counted)}}}, {"$project": facts}]


def cancel_update(cancellation: dict[str, Any]) -> dict[str, Any]:
    """The update that cancels an open report (the store adds the condition that it still is open)."""
    at = cancellation["at"]
    return {"$set": {"status": CANCELLED, "updated_at": at, "cancellation": cancellation},
            "$push": {"history": transition(CANCELLED, at)}}


# --- a dispatch step, in one update -----------------------------------------------------------


def lifecycle_update(step: AssignmentStep) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(filter, pipeline) for one update_one that records `step` and moves the status if it should."""
    a = f"assignments.{step.assignment_id}"
    record = {
        f"{a}.rank": {"$max": [{"$ifNull": [f"${a}.rank", 0]}, step.rank]},
        f"{a}.ended": {"$or": [{"$ifNull": [f"${a}.ended", False]}, step.ends]},
        f"{a}.last_at": {"$max": [f"${a}.last_at", step.at]},
        f"{a}.steps.{step.state}": {"$ifNull": [f"${a}.steps.{step.state}", step.at]},
        "updated_at": {"$max": ["$updated_at", step.at]},
    }
    if step.officer:
        record[f"{a}.officer"] = {"$literal": step.officer}
    if step.note:
        record[f"{a}.notes.{step.state}"] = {"$literal": step.note}
    decide = {
        "_latest": {"$gte": [f"${a}.last_at", {"$ifNull": ["$current_at", f"${a}.last_at"]}]},
        "_next": _status_expression(f"${a}.rank", f"${a}.ended"),
    }
    applies = {"$and": ["$_latest", {"$not": [{"$in": ["$status", list(FINAL_STATUSES)]}]}]}
    moves = {"$and": [applies, {"$ne": ["$_next", "$status"]}]}
    entry = transition("$_next", step.at, step.assignment_id, (step.officer or {}).get("nrp"))
    apply = {
        "history": {"$cond": [moves, {"$concatArrays": ["$history", [entry]]}, "$history"]},
        "status": {"$cond": [applies, "$_next", "$status"]},
        "current": {"$cond": [applies, step.assignment_id, "$current"]},
        "current_at": {"$cond": [applies, f"${a}.last_at", "$current_at"]},
        "officer": {"$cond": [applies, {"$ifNull": [f"${a}.officer", "$officer"]}, "$officer"]},
    }
    pipeline = [{"$set": record}, {"$set": decide}, {"$set": apply}, {"$unset": ["_latest", "_next"]}]
    return {"_id": step.report_id}, pipeline


def _status_expression(rank: str, ended: str) -> dict[str, Any]:
    """lifecycle.status_of, as an aggregation expression over an assignment's stored rank and end."""
    branches = [{"case": {"$eq": [rank, r]}, "then": status} for r, status in lifecycle.STATUS_OF_RANK.items()]
    return {"$cond": [{"$and": [ended, {"$lt": [rank, COMPLETED.rank]}]}, AWAITING_OFFICER,
                      {"$switch": {"branches": branches, "default": "$status"}}]}


def first_step_update(step: AssignmentStep) -> tuple[dict[str, Any], dict[str, Any]]:
    """(filter, update) with the very result `lifecycle_update` gives, for a report no step has touched
    yet (status received, no current assignment) — dispatch's first assignment_created, the common case.

    Plain update operators: the embedded server evaluates a pipeline in Python, expression by
    expression, and spends markedly more on it. On any other report the filter matches nothing and
    the pipeline decides."""
    status = status_of(step.rank, step.ends)
    assignment: dict[str, Any] = {"rank": step.rank, "ended": step.ends, "last_at": step.at,
                                  "steps": {step.state: step.at}}
    if step.officer:
        assignment["officer"] = step.officer
    if step.note:
        assignment["notes"] = {step.state: step.note}
    changes = {f"assignments.{step.assignment_id}": assignment, "status": status,
               "current": step.assignment_id, "current_at": step.at}
    if step.officer:
        changes["officer"] = step.officer
    fresh = {"_id": step.report_id, "status": RECEIVED, "current": {"$exists": False}}
    history = transition(status, step.at, step.assignment_id, (step.officer or {}).get("nrp"))
    return fresh, {"$set": changes, "$max": {"updated_at": step.at}, "$push": {"history": history}}
