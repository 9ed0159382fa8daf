"""The console database: the board (its own read model, built from events), operators and sessions.

Round trips: an event usually costs one compare-and-set write per board entry it touches: the
write is tried against the version this process wrote last (or, with none remembered, as the
entry's first version), and only a wrong guess (another replica wrote, a restart) costs a read
and a retry. An API request costs one session read; the live board costs one query per process
every FEED_POLL_SECONDS however many browsers watch it (BoardFeed).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any, Iterable

import eventlet
from eventlet import tpool
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.console import auth, domain
from services.console.domain import Change, Settings
from services.console.exceptions import AccountLocked, BoardConflict, LoginFailed, NotLoggedIn
from shared.envelope import utcnow
from shared.mongo import MONGO_DATABASE_KEY, MONGO_URI_KEY, MongoStorage, Store, connect

log = logging.getLogger(__name__)

CONFIG_KEY = "CONSOLE"
CAS_TRIES = 5
REMEMBERED_ENTRIES = 4096  # board entries whose last written version this process keeps
BOARD_FIELDS = {"seen": 0}  # the idempotency keys stay in the database


def settings_from(config: dict) -> Settings:
    return Settings.from_config(config.get(CONFIG_KEY))


class ConsoleStore(Store):
    def __init__(self, db, settings: Settings = domain.DEFAULT_SETTINGS):
        super().__init__(db)
        self.settings = settings
        self.written: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def ensure_indexes(self) -> None:
        self.db.board.create_index([("polsek", ASCENDING), ("visible_until", ASCENDING)], name="polsek_visible")
        self.db.board.create_index([("updated_at", ASCENDING)], name="updated_at")
        self.db.sessions.create_index([("expires_at", ASCENDING)], name="expires_at", expireAfterSeconds=0)

    # ------------------------------------------------------------ the board

    def apply(self, change: Change) -> bool:
        """Apply one event to one board entry, once; a compare-and-set on the entry's version, so two
        workers (or replicas) applying events of the same report never lose one. False: seen before.

        The first try does not read: it builds on the version this process wrote last, or on no
        entry at all. A remembered entry that says the event was seen is right (`seen` only grows)."""
        entry = self.written.get(change.report_id)
        for _ in range(CAS_TRIES):
            after = domain.applied(entry, change, utcnow(), self.settings)
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

    def operator(self, username: str) -> dict[str, Any] | None:
        return self.db.operators.find_one({"_id": username})

    def log_in(self, username: str, password: str, now: datetime) -> tuple[dict[str, Any], str, dict[str, Any]]:
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
                                         {"$set": domain.after_failed_login(operator, now, self.settings)})
            raise LoginFailed()
        fields: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if auth.needs_rehash(password_hash):
            fields["password_hash"] = auth.hash_password(password)
        self.db.operators.update_one({"_id": username}, {"$set": fields})
        token = auth.new_token()
        session = {"_id": auth.token_digest(token), "username": username, "csrf": auth.new_token(),
                   "created_at": now, "expires_at": now + timedelta(hours=self.settings.session_hours)}
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
    """The store, with the console's settings (config.yml `CONSOLE:`)."""

    store_class = ConsoleStore

    def setup(self):
        super().setup()
        self.store.settings = settings_from(self.container.config)


class Subscription:
    """One open live board (a browser tab): the changes of its Polseks, each version once."""

    def __init__(self, polseks: Iterable[str]):
        self.polseks = set(polseks)
        self.sent: dict[str, int] = {}
        self.queue: LightQueue = LightQueue()

    def offer(self, entry: dict[str, Any]) -> bool:
        if entry.get("polsek") not in self.polseks or self.sent.get(entry["_id"], -1) >= entry["version"]:
            return False
        self.sent[entry["_id"]] = entry["version"]
        self.queue.put(entry)
        return True

    def next_changes(self, timeout: float) -> list[dict[str, Any]]:
        """Whatever changed, waiting up to `timeout` seconds for the first change."""
        try:
            changes = [self.queue.get(timeout=timeout)]
        except Empty:
            return []
        while not self.queue.empty():
            changes.append(self.queue.get_nowait())
        return changes


class BoardFeed(DependencyProvider):
    """Live board changes for every open browser, from one query per process per poll.

    It polls the console database rather than listening to the handlers of this process, so a browser
    connected to one replica sees changes another replica's handlers wrote. An entry is re-read for
    OVERLAP seconds after it changed, so a write that committed late (or a replica with a slightly
    different clock) is not missed; subscribers drop versions they already sent.
    """

    OVERLAP = timedelta(seconds=2)

    def setup(self):
        config = self.container.config
        self.settings = settings_from(config)
        self.client = connect(config[MONGO_URI_KEY])
        self.store = ConsoleStore(self.client[config[MONGO_DATABASE_KEY]], self.settings)
        self.subscriptions: set[Subscription] = set()
        self.polled_at: datetime | None = None
        self.stopped = False

    def start(self):
        self.container.spawn_managed_thread(self.run)

    def stop(self):
        self.stopped = True  # the poll loop ends before it could use the closed client
        self.client.close()

    def kill(self):
        self.stop()

    def run(self) -> None:
        while not self.stopped:
            eventlet.sleep(self.settings.feed_poll_seconds)
            if self.stopped:
                return
            if not self.subscriptions:
                self.polled_at = None
                continue
            try:
                self.poll()
            except Exception:  # the database may be away for a moment: the next poll tries again
                log.exception("board feed poll failed")

    def poll(self) -> None:
        started = utcnow()
        since = (self.polled_at or started) - self.OVERLAP
        changed = self.store.changed_since(since)
        self.polled_at = started
        for entry in changed:
            for subscription in list(self.subscriptions):
                subscription.offer(entry)

    def subscribe(self, polseks: Iterable[str]) -> Subscription:
        subscription = Subscription(polseks)
        self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)

    def get_dependency(self, worker_ctx) -> "BoardFeed":
        return self
