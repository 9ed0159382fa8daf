"""The notify database: outgoing SMS with their gateway state, reports' reporters, officers' assignments.

- `notifications`: one document per SMS, `_id` = sms_id (recipient + causing event), so a
  redelivered cause finds the first record; its state moves only by compare-and-set.
- `followed`: per report, the reporters to tell (the report's own and its duplicates').
- `assignments`: per assignment, the officer's phone, so a reply is matched to what it answers.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.notify import domain
from services.notify.domain import SendPolicy
from shared.mongo import MongoStorage, Store

# The newest assignments of one phone a reply is matched against: closed ones explain a late reply.
REPLY_LOOKBACK = 20


class NotificationStore(Store):
    def ensure_indexes(self) -> None:
        self.db.notifications.create_index([("report_id", ASCENDING)], name="report_id")
        self.db.notifications.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)], name="due")
        self.db.assignments.create_index([("phone", ASCENDING), ("created_at", DESCENDING)], name="phone_created")

    # ---- outgoing SMS -----------------------------------------------------------------------

    def add(self, message: dict[str, Any], now: datetime, policy: SendPolicy) -> tuple[dict[str, Any], bool]:
        """Record the SMS once: (stored, True) the first time, (the first record, False) on a redelivery."""
        document = domain.new_outgoing(message, now, policy)
        try:
            self.db.notifications.insert_one(document)
            return document, True
        except DuplicateKeyError:
            return self.db.notifications.find_one({"_id": message["sms_id"]}), False

    def get(self, sms_id: str) -> dict[str, Any] | None:
        return self.db.notifications.find_one({"_id": sms_id})

    def accept(self, sms_id: str, gateway_id: str, at: datetime) -> bool:
        """Sent only now; a late acceptance still counts (the gateway has it) unless a receipt came first."""
        result = self.db.notifications.update_one(
            # A receipt may overtake its acceptance (two queues): once one is kept, it decides the state.
            {"_id": sms_id, "state": {"$in": list(domain.WAITING) + [domain.FAILED]}, "delivery": {"$exists": False}},
            {"$set": {"state": domain.SENT, "gateway_id": gateway_id, "accepted_at": at},
             "$unset": {"next_attempt_at": ""}})
        return result.modified_count == 1

    def move(self, stored: dict[str, Any], changes: dict[str, Any]) -> bool:
        """Compare-and-set from the state and attempt `stored` was read with: one replica wins."""
        result = self.db.notifications.update_one(
            {"_id": stored["_id"], "state": stored["state"], "attempt": stored["attempt"]}, {"$set": changes})
        return result.modified_count == 1

    def waiting_for_answer(self, sms_id: str, attempt: int | None) -> dict[str, Any] | None:
        """The SMS if it still waits for the gateway's answer to `attempt` (any attempt when unknown)."""
        query: dict[str, Any] = {"_id": sms_id, "state": domain.REQUESTED}
        if attempt is not None:
            query["attempt"] = attempt
        return self.db.notifications.find_one(query)

    def record_delivery(self, sms_id: str, status: str, gateway_id: str, at: datetime,
                        changes: dict[str, Any]) -> bool:
        """Keep the receipt with its state change; an SMS already given up on stays given up on."""
        update: dict[str, Any] = {"$set": {"delivery": {"status": status, "gateway_id": gateway_id, "at": at},
                                           **changes}}
        if "next_attempt_at" not in changes:
            update["$unset"] = {"next_attempt_at": ""}
        states = [domain.REQUESTED, domain.RETRYING, domain.SENT, "delivered", "unknown"]
        result = self.db.notifications.update_one({"_id": sms_id, "state": {"$in": states}}, update)
        return result.modified_count == 1

    def due(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """SMS whose retry, answer deadline or failure report is due: the timer's work list."""
        return list(self.db.notifications.find(
            {"state": {"$in": list(domain.WAITING)}, "next_attempt_at": {"$lte": now}}).limit(limit))

    # ---- reports and their reporters --------------------------------------------------------

    def follow(self, report: dict[str, Any], reporter: str | None) -> None:
        """Remember the report (upsert: a duplicate may have linked its reporter first)."""
        update: dict[str, Any] = {"$set": {k: v for k, v in report.items() if k != "_id"}}
        if reporter:
            update["$addToSet"] = {"reporters": reporter}
        self.db.followed.update_one({"_id": report["_id"]}, update, upsert=True)

    def add_reporter(self, report_id: str, reporter: str) -> None:
        """A duplicate's reporter hears the original's later updates."""
        self.db.followed.update_one({"_id": report_id}, {"$addToSet": {"reporters": reporter}}, upsert=True)

    def followed(self, report_id: str) -> dict[str, Any] | None:
        followed = self.db.followed.find_one({"_id": report_id})
        return followed if followed and followed.get("number") else None

    def count_not_taken(self, report_id: str, assignment_id: str) -> None:
        """An assignment declined or left unanswered; a set, so a redelivery counts once."""
        self.db.followed.update_one({"_id": report_id}, {"$addToSet": {"not_taken": assignment_id}}, upsert=True)

    def not_taken(self, report_id: str) -> int:
        followed = self.db.followed.find_one({"_id": report_id}, {"not_taken": 1})
        return len((followed or {}).get("not_taken") or [])

    # ---- assignments an officer may answer ----------------------------------------------------

    def open_assignment(self, assignment: dict[str, Any]) -> None:
        try:
            self.db.assignments.insert_one(assignment)
        except DuplicateKeyError:
            pass  # a redelivery; a close that overtook it stays closed

    def close_assignment(self, assignment_id: str, why: str) -> None:
        """Closed for replies; stored even when the close overtakes the creation."""
        self.db.assignments.update_one({"_id": assignment_id},
                                       {"$set": {"open": False, "closed": why}}, upsert=True)

    def assignments_of(self, phone: str) -> list[dict[str, Any]]:
        return list(self.db.assignments.find({"phone": phone}).sort("created_at", DESCENDING).limit(REPLY_LOOKBACK))


class Notifications(MongoStorage):
    store_class = NotificationStore
