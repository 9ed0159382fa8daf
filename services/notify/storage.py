"""The notify database: one document per SMS, keyed by (recipient, causing event)."""
from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.mongo import MongoStorage, Store


class NotificationStore(Store):
    def ensure_indexes(self) -> None:
        self.db.notifications.create_index([("report_id", ASCENDING)], name="report_id")

    def add(self, notification: dict[str, Any]) -> dict[str, Any]:
        """Record the SMS once; a redelivered cause finds the first record and resends that."""
        document = {"_id": notification["sms_id"], **notification, "state": "requested"}
        try:
            self.db.notifications.insert_one(document)
            return document
        except DuplicateKeyError:
            return self.db.notifications.find_one({"_id": notification["sms_id"]})


class Notifications(MongoStorage):
    store_class = NotificationStore
