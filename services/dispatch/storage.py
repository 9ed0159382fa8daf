"""The dispatch database: the roster (officers) and assignments.

A claim is a compare-and-set `update_one` on the officer's status (fast on the embedded server,
unlike find_one_and_update); the officer remembers the claiming assignment so a redelivered
event finds its own claim instead of taking a second officer.
"""
from __future__ import annotations

from typing import Any, Iterable

from pymongo import ASCENDING, ReplaceOne
from pymongo.errors import DuplicateKeyError

from shared.mongo import MongoStorage, Store


class DispatchStore(Store):
    def ensure_indexes(self) -> None:
        self.db.officers.create_index([("areas", ASCENDING), ("status", ASCENDING)], name="areas_status")
        self.db.officers.create_index([("polsek", ASCENDING), ("role", ASCENDING)], name="polsek_role")
        self.db.assignments.create_index([("report_id", ASCENDING)], name="report_id")

    def officers_for(self, areas: list[str], polsek: str | None) -> list[dict[str, Any]]:
        """Area officers and the Polsek duty desk, in one round trip."""
        clauses: list[dict[str, Any]] = []
        if areas:
            clauses.append({"areas": {"$in": areas}})
        if polsek:
            clauses.append({"polsek": polsek, "role": "duty_desk"})
        if not clauses:
            return []
        return list(self.db.officers.find({"$or": clauses}))

    def claim(self, nrp: str, assignment_id: str) -> bool:
        """Atomically take a free officer (or confirm our own earlier claim)."""
        result = self.db.officers.update_one(
            {"_id": nrp, "$or": [{"status": "available"}, {"assignment_id": assignment_id}]},
            {"$set": {"status": "assigned", "assignment_id": assignment_id}},
        )
        return result.matched_count == 1

    def add_assignment(self, assignment: dict[str, Any]) -> dict[str, Any]:
        try:
            self.db.assignments.insert_one(assignment)
            return assignment
        except DuplicateKeyError:
            return self.db.assignments.find_one({"_id": assignment["_id"]})

    def replace_roster(self, officers: Iterable[dict[str, Any]]) -> int:
        """Upsert roster entries by NRP; returns how many were written."""
        requests = [ReplaceOne({"_id": officer["_id"]}, officer, upsert=True) for officer in officers]
        if not requests:
            return 0
        self.db.officers.bulk_write(requests, ordered=False)
        return len(requests)

    def officer(self, nrp: str) -> dict[str, Any] | None:
        return self.db.officers.find_one({"_id": nrp})

    def assignments_for(self, report_id: str) -> list[dict[str, Any]]:
        return list(self.db.assignments.find({"report_id": report_id}))


class Dispatch(MongoStorage):
    store_class = DispatchStore
