"""Grouped lookups: the `$in` lookups a process's concurrent workers make on one indexed field while an
earlier one is in flight go to the database together, as one find over all their keys, and each worker
gets back the documents that hold one of its own keys.

Why: a find's fixed cost, on both sides, outweighs the few documents it returns. An area-officer lookup
costs the embedded server ~0.39 ms of CPU alone and ~0.17 ms five at a time; a duplicate check that finds
nothing ~0.57 and ~0.33 ms; pymongo's own share in the client ~0.19 and ~0.05 ms
(bench/bench_embedded.py). How the groups form: shared/command_group.py.

The answer is the one the worker's own find would have given, or a fresher one (the group's find may
start after the worker asked): a document is the worker's when the field's value, or one element of
it, is among the worker's keys.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

from pymongo.collection import Collection

from shared.command_group import CommandGroup

MOST_KEYS_PER_COMMAND = 1000  # far below the server's limits; a lookup with more goes alone


class GroupedLookups(CommandGroup):
    """One collection's pending lookups on one field."""

    def __init__(self, collection: Collection, field: str, projection: Mapping[str, Any] | None = None,
                 most: int = MOST_KEYS_PER_COMMAND):
        if "." in field:
            raise ValueError(f"{field}: a top-level field only (its values are matched here too)")
        super().__init__(most)
        self.collection, self.field = collection, field
        self.projection = None if projection is None else {**projection, field: 1}

    def find(self, keys: Iterable[Any]) -> list[dict[str, Any]]:
        """As `list(collection.find({field: {"$in": keys}}, projection))`, with the same errors."""
        keys = list(keys)
        return self.ask(keys) if keys else []

    def send(self, lookups: list[list[Any]]) -> list[list[dict[str, Any]]]:
        union = list(dict.fromkeys(key for keys in lookups for key in keys))
        found = list(self.collection.find({self.field: {"$in": union}}, self.projection))
        given: set[int] = set()

        def own(document: dict[str, Any]) -> dict[str, Any]:
            """A document two workers asked for (a Polsek's duty desk) is each one's own object."""
            if id(document) in given:
                return copy.deepcopy(document)
            given.add(id(document))
            return document
        return [[own(document) for document in holding(found, self.field, set(keys))] for keys in lookups]

    def weight(self, keys: list[Any]) -> int:
        return len(keys)


def holding(documents: list[dict[str, Any]], field: str, keys: set[Any]) -> list[dict[str, Any]]:
    """The documents whose `field` is, or holds, one of `keys`."""
    def held(value: Any) -> bool:
        return bool(keys.intersection(value)) if isinstance(value, list) else value in keys
    return [document for document in documents if held(document.get(field))]
