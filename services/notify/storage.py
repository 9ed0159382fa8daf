"""The notify database: outgoing SMS with their gateway state, and what later events need to know.

- `notifications`: one document per SMS, `_id` = sms_id (recipient + causing event), so a
  redelivered cause finds the first record; its state moves only by compare-and-set. The SMS
  records also carry what later events need, so that telling someone is one insert on the main
  path: a reporter's first SMS about a report carries the report's summary (the reporters to tell
  later are the recipients of those SMS), and an officer's assignment SMS carries what a reply is
  matched against.
- `closed_assignments`: assignments that ended (completed, declined, expired): replies to them
  no longer act. Kept apart, so a close that overtakes its creation is not lost.
- `not_taken`: per report, the assignments declined or left unanswered, for the duty desk.
- `inbound`: how each inbound SMS was answered, so a redelivered one is answered the same way even
  after the assignment it acted on has moved on; and, under dispatch's refusal's id, the help SMS a reply
  dispatch refused got.

SMS settled for longer than ARCHIVE.AFTER_SECONDS (`settled_at`) move to `notifications_archive`
(shared/archive.py). A reporter's first SMS is still read there when a report outlived it, the spending
counts both (an archived SMS once), `siaga trace` reads both; a cause old enough to have had its SMS archived
finds them there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.notify import domain, sending, spending, templates
from services.notify.settings import SendPolicy
from shared.archive import (
    CLOCK_MARGIN,
    MongoArchive,
    aggregate_both,
    archive_of,
    complete_before,
    count_both,
    find_both,
)
from shared.mongo import MongoStorage, Store

# The newest assignments of one phone a reply is matched against: closed ones explain a late reply.
REPLY_LOOKBACK = 20
# What a Polsek is charged for: SMS the gateway took (accepted, or with a receipt).
CHARGED = {"polsek": {"$ne": None}, "$or": [{"gateway_id": {"$exists": True}}, {"delivery": {"$exists": True}}]}


@dataclass
class ArchivedSpending:
    """Each Polsek's rupiah on the month's archived SMS that were settled before `until`: nothing changes an
    archived SMS, and no other SMS settled before then will be archived, so these are counted once."""

    month: datetime
    until: datetime
    rupiah: dict[str, float] = field(default_factory=dict)


class NotificationStore(MongoArchive, Store):
    FINAL_FIELD = {"notifications": "settled_at"}  # rewritten by every settling step, unset by a late acceptance

    def __init__(self, db):
        super().__init__(db)
        self.month_spending: dict[str, float] = {}  # Polsek → rupiah this month, as last counted
        self.archived_spending: ArchivedSpending | None = None

    def ensure_indexes(self) -> None:
        self.db.notifications.create_index([("report_id", ASCENDING)], name="report_id")
        self.db.notifications.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)], name="due")
        self.db.notifications.create_index([("to", ASCENDING), ("created_at", DESCENDING)], name="to_created")
        self.db.notifications.create_index([("polsek", ASCENDING), ("created_at", ASCENDING)], name="polsek_created")
        self.db.notifications.create_index([("settled_at", ASCENDING)], name="settled_at", sparse=True)
        archived = archive_of(self.db.notifications)  # what reads that answer for archived SMS look up
        archived.create_index([("report_id", ASCENDING)], name="report_id")
        archived.create_index([("polsek", ASCENDING), ("created_at", ASCENDING)], name="polsek_created")
        archived.create_index([("created_at", ASCENDING)], name="created_at")
        archived.create_index([("settled_at", ASCENDING)], name="settled_at")  # what a spending recount reads anew

    # ---- outgoing SMS -----------------------------------------------------------------------

    def add(self, message: dict[str, Any], now: datetime, policy: SendPolicy) -> tuple[dict[str, Any], bool]:
        """Record the SMS once: (stored, True) the first time, (the first record, False) on a redelivery."""
        document = sending.new_outgoing(message, now, policy)
        try:
            self.insert(self.db.notifications, document, linger=sending.linger(message, policy))
            return document, True
        except DuplicateKeyError:
            return self.db.notifications.find_one({"_id": message["sms_id"]}), False

    def desk_window(self, phone: str, now: datetime, until: datetime) -> datetime | None:
        """None when this opens the desk's window (the SMS goes now); else when the open window closes."""
        try:
            self.db.desk_windows.update_one({"_id": phone, "until": {"$lte": now}}, {"$set": {"until": until}},
                                            upsert=True)
            return None
        except DuplicateKeyError:  # the window is open: the filter missed and the upsert met the phone's own
            return self.db.desk_windows.find_one({"_id": phone})["until"]

    def hold(self, message: dict[str, Any], now: datetime, until: datetime, cause_id: str) -> None:
        """Held for the digest; a redelivery finds it held (or already told)."""
        try:
            self.db.notifications.insert_one(sending.held_outgoing(message, now, until, cause_id))
        except DuplicateKeyError:
            pass

    def held_for(self, phone: str, now: datetime) -> list[dict[str, Any]]:
        return list(self.db.notifications.find({"state": sending.HELD, "next_attempt_at": {"$lte": now}, "to": phone}))

    def group(self, held_ids: list[str], digest_id: str, now: datetime) -> None:
        self.db.notifications.update_many({"_id": {"$in": held_ids}, "state": sending.HELD},
                                          {"$set": {"state": sending.GROUPED, "digest_id": digest_id,
                                                    "settled_at": now},
                                           "$unset": {"next_attempt_at": ""}})

    def about(self, report_id: str) -> list[dict[str, Any]]:
        """Every SMS about a report (a duplicate's reporter's too: it follows the original), oldest first,
        live and archived."""
        return find_both(self.db.notifications, {"$or": [{"report_id": report_id}, {"correlationid": report_id}]},
                         [("created_at", ASCENDING)], 1000)

    def get(self, sms_id: str) -> dict[str, Any] | None:
        return self.db.notifications.find_one({"_id": sms_id})

    def archived(self, sms_id: str) -> dict[str, Any] | None:
        """The SMS if it is in the archive: the fence of a cause old enough for it to be there."""
        return archive_of(self.db.notifications).find_one({"_id": sms_id})

    def accept(self, sms_id: str, gateway_id: str, at: datetime, receipt_due: datetime) -> bool:
        """Sent only now; a late acceptance still counts (the gateway has it) unless a receipt came first.
        Its receipt is due by `receipt_due` (the timer's next_attempt_at)."""
        result = self.db.notifications.update_one(
            # A receipt may overtake its acceptance (two queues): once one is kept, it decides the state.
            {"_id": sms_id, "state": {"$in": list(sending.WAITING) + [sending.FAILED]}, "delivery": {"$exists": False}},
            {"$set": {"state": sending.SENT, "gateway_id": gateway_id, "accepted_at": at,
                      "next_attempt_at": receipt_due}, "$unset": {"settled_at": ""}})
        return result.modified_count == 1

    def ask_receipt(self, stored: dict[str, Any], changes: dict[str, Any]) -> bool:
        """Compare-and-set on the asks counted so far: one replica asks the gateway each time."""
        result = self.db.notifications.update_one(
            {"_id": stored["_id"], "state": sending.SENT,
             "receipt_asks": stored["receipt_asks"] if "receipt_asks" in stored else {"$exists": False}},
            {"$set": changes})
        return result.modified_count == 1

    def move(self, stored: dict[str, Any], changes: dict[str, Any]) -> bool:
        """Compare-and-set from the state and attempt `stored` was read with: one replica wins."""
        result = self.db.notifications.update_one(
            {"_id": stored["_id"], "state": stored["state"], "attempt": stored["attempt"]}, {"$set": changes})
        return result.modified_count == 1

    def waiting_for_answer(self, sms_id: str, attempt: int | None) -> dict[str, Any] | None:
        """The SMS if it still waits for the gateway's answer to `attempt` (any attempt when unknown)."""
        query: dict[str, Any] = {"_id": sms_id, "state": sending.REQUESTED}
        if attempt is not None:
            query["attempt"] = attempt
        return self.db.notifications.find_one(query)

    def record_delivery(self, sms_id: str, status: str, gateway_id: str, at: datetime,
                        changes: dict[str, Any]) -> bool:
        """Keep the receipt with its state change; an SMS already given up on stays given up on. A receipt said
        again changes nothing. One that changes a settled SMS (a late receipt for one left unconfirmed) moves
        its `settled_at`, or unsets it while its failure is still to be told: the archive's delete spares an
        SMS whose `settled_at` moved since the copy, so a sweep under way never loses the change."""
        update: dict[str, Any] = {"$set": {"delivery": {"status": status, "gateway_id": gateway_id, "at": at},
                                           **changes}}
        if "settled_at" not in changes:
            update["$unset"] = {"settled_at": ""}
        if "next_attempt_at" not in changes:
            update["$unset"] = update.get("$unset", {}) | {"next_attempt_at": ""}
        states = [sending.REQUESTED, sending.RETRYING, sending.SENT, sending.UNCONFIRMED, "delivered", "unknown"]
        # A receipt kept already set its state with it, so a status kept is this receipt said again (a `$nor`
        # would cost the embedded server a scan of the collection: 60 ms an update at 5,000 SMS, 1 ms without).
        result = self.db.notifications.update_one(
            {"_id": sms_id, "state": {"$in": states}, "delivery.status": {"$ne": status}}, update)
        return result.modified_count == 1

    def due(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """SMS whose retry, answer deadline, failure report or overdue receipt is due: the timer's work list.

        One query per state: the embedded server scans the whole collection for `$in` beside a
        range (every second, over every SMS ever sent), but uses the index for an equality."""
        due: list[dict[str, Any]] = []
        for state in sending.DUE:
            due += self.db.notifications.find({"state": state, "next_attempt_at": {"$lte": now}}).limit(limit)
        return due[:limit]

    # ---- what SMS cost ---------------------------------------------------------------------

    def spent(self, polsek: str, since: datetime) -> dict[str, float]:
        """SMS the gateway took for the Polsek since then: how many, their segments, their price; live and
        archived."""
        rows = aggregate_both(self.db.notifications, [
            {"$match": {"polsek": polsek, "created_at": {"$gte": since}}}, {"$match": CHARGED},
            {"$group": {"_id": None, "sms": {"$sum": 1}, "segments": {"$sum": "$segments"},
                        "rupiah": {"$sum": "$price"}}}])
        return {"sms": sum(row.get("sms", 0) for row in rows),
                "segments": sum(row.get("segments", 0) for row in rows),
                "rupiah": round(sum(float(row.get("rupiah") or 0) for row in rows), 2)}

    def recount(self, now: datetime) -> None:
        """Every Polsek's spending this month, kept in memory: the budget check of each reporter's SMS then
        costs no round trip (a Polsek may overrun by what it sends until the next count). The month is counted
        from its earliest start (WIT's), so a WIB Polsek's first two hours of a month also count what was sent
        in the last two of the month before.

        Each count reads the live SMS (those settled within ARCHIVE.AFTER_SECONDS, and the unsettled) and
        only what was archived since the count before: the rest of the archive was counted then and cannot
        have changed. Reading the month's whole archive every minute held the embedded server for seconds once
        the month had a few hundred thousand SMS. An SMS caught between a sweep's copy and its delete counts
        twice for a moment."""
        since = min(spending.periods(polsek, now)[1] for polsek in spending.ZONE_SAMPLES)
        month = {"created_at": {"$gte": since}}
        archived = archive_of(self.db.notifications)
        if self.archived_spending is None or self.archived_spending.month != since:  # started, or a new month
            self.archived_spending = ArchivedSpending(since, since - CLOCK_MARGIN)
        counted = self.archived_spending
        complete = complete_before(self.db.notifications, "settled_at", now, self.archive)
        if complete > counted.until:
            newly = {"settled_at": {"$gte": counted.until, "$lt": complete}} | month
            counted.rupiah = add_up(counted.rupiah, archived.aggregate(rupiah_by_polsek(newly)))
            counted.until = complete
        self.month_spending = add_up(counted.rupiah, [
            *self.db.notifications.aggregate(rupiah_by_polsek(month)),
            *archived.aggregate(rupiah_by_polsek({"settled_at": {"$gte": counted.until}} | month))])

    def month_spent(self, polsek: str) -> float:
        return self.month_spending.get(polsek, 0.0)

    def hold_over_budget(self, message: dict[str, Any], now: datetime) -> None:
        try:
            self.db.notifications.insert_one({"_id": message["sms_id"], **message, "state": spending.OVER_BUDGET,
                                              "attempt": 0, "created_at": now, "settled_at": now})
        except DuplicateKeyError:
            pass

    def held_over_budget(self, polsek: str, since: datetime) -> int:
        return count_both(self.db.notifications,
                          {"polsek": polsek, "created_at": {"$gte": since}, "state": spending.OVER_BUDGET})

    # ---- reports and their reporters --------------------------------------------------------

    def followed(self, report_id: str) -> dict[str, Any] | None:
        """The report's summary and reporters, from the first SMS each reporter got about it: live, or, for a
        report that outlived them (or has no reporter to tell), archived."""
        query = {"report_id": report_id, "kind": {"$in": list(domain.FOLLOWING_KINDS)}}
        fields = {"to": 1, "kind": 1, "report": 1, "created_at": 1}
        first_sms = list(self.db.notifications.find(query, fields).sort("created_at", ASCENDING))
        if not first_sms and self.archive.enabled:
            first_sms = list(archive_of(self.db.notifications).find(query, fields).sort("created_at", ASCENDING))
        return domain.followed(first_sms)

    # ---- the archive (shared/archive.py)

    def archivable(self, before: datetime, limit: int) -> dict[str, list[dict[str, Any]]]:
        """SMS settled before then, the longest settled first (index settled_at)."""
        return {"notifications": list(self.db.notifications.find({"settled_at": {"$lt": before}})
                                      .sort([("settled_at", ASCENDING)]).limit(limit))}

    def count_not_taken(self, report_id: str, assignment_id: str) -> None:
        """An assignment declined or left unanswered; a set, so a redelivery counts once."""
        self.db.not_taken.update_one({"_id": report_id}, {"$addToSet": {"assignment_ids": assignment_id}},
                                     upsert=True)

    def not_taken(self, report_id: str) -> int:
        found = self.db.not_taken.find_one({"_id": report_id}, {"assignment_ids": 1})
        return len((found or {}).get("assignment_ids") or [])

    # ---- assignments an officer may answer ----------------------------------------------------

    def close_assignment(self, assignment_id: str, why: str) -> None:
        """Closed for replies; an upsert, so a close that overtakes the creation is kept (and a
        redelivery keeps the first reason)."""
        self.db.closed_assignments.update_one({"_id": assignment_id}, {"$setOnInsert": {"closed": why}},
                                              upsert=True)

    def answered(self, inbound_id: str) -> dict[str, Any] | None:
        return self.db.inbound.find_one({"_id": inbound_id})

    def answer(self, inbound_id: str, answer: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Keep how an inbound SMS (or dispatch's refusal of one) was answered; the first answer wins, a
        concurrent repeat's included."""
        document = {"_id": inbound_id, **answer, "at": now}
        try:
            self.db.inbound.insert_one(document)
            return document
        except DuplicateKeyError:
            return self.db.inbound.find_one({"_id": inbound_id})

    def assignments_of(self, phone: str) -> list[dict[str, Any]]:
        """The phone's newest assignments, open and closed (two reads; replies are off the main path)."""
        officer_sms = list(self.db.notifications.find({"to": phone, "kind": templates.OFFICER_ASSIGNMENT.name})
                           .sort("created_at", DESCENDING).limit(REPLY_LOOKBACK))
        ids = [m["assignment_id"] for m in officer_sms]
        closed = {c["_id"]: c["closed"] for c in self.db.closed_assignments.find({"_id": {"$in": ids}})} if ids else {}
        return domain.reply_candidates(officer_sms, closed)


class Notifications(MongoStorage):
    store_class = NotificationStore


def rupiah_by_polsek(match: dict[str, Any]) -> list[dict[str, Any]]:
    """The charged SMS among those matched, summed per Polsek (the match first: what an index serves)."""
    return [{"$match": match}, {"$match": CHARGED}, {"$group": {"_id": "$polsek", "rupiah": {"$sum": "$price"}}}]


def add_up(totals: dict[str, float], rows: list[dict[str, Any]]) -> dict[str, float]:
    summed = dict(totals)
    for row in rows:
        summed[row["_id"]] = summed.get(row["_id"], 0.0) + float(row["rupiah"] or 0)
    return summed
