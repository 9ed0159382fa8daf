"""The reports database: one document per accepted incident, keyed by a deterministic id.

Round trips on the intake path: one indexed lookup for near-duplicates, one insert (the duplicate
key error is the idempotency fence), and for a duplicate one conditional update of its original.
Each dispatch event is one update_one (two when an assignment_created finds its report already
touched by another step).
"""
from __future__ import annotations

import logging
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.reports import domain
from shared.mongo import MongoStorage, Store

log = logging.getLogger(__name__)

# What the duplicate check needs of a candidate: no descriptions, no history.
_CANDIDATE_FIELDS = {"_id": 1, "number": 1, "category": 1, "status": 1, "place": 1, "received_at": 1}


class ReportStore(Store):
    def ensure_indexes(self) -> None:
        reports = self.db.reports
        if "dedup_keys_received_at" in reports.index_information():
            reports.drop_index("dedup_keys_received_at")  # before the keys carried their hour: a scan
        reports.create_index([("dedup_keys", ASCENDING)], name="dedup_keys")
        reports.create_index([("status", ASCENDING), ("received_at", DESCENDING)], name="status_received_at")
        reports.create_index([("place.village_code", ASCENDING), ("received_at", DESCENDING)],
                             name="village_received_at")
        reports.create_index([("origin.id", ASCENDING)], name="origin_id")

    def add(self, report: dict[str, Any]) -> dict[str, Any]:
        """Insert once; a redelivered incident gets the report stored the first time."""
        try:
            self.db.reports.insert_one(report)
            return report
        except DuplicateKeyError:
            return self.db.reports.find_one({"_id": report["_id"]})

    def get(self, report_id: str) -> dict[str, Any] | None:
        return self.db.reports.find_one({"_id": report_id})

    def open_near(self, query: domain.DedupQuery | None) -> list[dict[str, Any]]:
        """Reports under any of the keys (an index lookup: the keys name their hours); which of them
        are open and inside the window is the domain's to check."""
        if query is None:
            return []
        return list(self.db.reports.find(self.near_filter(query), _CANDIDATE_FIELDS))

    @staticmethod
    def near_filter(query: domain.DedupQuery) -> dict[str, Any]:
        return {"dedup_keys": {"$in": query.keys}}

    def link_duplicate(self, duplicate: dict[str, Any]) -> bool:
        """The original counts the duplicate and keeps its reporter, once however often this runs."""
        link = domain.duplicate_link(duplicate)
        result = self.db.reports.update_one(
            {"_id": duplicate["duplicate_of"]["report_id"], "duplicates.report_id": {"$ne": duplicate["_id"]}},
            {"$push": {"duplicates": link}, "$inc": {"duplicate_count": 1}},
        )
        return result.modified_count == 1

    def apply_step(self, step: domain.Step, statuses: tuple[str, ...] = domain.TRACKED_STATUSES,
                   quiet: bool = False, first: bool = False) -> bool:
        """Record a dispatch step on a report in one of `statuses`; False when there is none such.

        `first`: the step is likely the report's first (assignment_created): try the cheaper plain
        update that only a report no step has touched matches, and the pipeline only if it did not."""
        if first and "received" in statuses:
            fresh, update = domain.first_step_update(step)
            if self.db.reports.update_one(fresh, update).matched_count == 1:
                return True
        query, pipeline = domain.lifecycle_update(step)
        result = self.db.reports.update_one(query | {"status": {"$in": list(statuses)}}, pipeline)
        if result.matched_count == 0 and not quiet:
            log.warning("assignment step %s for report %s ignored: no such dispatched report",
                        step.name, step.report_id)
        return result.matched_count == 1

    def review(self, report: dict[str, Any], changes: dict[str, Any]) -> bool:
        """Compare-and-set: only a report still held for review is decided, and only once."""
        result = self.db.reports.update_one({"_id": report["_id"], "status": "needs_review"}, {"$set": changes})
        return result.modified_count == 1

    def cancel(self, report_id: str, changes: dict[str, Any]) -> bool:
        """Compare-and-set: only a report still open is cancelled, and only once."""
        result = self.db.reports.update_one(
            {"_id": report_id, "status": {"$in": list(domain.OPEN_STATUSES)}}, changes)
        return result.modified_count == 1

    def find(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        return list(self.db.reports.find(query).sort([("received_at", DESCENDING)]).limit(limit))

    def by_origin_id(self, origin_id: str) -> dict[str, Any] | None:
        return self.db.reports.find_one({"origin.id": origin_id})


class Reports(MongoStorage):
    store_class = ReportStore
