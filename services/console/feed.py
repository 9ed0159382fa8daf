"""Live board changes for every open browser (server-sent events), from one query per process per poll."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Iterable

import eventlet
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider

from services.console.settings import ConsoleSettings
from services.console.storage import ConsoleStore
from shared.envelope import utcnow
from shared.mongo import MONGO_DATABASE_KEY, MONGO_URI_KEY, connect
from shared.settings import read

log = logging.getLogger(__name__)


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
        self.poll_seconds = read(ConsoleSettings, config).feed_poll_seconds
        self.client = connect(config[MONGO_URI_KEY])
        self.store = ConsoleStore(self.client[config[MONGO_DATABASE_KEY]])
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
            eventlet.sleep(self.poll_seconds)
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
