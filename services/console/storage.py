"""The console database: the board (its own read model, built from events), operators and sessions.

Round trips: an event usually costs one compare-and-set write per board entry it touches, and the
changes a report's receipt meets within BOARD_LINGER share it (its assignment, ms later); new entries
wait as long again for others', and go in one insert. The write is
tried against the version this process wrote last (or, with none remembered, as the entry's first
version), and only a wrong guess (another replica wrote, a restart) costs a read and a retry. An API
request costs one session read; the live board costs one query per process every FEED_POLL_SECONDS
however many browsers watch it (feed.BoardFeed). A login attempt costs one conditional update by `_id`
per count it takes a place in (three; two for a count's first attempt in its window) and one operator
read — never find_one_and_update, which the embedded server answers by scanning the collection.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any, Iterable

import eventlet
from eventlet import tpool
from eventlet.event import Event
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.console import auth, domain
from services.console.board import Change, applied
from services.console.exceptions import AccountLocked, BoardConflict, LoginFailed, NotLoggedIn
from services.console.settings import DEFAULTS, ConsoleSettings
from shared.envelope import utcnow
from shared.mongo import MongoStorage, Store

log = logging.getLogger(__name__)

CAS_TRIES = 5
# Seconds a report's receipt waits for the changes that follow it, and a new entry for other new entries: the
# board reaches a browser no sooner than its next poll (FEED_POLL_SECONDS), and a message is acked only once
# its change is written.
BOARD_LINGER = 0.1
LINGERS = "report"  # the change that waits for company: a receipt (services/console/board.py)
REMEMBERED_ENTRIES = 4096  # board entries whose last written version this process keeps
BOARD_FIELDS = {"seen": 0}  # the idempotency keys stay in the database


class ConsoleStore(Store):
    def __init__(self, db, linger: float = BOARD_LINGER):
        super().__init__(db)
        self.linger = linger
        self.written: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.lingering: dict[str, list[tuple[Change, Event]]] = {}  # report → changes waiting to be written

    def ensure_indexes(self) -> None:
        self.db.board.create_index([("polsek", ASCENDING), ("visible_until", ASCENDING)], name="polsek_visible")
        self.db.board.create_index([("updated_at", ASCENDING)], name="updated_at")
        self.db.sessions.create_index([("expires_at", ASCENDING)], name="expires_at", expireAfterSeconds=0)
        # Login counts live one window; each is made only once its client's own count had room, so one
        # client (an IPv6 /64) makes at most 1 + 2 × CLIENT_FAILED_LOGINS of them per LOCK_MINUTES.
        self.db.login_attempts.create_index([("ends", ASCENDING)], name="ends", expireAfterSeconds=0)
        self.db.login_attempts.create_index([("username", ASCENDING)], name="username")
        # Devices are made only by right passwords, so only operators add them.
        self.db.devices.create_index([("expires_at", ASCENDING)], name="expires_at", expireAfterSeconds=0)
        self.db.devices.create_index([("username", ASCENDING)], name="username")

    # ------------------------------------------------------------ the board

    def apply(self, change: Change, settings: ConsoleSettings = DEFAULTS) -> bool:
        """Apply one event to one board entry, once; False: seen before. Returns once the change is written
        (or raises). A report's receipt waits up to `linger` for the changes that follow it within ms (its
        assignment) and is written with them; a later change goes at once, unless it meets such a wait:
        waiting where nothing follows would only hold a worker."""
        waiting = self.lingering.get(change.report_id)
        if waiting is None:
            if change.kind != LINGERS or self.linger <= 0:
                return self._apply_all(change.report_id, [change], settings, linger=0.0)[0]
            waiting = self.lingering[change.report_id] = []
            eventlet.spawn_after(self.linger, self._write_lingering, change.report_id, settings)
        answered = Event()
        waiting.append((change, answered))
        outcome = answered.wait()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _write_lingering(self, report_id: str, settings: ConsoleSettings) -> None:
        waiting = self.lingering.pop(report_id)
        try:
            outcomes = self._apply_all(report_id, [change for change, _ in waiting], settings, linger=self.linger)
        except Exception as error:  # each message is retried; nothing of this write was stored
            outcomes = [error] * len(waiting)
        for (_, answered), outcome in zip(waiting, outcomes):
            answered.send(outcome)

    def _apply_all(self, report_id: str, changes: list[Change], settings: ConsoleSettings,
                   linger: float) -> list[bool]:
        """One compare-and-set for the changes of one entry; per change, whether it was new. A new entry's
        insert may wait `linger` for other new entries'.

        The first try does not read: it builds on the version this process wrote last, or on no
        entry at all. A remembered entry that says the event was seen is right (`seen` only grows)."""
        entry = self.written.get(report_id)
        for _ in range(CAS_TRIES):
            after, new = entry, []
            for change in changes:
                step = applied(after, change, utcnow(), settings)
                new.append(step is not None)
                after = after if step is None else step
            if not any(new):
                return new
            if self._compare_and_set(entry, after, linger):
                self._remember(after)
                return new
            entry = self.db.board.find_one({"_id": report_id})
        raise BoardConflict(f"board entry {report_id} kept changing; the event will be retried")

    def _compare_and_set(self, entry: dict[str, Any] | None, after: dict[str, Any], linger: float) -> bool:
        if entry is None:
            try:
                self.insert(self.db.board, after, linger)
                return True
            except DuplicateKeyError:
                return False
        return self.db.board.replace_one({"_id": after["_id"], "version": entry["version"]}, after).matched_count == 1

    def _remember(self, entry: dict[str, Any]) -> None:
        self.written[entry["_id"]] = entry
        self.written.move_to_end(entry["_id"])
        if len(self.written) > REMEMBERED_ENTRIES:
            self.written.popitem(last=False)

    def board(self, polseks: Iterable[str], now: datetime) -> list[dict[str, Any]]:
        """What an operator's board shows now: open reports and recently closed ones of their Polseks
        (one query per Polsek: the embedded server scans the collection for `$in` beside a range)."""
        return [entry for polsek in polseks
                for entry in self.db.board.find({"polsek": polsek, "visible_until": {"$gte": now}}, BOARD_FIELDS)]

    def changed_since(self, since: datetime) -> list[dict[str, Any]]:
        return list(self.db.board.find({"updated_at": {"$gt": since}}, BOARD_FIELDS))

    def entry(self, report_id: str) -> dict[str, Any] | None:
        return self.db.board.find_one({"_id": report_id}, BOARD_FIELDS)

    # ------------------------------------------------------------ operators

    def save_operator(self, username: str, polseks: list[str], name: str, password: str | None) -> bool:
        """Create or update an operator; a new password replaces the old one. True when created."""
        fields: dict[str, Any] = {"polseks": polseks, "name": name, "updated_at": utcnow()}
        if password is not None:
            fields["password_hash"] = auth.hash_password(password)
        result = self.db.operators.update_one({"_id": username}, {"$set": fields,
                                                                  "$setOnInsert": {"created_at": utcnow()}},
                                              upsert=True)
        if password is not None:
            self.db.sessions.delete_many({"username": username})  # a new password ends every old session
            self.db.login_attempts.delete_many({"username": username})  # lifts every lock on the account
            self.db.devices.delete_many({"username": username})  # and forgets every browser it was used from
        return result.upserted_id is not None

    def set_role(self, username: str, role: str) -> None:
        self.db.operators.update_one({"_id": username}, {"$set": {"role": role, "updated_at": utcnow()}})

    def operator(self, username: str) -> dict[str, Any] | None:
        return self.db.operators.find_one({"_id": username})

    def log_in(self, username: str, password: str, now: datetime, settings: ConsoleSettings = DEFAULTS,
               client: str = "local", device: str | None = None) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """(operator, session token, session) for a right password; LoginFailed or AccountLocked otherwise.

        The attempt first takes a place in each of its counts (domain.login_counters says which and why);
        a full one refuses it, right password or not, before any hash is checked. A refused attempt keeps
        the places it took (it counts against its client). Then one read and one Argon2 verify, against a
        dummy hash for a name nobody has: a wrong password costs the same work whether the name exists
        or not. Argon2 runs in a real thread (eventlet tpool): tens of milliseconds of CPU that must not
        stall every other request and live board of the process meanwhile.
        """
        counters = domain.login_counters(username, client, settings, self.known_device(device, username, now))
        for counter in counters:
            if not self.take_place(counter, now):
                raise AccountLocked()
        operator = self.operator(username) if domain.USERNAME.match(username or "") else None
        password_hash = operator.get("password_hash") if operator else None
        right = tpool.execute(auth.verify_password, password_hash or auth.DUMMY_HASH, password or "")
        if operator is None or password_hash is None or not right:
            raise LoginFailed()
        self.give_places_back(counters)
        fields: dict[str, Any] = {"last_login_at": now}
        if auth.needs_rehash(password_hash):
            fields["password_hash"] = auth.hash_password(password)
        self.db.operators.update_one({"_id": username}, {"$set": fields})
        token = auth.new_token()
        session = {"_id": auth.token_digest(token), "username": username, "csrf": auth.new_token(),
                   "created_at": now, "expires_at": now + timedelta(hours=settings.session_hours)}
        self.db.sessions.insert_one(session)
        return operator, token, session

    def known_device(self, token: str | None, username: str, now: datetime) -> str | None:
        """The digest of a device token issued to this operator at a right password, if still valid."""
        if not token:
            return None
        digest = auth.token_digest(token)
        device = self.db.devices.find_one({"_id": digest})
        return digest if device and device["username"] == username and device["expires_at"] > now else None

    def remember_device(self, token: str | None, username: str, now: datetime,
                        settings: ConsoleSettings = DEFAULTS) -> str:
        """The device token for a browser that just logged in: its own, kept on, or a new one."""
        expires_at = now + timedelta(days=settings.device_days)
        if self.known_device(token, username, now):
            self.db.devices.update_one({"_id": auth.token_digest(token)}, {"$set": {"expires_at": expires_at}})
            return token
        token = auth.new_token()
        self.db.devices.insert_one({"_id": auth.token_digest(token), "username": username, "expires_at": expires_at})
        return token

    def take_place(self, counter: domain.LoginCounter, now: datetime) -> bool:
        """One more attempt in the counter's window if it has room: an atomic conditional increment by
        `_id` (update_one and its matched count, never a read then a write), so concurrent attempts can
        never take more than `limit` places. A missing or ended window starts anew with this attempt."""
        attempts = self.db.login_attempts
        live_with_room = {"_id": counter.key, "count": {"$lt": counter.limit}, "ends": {"$gt": now}}
        if attempts.update_one(live_with_room, {"$inc": {"count": 1}}).matched_count:
            return True
        try:
            attempts.update_one({"_id": counter.key, "ends": {"$lte": now}},
                                {"$set": {"count": 1, "ends": now + timedelta(minutes=counter.minutes),
                                          "username": counter.username}}, upsert=True)
            return True
        except DuplicateKeyError:  # a live window exists: full, or begun by a concurrent attempt just now
            return attempts.update_one(live_with_room, {"$inc": {"count": 1}}).matched_count == 1

    def give_places_back(self, counters: Iterable[domain.LoginCounter]) -> None:
        """A right password was no failure: its places go back, and its own account's count (from this client
        or device) starts over."""
        for counter in counters:
            if counter.starts_over:
                self.db.login_attempts.delete_one({"_id": counter.key})
            else:
                self.db.login_attempts.update_one({"_id": counter.key, "count": {"$gt": 0}}, {"$inc": {"count": -1}})

    def session(self, token: str | None, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        """(session, operator) for a live session token; NotLoggedIn otherwise (expired, logged out, unknown)."""
        session = self.db.sessions.find_one({"_id": auth.token_digest(token)}) if token else None
        if session is None or session["expires_at"] <= now:
            raise NotLoggedIn()
        operator = self.operator(session["username"])
        if operator is None:
            raise NotLoggedIn()
        return session, operator

    def log_out(self, token: str | None) -> None:
        if token:
            self.db.sessions.delete_one({"_id": auth.token_digest(token)})


class ConsoleStorage(MongoStorage):
    store_class = ConsoleStore
