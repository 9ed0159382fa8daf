"""Group commit: the writes a process's concurrent workers make into one collection while an earlier
write to it is in flight go to the database together, as one unordered command.

Why: on the embedded server every write command is a transaction of its own, committed and synced to
disk under the collection's lock, and a command's fixed cost (parsing, dispatch, the commit, the sync)
outweighs the document's: 1 insert per command costs its server ~0.71 ms of CPU per document, 5 per
command ~0.43 ms, 10 ~0.33 ms (bench/bench_embedded.py). Under load the workers of a service queue up on
exactly these writes, so the groups form by themselves; alone, a worker's write goes out at once.

Each caller still waits for its own write's answer before its message is acked:
- an insert returns once stored, raises DuplicateKeyError when its `_id` (or another unique key) was
  taken, and the command's own error when the whole command failed;
- a compare-and-set update says True when it surely matched. A grouped command reports only how many of
  its statements matched, not which, so when some did not, every caller of that group hears False
  ("not known") and re-checks as after a lost race: only for callers whose re-check finds their own
  write when it did land (the console's board sees the event in `seen`; reports' step pipeline is
  idempotent). A claim whose False would leave an officer taken (dispatch) does not use it.
"""
from __future__ import annotations

from typing import Any, Generic, TypeVar

import eventlet
from eventlet.event import Event
from pymongo import ReplaceOne, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteConcernError, WriteError

DUPLICATE_KEY = 11000
MOST_PER_COMMAND = 100  # writes per command: far below the server's chunk and message limits

Write = TypeVar("Write")
Answer = TypeVar("Answer")


class Grouped(Generic[Write, Answer]):
    """One collection's pending writes of one kind and the single greenthread that sends them."""

    def __init__(self, collection: Collection, most: int = MOST_PER_COMMAND):
        self.collection = collection
        self.most = most
        self.waiting: list[tuple[Write, Event]] = []
        self.sending = False

    def submit(self, write: Write) -> Answer:
        """Blocks this greenthread only, until the command holding `write` was answered."""
        answered = Event()
        self.waiting.append((write, answered))
        if not self.sending:
            self.sending = True
            eventlet.spawn_n(self._send_while_waiting)
        answer = answered.wait()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _send_while_waiting(self) -> None:
        """Sends what is waiting, then what came meanwhile, until nothing is: no caller waits on a command
        that does not hold its own write."""
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:self.most], self.waiting[self.most:]
                writes = [write for write, _ in batch]
                try:
                    answers = self._send(writes)
                except Exception as failed:  # the whole command failed (an outage, a timeout): every caller's
                    answers = [failed] * len(writes)
                for (_, answered), answer in zip(batch, answers):
                    answered.send(answer)
        finally:
            self.sending = False

    def _send(self, writes: list[Write]) -> list[Answer | Exception]:
        raise NotImplementedError


class GroupedInserts(Grouped[dict, None]):
    def insert_one(self, document: dict[str, Any]) -> None:
        """As `Collection.insert_one`, with the same errors."""
        self.submit(document)

    def _send(self, documents: list[dict[str, Any]]) -> list[None | Exception]:
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


class GroupedUpdates(Grouped[UpdateOne | ReplaceOne, bool]):
    def matched(self, write: UpdateOne | ReplaceOne) -> bool:
        """True: the write's filter matched (and the write was applied). False: it did not, or that is not
        known (see the module's note): the caller re-checks."""
        return self.submit(write)

    def _send(self, writes: list[UpdateOne | ReplaceOne]) -> list[bool | Exception]:
        try:
            result = self.collection.bulk_write(writes, ordered=False)
        except BulkWriteError as failed:
            errors = per_document(failed.details, len(writes))
            return [error or False for error in errors]
        return [result.matched_count == len(writes)] * len(writes)


def per_document(details: dict[str, Any], count: int) -> list[Exception | None]:
    """An unordered command's errors, as each write on its own would have raised them."""
    errors: list[Exception | None] = [None] * count
    for error in details.get("writeErrors", ()):
        kind = DuplicateKeyError if error.get("code") == DUPLICATE_KEY else WriteError
        errors[error["index"]] = kind(error.get("errmsg", ""), error.get("code"), error)
    if concern := details.get("writeConcernErrors"):
        # Stored, but not acknowledged as the client asked: a single write raises this for its document.
        errors = [error or WriteConcernError(concern[0].get("errmsg", ""), concern[0].get("code"), concern[0])
                  for error in errors]
    return errors
