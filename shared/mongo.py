"""Persistence behind a nameko dependency provider: one client per container, one database per service."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Iterable

import eventlet
from nameko.extensions import DependencyProvider
from pymongo import MongoClient, WriteConcern
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure

from shared.archive import ArchiveSettings
from shared.command_group import CommandGroup
from shared.grouped_inserts import GroupedInserts
from shared.grouped_lookups import GroupedLookups
from shared.grouped_updates import GroupedUpdates
from shared.metrics import DatabaseTimer, MetricsServer
from shared.outage import OUTAGE_ERRORS, OutageGate, OutageSettings
from shared.settings import read

log = logging.getLogger(__name__)

MONGO_URI_KEY = "MONGO_URI"
MONGO_DATABASE_KEY = "MONGO_DATABASE"
NAMESPACE_NOT_FOUND, INDEX_NOT_FOUND = 26, 27
# How long the outage probe's write may wait for a majority before the database counts as still away.
PROBE_WRITE_TIMEOUT_S = 5.0


def connect(uri: str, server_selection_seconds: float = OutageSettings.server_selection_seconds,
            service: str | None = None) -> MongoClient:
    """Clients store and return aware UTC datetimes. A write is acknowledged once a majority of the
    replica set has it in its journal, so no event announces a write that a crash or a failover could
    still undo (on the embedded server, which syncs every commit itself, it is the same as w=1).
    A service's client times every command it sends (shared/metrics.py)."""
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=int(server_selection_seconds * 1000),
                       w="majority", event_listeners=[DatabaseTimer(service)] if service else [])


def drop_index(collection: Collection, name: str) -> None:
    """Drop an index the code no longer reads by, if it is there: every write would go on paying for it.
    Gone already is fine (a fresh database, or another replica starting at the same time)."""
    try:
        collection.drop_index(name)
    except OperationFailure as failed:
        if failed.code not in (NAMESPACE_NOT_FOUND, INDEX_NOT_FOUND):
            raise


class Store:
    """Base of each service's storage wrapper: domain methods over its own database. `archive`: when its
    final documents leave the hot collections (shared/archive.py), read from the service's config."""

    archive: ArchiveSettings = ArchiveSettings()

    def __init__(self, db: Database):
        self.db = db
        self.groups: dict[tuple, CommandGroup] = {}  # one per kind of request, collection (and field)

    def insert(self, collection: Collection, document: dict, linger: float = 0.0) -> None:
        """`collection.insert_one(document)`, sent together with this process's other workers' concurrent
        inserts into that collection, or waiting up to `linger` seconds for one (shared/grouped_inserts.py):
        the main path's inserts use it."""
        self._group(GroupedInserts, collection).insert_one(document, linger)

    def lookup(self, collection: Collection, field: str, keys: list, projection: dict | None = None) -> list[dict]:
        """`list(collection.find({field: {"$in": keys}}, projection))`, sent together with this process's other
        workers' concurrent lookups on that field (shared/grouped_lookups.py): the main path's lookups use it.
        One projection per collection and field (the first caller's)."""
        return self._group(GroupedLookups, collection, field, projection).find(keys)

    def update(self, collection: Collection, filter: dict, update: dict) -> bool | None:
        """Whether `collection.update_one(filter, update)` matched, sent together with this process's other
        workers' concurrent updates of that collection: True, False, or None when it cannot be told
        (shared/grouped_updates.py says which callers can use it)."""
        return self._group(GroupedUpdates, collection).update_one(filter, update)

    def _group(self, kind: type, collection: Collection, *args: Any) -> Any:
        """This process's group of `kind` for the collection (and field: `args[0]`), made on first use."""
        key = (kind, collection.full_name, *args[:1])
        if key not in self.groups:
            self.groups[key] = kind(collection, *args)
        return self.groups[key]

    def ensure_indexes(self) -> None:
        """Create the service's named indexes; idempotent."""

    def gauges(self) -> Iterable[tuple[str, dict, float]]:
        """(metric, labels, value) read from the database when the service's metrics are scraped."""
        return ()


class MongoStorage(DependencyProvider):
    """Hands every worker the service's `Store`, never the raw database."""

    store_class: type[Store] = Store
    gate = OutageGate()
    metrics = MetricsServer()

    def setup(self):
        config = self.container.config
        settings = read(OutageSettings, config)
        self.client = connect(config[MONGO_URI_KEY], settings.server_selection_seconds, self.container.service_name)
        self.store = self.store_class(self.client[config[MONGO_DATABASE_KEY]])
        self.store.archive = read(ArchiveSettings, config)
        self.wait_for_database(settings)
        self.gate.add_probe("database", self.takes_a_write)
        self.metrics.add_gauges(self.store.gauges)

    def takes_a_write(self) -> None:
        """The outage probe: a server that answers a ping but takes no write (no primary, no majority, a
        full disk) is still away for a service whose every message writes."""
        probes = self.store.db.get_collection("outage_probe", write_concern=WriteConcern(
            w="majority", wtimeout=int(PROBE_WRITE_TIMEOUT_S * 1000)))
        probes.update_one({"_id": self.container.service_name}, {"$set": {"at": datetime.now(timezone.utc)}},
                          upsert=True)

    def wait_for_database(self, settings: OutageSettings) -> None:
        """A service (re)started while its database is away waits for it, as its consumers wait for the
        broker, instead of exiting."""
        while True:
            try:
                self.store.ensure_indexes()
                return
            except OUTAGE_ERRORS as exc:
                log.warning("%s: the database does not answer (%s); waiting for it before starting",
                            self.container.service_name, type(exc).__name__)
                eventlet.sleep(settings.probe_seconds)

    def stop(self):
        self.client.close()

    def kill(self):
        self.client.close()

    def get_dependency(self, worker_ctx) -> Store:
        return self.store
