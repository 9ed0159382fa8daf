"""Grouped lookups: the `$in` lookups a process's concurrent workers make on one indexed field while an
earlier one is in flight go to the database together, as one find over all their keys, and each worker
gets back the documents that hold one of its own keys.

Why: a find's fixed cost, on both sides, outweighs the few documents it returns. An area-officer lookup
costs the embedded server ~0.39 ms of CPU alone and ~0.17 ms five at a time; a duplicate check that finds
nothing ~0.57 and ~0.33 ms; pymongo's own share in the client ~0.19 and ~0.05 ms
(bench/bench_embedded.py). Under load the workers queue up on exactly these lookups, so the groups
form by themselves; alone, a worker's lookup goes out at once, as before: nothing waits for company.

The answer is the one the worker's own find would have given, or a fresher one (the group's find may
start after the worker asked): a document is the worker's when the field's value, or one element of
it, is among the worker's keys.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import eventlet
from eventlet.event import Event
from pymongo.collection import Collection

MOST_KEYS_PER_COMMAND = 1000  # far below the server's limits; a lookup with more goes alone


class GroupedLookups:
    """One collection's pending lookups on one field, and the single greenthread that sends them."""

    def __init__(self, collection: Collection, field: str, projection: Mapping[str, Any] | None = None,
                 most: int = MOST_KEYS_PER_COMMAND):
        if "." in field:
            raise ValueError(f"{field}: a top-level field only (its values are matched here too)")
        self.collection, self.field, self.most = collection, field, most
        self.projection = None if projection is None else {**projection, field: 1}
        self.waiting: list[tuple[list[Any], Event]] = []
        self.sending = False

    def find(self, keys: Iterable[Any]) -> list[dict[str, Any]]:
        """As `list(collection.find({field: {"$in": keys}}, projection))`, with the same errors; blocks this
        greenthread only."""
        keys = list(keys)
        if not keys:
            return []
        answered = Event()
        self.waiting.append((keys, answered))
        if not self.sending:
            self.sending = True
            eventlet.spawn_n(self._send_while_waiting)
        found = answered.wait()
        if isinstance(found, Exception):
            raise found
        return found

    def _send_while_waiting(self) -> None:
        """Sends what is waiting, then what came meanwhile, until nothing is."""
        try:
            while self.waiting:
                batch, self.waiting = self._next_batch()
                union = list(dict.fromkeys(key for keys, _ in batch for key in keys))
                try:
                    found = list(self.collection.find({self.field: {"$in": union}}, self.projection))
                except Exception as failed:  # the command failed (an outage, a timeout): every caller's
                    for _, answered in batch:
                        answered.send(failed)
                    continue
                for keys, answered in batch:
                    answered.send(holding(found, self.field, set(keys)))
        finally:
            self.sending = False

    def _next_batch(self) -> tuple[list[tuple[list[Any], Event]], list[tuple[list[Any], Event]]]:
        """The waiting lookups, in order, up to `most` keys (at least one lookup, however many it has)."""
        count = 0
        for taken, (keys, _) in enumerate(self.waiting):
            count += len(keys)
            if count > self.most and taken:
                return self.waiting[:taken], self.waiting[taken:]
        return self.waiting, []


def holding(documents: list[dict[str, Any]], field: str, keys: set[Any]) -> list[dict[str, Any]]:
    """The documents whose `field` is, or holds, one of `keys`."""
    def held(value: Any) -> bool:
        return bool(keys.intersection(value)) if isinstance(value, list) else value in keys
    return [document for document in documents if held(document.get(field))]
