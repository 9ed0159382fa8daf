"""Grouped inserts: the inserts a process's concurrent workers make into one collection while an earlier
insert is in flight go to the database together, as one unordered `insert_many` (shared/command_group.py).

Why: on the embedded server every write command is a transaction of its own, committed and synced to
disk under the collection's lock, and a command's fixed cost (parsing, dispatch, the commit, the sync)
outweighs the document's: 1 insert per command costs its server ~0.71 ms of CPU per document, 5 per
command ~0.43 ms, 10 ~0.33 ms (bench/bench_embedded.py).

An insert nobody waits on (a reporter's "laporan diterima" SMS, where the officer's assignment SMS is what
the pipeline's latency is) may say how long it can `linger`: it waits up to then for company, and goes with
the first insert that cannot wait, or with whatever goes meanwhile. One incident's two SMS, a few ms apart,
are then one command even when incidents come one at a time.

Each caller still waits for its own document's answer: it returns once the database acknowledged the
write (so a message is acked only after its effect is stored), raises DuplicateKeyError when its `_id`
(or another unique key) was taken, and gets the command's own error when the whole command failed.
"""
from __future__ import annotations

from typing import Any

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteConcernError, WriteError

from shared.command_group import CommandGroup

DUPLICATE_KEY = 11000
MOST_PER_COMMAND = 100  # documents per insert_many: far below the server's chunk and message limits


class GroupedInserts(CommandGroup):
    """One collection's pending inserts."""

    def __init__(self, collection: Collection, most: int = MOST_PER_COMMAND):
        super().__init__(most)
        self.collection = collection

    def insert_one(self, document: dict[str, Any], linger: float = 0.0) -> None:
        """As `Collection.insert_one`, with the same errors; blocks this greenthread only, at most `linger`
        seconds longer than the insert takes."""
        self.ask(document, linger)

    def send(self, documents: list[dict[str, Any]]) -> list[Exception | None]:
        """Each document's error, or None for a stored one."""
        try:
            if len(documents) == 1:
                self.collection.insert_one(documents[0])
            else:
                self.collection.insert_many(documents, ordered=False)
            return [None] * len(documents)
        except BulkWriteError as failed:
            return per_document(failed.details, len(documents))
        except DuplicateKeyError as taken:
            return [taken]


def per_document(details: dict[str, Any], count: int) -> list[Exception | None]:
    """An unordered insert_many's errors, as each document's own insert_one would have raised them."""
    errors: list[Exception | None] = [None] * count
    for error in details.get("writeErrors", ()):
        kind = DuplicateKeyError if error.get("code") == DUPLICATE_KEY else WriteError
        errors[error["index"]] = kind(error.get("errmsg", ""), error.get("code"), error)
    if concern := details.get("writeConcernErrors"):
        # Stored, but not acknowledged as the client asked: insert_one raises this for its document.
        errors = [error or WriteConcernError(concern[0].get("errmsg", ""), concern[0].get("code"), concern[0])
                  for error in errors]
    return errors
