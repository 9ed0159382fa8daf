"""The console database: the board (its own read model, built from events), operators and sessions.

Round trips: an event usually costs one compare-and-set write per board entry it touches: the
write is tried against the version this process wrote last (or, with none remembered, as the
entry's first version), and only a wrong guess (another replica wrote, a restart) costs a read
and a retry. An API request costs one session read; the live board costs one query per process
every FEED_POLL_SECONDS however many browsers watch it (feed.BoardFeed).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any, Iterable

from eventlet import tpool
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
REMEMBERED_ENTRIES = 4096  # board entries whose last written version this process keeps
BOARD_FIELDS = {"seen": 0}  # the idempotency keys stay in the database


class ConsoleStore(Store):
    def __init__(self, db):
        super().__init__(db)
        self.written: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def ensure_indexes(self) -> None:
        self.db.board.create_index([("polsek", ASCENDING), ("visible_until", ASCENDING)], name="polsek_visible")
        self.db.board.create_index([("updated_at", ASCENDING)], name="updated_at")
        self.db.sessions.create_index([("expires_at", ASCENDING)], name="expires_at", expireAfterSeconds=0)

    # ------------------------------------------------------------ the board

    def apply(self, change: Change, settings: ConsoleSettings = DEFAULTS) -> bool:
        """Apply one event to one board entry, once; a compare-and-set on the entry's version, so two
        workers (or replicas) applying events of the same report never lose one. False: seen before.

        The first try does not read: it builds on the version this process wrote last, or on no
        entry at all. A remembered entry that says the event was seen is right (`seen` only grows)."""
        entry = self.written.get(change.report_id)
        for _ in range(CAS_TRIES):
            after = applied(entry, change, utcnow(), settings)
            if after is None:
                return False
            if self._compare_and_set(entry, after):
                self._remember(after)
                return True
            entry = self.db.board.find_one({"_id": change.report_id})
        raise BoardConflict(f"board entry {change.report_id} kept changing; the event will be retried")

    def _compare_and_set(self, entry: dict[str, Any] | None, after: dict[str, Any]) -> bool:
        if entry is None:
            try:
                self.db.board.insert_one(after)
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
            fields |= {"password_hash": auth.hash_password(password), "failed_logins": 0, "locked_until": None}
        result = self.db.operators.update_one({"_id": username}, {"$set": fields,
                                                                  "$setOnInsert": {"created_at": utcnow()}},
                                              upsert=True)
        if password is not None:
            self.db.sessions.delete_many({"username": username})  # a new password ends every old session
        return result.upserted_id is not None

    def set_role(self, username: str, role: str) -> None:
        self.db.operators.update_one({"_id": username}, {"$set": {"role": role, "updated_at": utcnow()}})

    def operator(self, username: str) -> dict[str, Any] | None:
        return self.db.operators.find_one({"_id": username})

    def log_in(self, username: str, password: str, now: datetime,
               settings: ConsoleSettings = DEFAULTS) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """(operator, session token, session) for a right password; LoginFailed or AccountLocked otherwise.

        The hash is checked in a real thread (eventlet tpool): Argon2 takes tens of milliseconds of CPU and
        must not stall every other request and live board of the process meanwhile.
        """
        operator = self.operator(username) if domain.USERNAME.match(username or "") else None
        password_hash = operator.get("password_hash") if operator else None
        right = tpool.execute(auth.verify_password, password_hash or auth.DUMMY_HASH, password or "")
        if operator is None or password_hash is None:
            raise LoginFailed()
        if locked := domain.login_locked_until(operator, now):
            raise AccountLocked(f"Terlalu banyak percobaan gagal: akun dikunci sampai "
                                f"{(locked + timedelta(hours=7)).strftime('%H:%M')} WIB.")
        if not right:
            self.db.operators.update_one({"_id": username},
                                         {"$set": domain.after_failed_login(operator, now, settings)})
            raise LoginFailed()
        fields: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if auth.needs_rehash(password_hash):
            fields["password_hash"] = auth.hash_password(password)
        self.db.operators.update_one({"_id": username}, {"$set": fields})
        token = auth.new_token()
        session = {"_id": auth.token_digest(token), "username": username, "csrf": auth.new_token(),
                   "created_at": now, "expires_at": now + timedelta(hours=settings.session_hours)}
        self.db.sessions.insert_one(session)
        return operator, token, session

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
