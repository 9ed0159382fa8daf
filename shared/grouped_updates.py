"""Grouped updates: the single-document updates a process's concurrent workers make in one collection while
an earlier one is in flight go to the database together, as one unordered bulk write
(shared/command_group.py).

Why: on the embedded server every write command is a transaction of its own, committed and synced to disk,
and that fixed cost outweighs the document's (bench/bench_embedded.py). A report's first step and an
officer's claim are one update each per incident, the main path's two that no other write can share.

What a worker gets back is less than its own update_one would say: a bulk write counts the documents its
updates matched, not which. True when every update of the group matched, False when none did, and None
(unknown) otherwise; a lone update's answer is always known. So only an update whose caller can settle
"unknown" cheaply belongs here: by an idempotent retry (the update that follows a report's first step
when it did not match) or by reading what it set (an officer's claim names its assignment). A write error
(a duplicate key, a bad update) is the caller's own, as from update_one.
"""
from __future__ import annotations

from typing import Any, Mapping

from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from shared.command_group import CommandGroup
from shared.grouped_inserts import per_document

MOST_PER_COMMAND = 100


class GroupedUpdates(CommandGroup):
    """One collection's pending updates."""

    def __init__(self, collection: Collection, most: int = MOST_PER_COMMAND):
        super().__init__(most)
        self.collection = collection

    def update_one(self, filter: Mapping[str, Any], update: Mapping[str, Any]) -> bool | None:
        """Whether `filter` matched a document, which `update` then changed: True, False or None (unknown)."""
        return self.ask((filter, update))

    def send(self, updates: list[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> list[bool | None | Exception]:
        if len(updates) == 1:
            return [self.collection.update_one(*updates[0]).matched_count == 1]
        errors: list[Exception | None] = [None] * len(updates)
        try:
            matched = self.collection.bulk_write([UpdateOne(f, u) for f, u in updates], ordered=False).matched_count
        except BulkWriteError as failed:
            matched, errors = failed.details.get("nMatched", 0), per_document(failed.details, len(updates))
        applied = errors.count(None)
        known = True if matched == applied else False if matched == 0 else None
        return [error or known for error in errors]
