"""The reports database: one document per accepted incident, keyed by a deterministic id."""
from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from shared.mongo import MongoStorage, Store


class ReportStore(Store):
    def ensure_indexes(self) -> None:
        self.db.reports.create_index(
            [("status", ASCENDING), ("received_at", DESCENDING)], name="status_received_at"
        )

    def add(self, report: dict[str, Any]) -> dict[str, Any]:
        """Insert once; a redelivered incident gets the report stored the first time."""
        try:
            self.db.reports.insert_one(report)
            return report
        except DuplicateKeyError:
            return self.db.reports.find_one({"_id": report["_id"]})

    def get(self, report_id: str) -> dict[str, Any] | None:
        return self.db.reports.find_one({"_id": report_id})


class Reports(MongoStorage):
    store_class = ReportStore
