"""The community database: visits, Siskamling posts, residents' consents and community alerts.

- `visits`: one per visit, `_id` derived from what recorded it (the inbound SMS, the console's request), so a
  redelivery finds the first; `report` set once when a concern is reported.
- `rws`: per village, how many RWs the Polsek registered (RWs have no national register).
- `posts`: Siskamling posts; the leader's phone is unique (it identifies the post by SMS).
- `subscribers`: per phone (`_id`, E.164), the area the resident consented to and whether that holds now;
  `consents`: every consent and revocation ever given, with time and wording, never deleted (UU PDP).
- `alerts` and `deliveries`: each alert, and one delivery per recipient phone (`_id` = its SMS's id), pending
  until the sending timer hands it to notify; a cancelled or expired alert's pending ones are skipped.
Residents' phones stay here and leave only in `community_sms_requested`, to notify.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.community import alerts
from shared.mongo import MongoStorage, Store, drop_index

COVERAGE_LOOKBACK_DAYS = 366
DUPLICATE_KEY = 11000


class CommunityStore(Store):
    def ensure_indexes(self) -> None:
        self.db.visits.create_index([("polsek", ASCENDING), ("visited_at", DESCENDING)], name="polsek_visited")
        self.db.posts.create_index([("leader_phone", ASCENDING)], name="leader_phone", unique=True)
        self.db.posts.create_index([("polsek", ASCENDING)], name="polsek")
        self.db.subscribers.create_index([("district", ASCENDING), ("active", ASCENDING)], name="district_active")
        self.db.consents.create_index([("phone", ASCENDING), ("at", ASCENDING)], name="phone_at")
        self.db.alerts.create_index([("polsek", ASCENDING), ("issued_at", DESCENDING)], name="polsek_issued")
        self.db.alerts.create_index([("state", ASCENDING)], name="state")
        # the sweep for SMS taken and never handed over: bounded by both, not by every delivery in the state
        self.db.deliveries.create_index([("state", ASCENDING), ("requested_at", ASCENDING)], name="state_requested")
        drop_index(self.db.deliveries, "state_queued")  # (state, queued_at): nothing reads by it, every write paid
        self.db.deliveries.create_index([("alert_id", ASCENDING), ("state", ASCENDING)], name="alert_state")

    # ---- visits ----------------------------------------------------------------------------------

    def add_visit(self, visit: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(stored, True) the first time; (the first record, False) when it was recorded already."""
        try:
            self.db.visits.insert_one(visit)
            return visit, True
        except DuplicateKeyError:
            return self.db.visits.find_one({"_id": visit["_id"]}), False

    def visit(self, visit_id: str) -> dict[str, Any] | None:
        return self.db.visits.find_one({"_id": visit_id})

    def mark_reported(self, visit_id: str, report: dict[str, Any]) -> dict[str, Any] | None:
        """Once: a second request finds the report already said, and the caller says that one again."""
        self.db.visits.update_one({"_id": visit_id, "report": None}, {"$set": {"report": report}})
        return self.visit(visit_id)

    def visits_of(self, polsek: str, since: datetime, limit: int = 5000) -> list[dict[str, Any]]:
        """Newest first."""
        return list(self.db.visits.find({"polsek": polsek, "visited_at": {"$gte": since}})
                    .sort("visited_at", DESCENDING).limit(limit))

    def coverage_visits(self, polsek: str, now: datetime) -> list[dict[str, Any]]:
        return self.visits_of(polsek, now - timedelta(days=COVERAGE_LOOKBACK_DAYS))

    def set_rw_count(self, village: str, polsek: str, count: int) -> None:
        self.db.rws.update_one({"_id": village}, {"$set": {"polsek": polsek, "count": count}}, upsert=True)

    def rw_counts(self, polsek: str) -> dict[str, int]:
        return {row["_id"]: row["count"] for row in self.db.rws.find({"polsek": polsek})}

    # ---- Siskamling posts --------------------------------------------------------------------------

    def add_post(self, post: dict[str, Any]) -> dict[str, Any] | None:
        """A post's leader phone names one post: registering it again in the same Polsek replaces that post's
        fields; None when the phone leads a post of another Polsek."""
        existing = self.db.posts.find_one({"leader_phone": post["leader_phone"]})
        if existing is not None and existing["polsek"] != post["polsek"]:
            return None
        post = post | {"_id": existing["_id"]} if existing else post
        self.db.posts.replace_one({"_id": post["_id"]}, post, upsert=True)
        return post

    def posts_of(self, polsek: str) -> list[dict[str, Any]]:
        return list(self.db.posts.find({"polsek": polsek}).sort("name", ASCENDING))

    def post_of_phone(self, phone: str) -> dict[str, Any] | None:
        return self.db.posts.find_one({"leader_phone": phone})

    # ---- consent ---------------------------------------------------------------------------------

    def subscriber(self, phone: str) -> dict[str, Any] | None:
        return self.db.subscribers.find_one({"_id": phone})

    def record_consent(self, entry: dict[str, Any], subscriber: dict[str, Any] | None) -> bool:
        """The consent record first (kept for ever), then the phone's state; False when this SMS was taken
        already (a redelivery: nothing changes twice)."""
        try:
            self.db.consents.insert_one(entry)
        except DuplicateKeyError:
            return False
        if subscriber is None:
            self.db.subscribers.update_one({"_id": entry["phone"]},
                                           {"$set": {"active": False, "revoked_at": entry["at"]}})
        else:
            self.db.subscribers.replace_one({"_id": entry["phone"]}, subscriber, upsert=True)
        return True

    def subscribers_in(self, district: str) -> list[dict[str, Any]]:
        return list(self.db.subscribers.find({"district": district, "active": True}))

    def consent_recorded(self, entry_id: str) -> bool:
        return self.db.consents.find_one({"_id": entry_id}, {"_id": 1}) is not None

    def consents_of(self, phone: str) -> list[dict[str, Any]]:
        return list(self.db.consents.find({"phone": phone}).sort("at", ASCENDING))

    # ---- alerts ----------------------------------------------------------------------------------

    def add_alert(self, alert: dict[str, Any], deliveries: list[dict[str, Any]]) -> None:
        """Deliveries first: an alert is never stored without the recipients it was issued to. A retried issue
        (same request id) keeps the ones inserted the first time."""
        if deliveries:
            try:
                self.db.deliveries.insert_many(deliveries, ordered=False)
            except BulkWriteError as exc:
                if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", ())):
                    raise
        try:
            self.db.alerts.insert_one(alert)
        except DuplicateKeyError:
            pass

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        return self.db.alerts.find_one({"_id": alert_id})

    def alerts_of(self, polsek: str, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.db.alerts.find({"polsek": polsek}).sort("issued_at", DESCENDING).limit(limit))

    def active_alerts(self) -> list[dict[str, Any]]:
        return list(self.db.alerts.find({"state": alerts.ACTIVE}))

    def close_alert(self, alert: dict[str, Any], state: str, changes: dict[str, Any],
                    from_states: tuple[str, ...] = (alerts.ACTIVE,)) -> dict[str, Any] | None:
        """To cancelled/expired (one replica wins); its pending deliveries are skipped, never sent."""
        result = self.db.alerts.update_one({"_id": alert["_id"], "state": {"$in": list(from_states)}},
                                           {"$set": {"state": state, **changes}})
        skipped = self.db.deliveries.update_many({"alert_id": alert["_id"], "state": alerts.PENDING},
                                                 {"$set": {"state": alerts.SKIPPED}}).modified_count
        if skipped:
            self.db.alerts.update_one({"_id": alert["_id"]}, {"$inc": {"not_sent": skipped}})
        return self.alert(alert["_id"]) if result.modified_count else None

    def pending(self, alert_id: str, limit: int) -> list[dict[str, Any]]:
        return list(self.db.deliveries.find({"alert_id": alert_id, "state": alerts.PENDING})
                    .sort("queued_at", ASCENDING).limit(limit))

    def mark_requested(self, delivery: dict[str, Any], now: datetime) -> bool:
        """Compare-and-set: one replica hands each SMS to notify (which also drops a repeat by its id)."""
        result = self.db.deliveries.update_one({"_id": delivery["_id"], "state": alerts.PENDING},
                                               {"$set": {"state": alerts.REQUESTED, "requested_at": now}})
        if result.modified_count:
            self.db.alerts.update_one({"_id": delivery["alert_id"]}, {"$inc": {"sent": 1}})
        return result.modified_count == 1

    def mark_handed(self, delivery: dict[str, Any]) -> None:
        self.db.deliveries.update_one({"_id": delivery["_id"], "state": alerts.REQUESTED},
                                      {"$set": {"state": alerts.HANDED}})

    def taken_not_handed(self, before: datetime, limit: int) -> list[dict[str, Any]]:
        """Deliveries a worker took before then and never handed over (it died in between)."""
        return list(self.db.deliveries.find({"state": alerts.REQUESTED, "requested_at": {"$lte": before}})
                    .limit(limit))

    def skip_taken(self, delivery: dict[str, Any]) -> None:
        """A taken delivery of an alert that closed before it was handed over: never sent."""
        result = self.db.deliveries.update_one({"_id": delivery["_id"], "state": alerts.REQUESTED},
                                               {"$set": {"state": alerts.SKIPPED}})
        if result.modified_count:
            self.db.alerts.update_one({"_id": delivery["alert_id"]}, {"$inc": {"sent": -1, "not_sent": 1}})

    def unmark_requested(self, delivery: dict[str, Any]) -> None:
        """Its publish failed: pending again, for the next tick (unless the alert closed meanwhile)."""
        result = self.db.deliveries.update_one({"_id": delivery["_id"], "state": alerts.REQUESTED},
                                               {"$set": {"state": alerts.PENDING}})
        if result.modified_count:
            self.db.alerts.update_one({"_id": delivery["alert_id"]}, {"$inc": {"sent": -1}})

    def finish_if_done(self, alert: dict[str, Any]) -> None:
        if self.db.deliveries.count_documents({"alert_id": alert["_id"], "state": alerts.PENDING}) == 0:
            self.db.alerts.update_one({"_id": alert["_id"], "state": alerts.ACTIVE}, {"$set": {"state": alerts.DONE}})

    def deliveries_of(self, alert_id: str) -> list[dict[str, Any]]:
        return list(self.db.deliveries.find({"alert_id": alert_id}))


class Community(MongoStorage):
    store_class = CommunityStore
