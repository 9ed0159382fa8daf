"""Archiving: what is over leaves the collections the services work in, so they stay the size of what is live.

A document that nothing moves any more (a report resolved, cancelled or linked as a duplicate, an assignment
ended with its follow-up done, an SMS settled) and that is older than ARCHIVE.AFTER_SECONDS moves from its
collection to `<collection>_archive` in the same database, by a timer of its service (`sweep`), at most
ARCHIVE.BATCH documents per collection and tick. Each store says which of its documents are final and since
when (`archivable`); the move is the same everywhere and safe to stop at any line:

1. copy: each document is written whole into the archive under its own _id (replaced if a copy is there:
   a sweep that died after this step left one, and the document may have changed since);
2. delete: each is deleted from its collection only if the field that makes it final still says what was
   copied. A crash between 1 and 2 leaves the document in both: readers take the live one, and the next
   sweep copies it again and deletes it. A document a late write changed in between stays, and moves next time.

Nothing on the hot path reads an archive. Reads that must still answer for archived documents (a report by
its id, Open311 lists, the open figures, `siaga trace`, an SMS budget) fall back to the archive or read both.
An idempotency fence that relies on finding the document its event made (an insert under a deterministic
id) looks in the archive only for an event old enough to have had its document archived
(`may_be_archived`): a fresh event never costs a round trip there. What such a fence finds in the archive
was said long ago and is not said again. Its time is all the fence goes by: a sender that says a month-old
fact again under its old id but a new time is taken as saying something new.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Iterable, Mapping, Protocol

from pymongo import ASCENDING, DeleteMany, ReplaceOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from shared.settings import setting

log = logging.getLogger(__name__)

SUFFIX = "_archive"
DUPLICATE_KEY = 11000
# Documents per copy and per delete command: the embedded server runs a statement under the collection's
# lock, so a sweep's whole batch in one would hold up the live work on it behind it.
MOVE_CHUNK = 50
# Documents per statement of a delete: the embedded server holds the collection's lock for a statement, and
# the live work on it waits that long (50 SMS: 25 ms on a quiet server, ~100 ms in a soak; 10: 6–8 ms, the
# delete 17–36% slower in all).
DELETE_STATEMENT = 10
# How far a sender's clock may run ahead of ours and its event still be recognised as old enough to have
# had its document archived; half the archive age when that is shorter (a test's age of seconds).
CLOCK_MARGIN = timedelta(days=1)


def age(raw: Any) -> timedelta:
    return timedelta(seconds=float(raw))


@dataclass(frozen=True)
class ArchiveSettings:
    """When final documents leave the hot collections (each service's config.yml `ARCHIVE:`)."""

    SECTION: ClassVar[str] = "ARCHIVE"
    after: timedelta = setting(timedelta(days=30), "closed reports (by receipt), assignments over, SMS settled "
                               "longer ago than this many seconds move to an archive collection beside theirs "
                               "(reports_archive, assignments_archive, notifications_archive); 0: never",
                               key="AFTER_SECONDS", parse=age)
    interval: float = setting(60.0, "how often the archive sweep runs (seconds)", key="SECONDS")
    batch: int = setting(200, "documents moved per collection and sweep at most")

    @property
    def enabled(self) -> bool:
        return self.after > timedelta(0)


def archive_name(collection: str) -> str:
    return f"{collection}{SUFFIX}"


def archive_of(collection: Collection) -> Collection:
    return collection.database[archive_name(collection.name)]


def may_be_archived(said_at: datetime, now: datetime, settings: ArchiveSettings) -> bool:
    """Whether the document an event made may already be in an archive, so that its fence must look there.

    A document moves no sooner than ARCHIVE.AFTER_SECONDS after it became final, which is after the event
    that made it was handled, which is after the event was said. So an event said later than that (by its
    sender's clock, give or take CLOCK_MARGIN) cannot have made an archived document."""
    if not settings.enabled:
        return False
    return said_at <= now - settings.after + min(settings.after / 2, CLOCK_MARGIN)


def complete_before(collection: Collection, field: str, now: datetime, settings: ArchiveSettings) -> datetime:
    """A time before which the collection's archive is complete: every document that became final earlier
    (by its time `field`) has moved, and no other such document will ever move there.

    The oldest final time still live bounds it: a document is copied before it is deleted, so one no longer
    live has its copy in the archive already. So does now, less the clock margin: a document that becomes
    final from now on is stamped about now, give or take the clock of the replica that stamps it."""
    margin = min(settings.after / 2, CLOCK_MARGIN)
    oldest = collection.find_one({field: {"$lt": now - margin}}, {field: 1}, sort=[(field, ASCENDING)])
    return oldest[field] if oldest is not None else now - margin


class Archivable(Protocol):
    """A store some of whose documents become final: what `sweep` needs of it."""

    def archivable(self, before: datetime, limit: int) -> Mapping[str, list[dict[str, Any]]]:
        """Per collection, up to `limit` final documents that became final (or were made) before `before`."""

    def copy_to_archive(self, collection: str, documents: list[dict[str, Any]]) -> None:
        """Each document written whole into the collection's archive, replacing any copy under its _id."""

    def delete_archived(self, collection: str, documents: list[dict[str, Any]]) -> int:
        """Each document deleted from the collection if still final as copied; how many were."""


def sweep(store: Archivable, settings: ArchiveSettings, now: datetime) -> dict[str, int]:
    """One tick of a service's archive timer: per collection, how many documents moved."""
    if not settings.enabled:
        return {}
    moved = {}
    for collection, documents in store.archivable(now - settings.after, settings.batch).items():
        for start in range(0, len(documents), MOVE_CHUNK):
            chunk = documents[start:start + MOVE_CHUNK]
            store.copy_to_archive(collection, chunk)
            moved[collection] = moved.get(collection, 0) + store.delete_archived(collection, chunk)
    if moved:
        log.info("archive: %s moved to the archive (final for more than %s)",
                 ", ".join(f"{n} from {collection}" for collection, n in moved.items()), settings.after)
    return moved


# --- the Mongo side, shared by every service's store ------------------------------------------------


class MongoArchive:
    """The copy and the delete of `sweep`, for a store whose final documents are told apart by one field
    (`FINAL_FIELD`, per collection): the delete requires it unchanged since the copy."""

    FINAL_FIELD: ClassVar[dict[str, str]] = {}
    db: Any

    def copy_to_archive(self, collection: str, documents: list[dict[str, Any]]) -> None:
        """Inserted (the embedded server inserts several times faster than it upserts); a document a stopped
        sweep copied before is replaced, since it may have changed since."""
        archived = archive_of(self.db[collection])
        try:
            archived.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            problems = error.details["writeErrors"]
            if any(problem["code"] != DUPLICATE_KEY for problem in problems):
                raise
            archived.bulk_write([ReplaceOne({"_id": documents[problem["index"]]["_id"]}, documents[problem["index"]])
                                 for problem in problems], ordered=False)

    def delete_archived(self, collection: str, documents: list[dict[str, Any]]) -> int:
        """One command of short statements: the embedded server commits each statement of a delete on its own,
        synced to disk, under the collection's lock, so a statement per document made a sweep the slowest
        writer there and one long statement held the live work on the collection behind it. A statement
        deletes those of its documents whose final field still holds one of the values copied."""
        field = self.FINAL_FIELD[collection]
        statements = [DeleteMany({"_id": {"$in": ids[start:start + DELETE_STATEMENT]}, field: {"$in": values}})
                      for ids, values in unchanged_since_copied(documents, field)
                      for start in range(0, len(ids), DELETE_STATEMENT)]
        return self.db[collection].bulk_write(statements, ordered=False).deleted_count if statements else 0


def unchanged_since_copied(documents: list[dict[str, Any]], field: str) -> list[tuple[list, list]]:
    """(ids, final values) per statement: a document is still as copied if its final field holds one of its
    statement's values. Times go in one statement: a time rewritten after the copy is that later write's,
    newer than any copied (each was older than the archive age), so it cannot pass for another's. Any other
    value (a status) gets a statement of its own: a document may move to a status another was copied with."""
    statements: dict[Any, tuple[list, list]] = {}
    for document in documents:
        value = document[field]
        ids, values = statements.setdefault("times" if isinstance(value, datetime) else value, ([], []))
        ids.append(document["_id"])
        if value not in values:
            values.append(value)
    return list(statements.values())


def find_one_anywhere(collection: Collection, query: Mapping[str, Any],
                      projection: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The live document, else its archived copy: for reads that must answer for both."""
    found = collection.find_one(query, projection)
    return found if found is not None else archive_of(collection).find_one(query, projection)


def find_both(collection: Collection, query: Mapping[str, Any], sort: list[tuple[str, int]], limit: int,
              projection: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The first `limit` documents by `sort` (one field) from the collection and its archive together; a
    document in both (a sweep stopped between copy and delete) counts once, live."""
    live = list(collection.find(query, projection).sort(sort).limit(limit))
    archived = list(archive_of(collection).find(query, projection).sort(sort).limit(limit))
    return merged(live, archived, sort, limit)


def merged(live: Iterable[dict[str, Any]], archived: Iterable[dict[str, Any]], sort: list[tuple[str, int]],
           limit: int) -> list[dict[str, Any]]:
    (field, direction), = sort
    seen: dict[Any, dict[str, Any]] = {document["_id"]: document for document in archived}
    seen |= {document["_id"]: document for document in live}
    return sorted(seen.values(), key=lambda document: document.get(field), reverse=direction < 0)[:limit]


def aggregate_both(collection: Collection, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pipeline's results over the collection, then over its archive: two round trips, because the
    embedded server's $unionWith reads the other collection whole. A caller that groups adds the two up."""
    return [*collection.aggregate(pipeline), *archive_of(collection).aggregate(pipeline)]


def count_both(collection: Collection, query: Mapping[str, Any]) -> int:
    """Documents matching in the collection and its archive (one in both, mid-sweep, counts twice: a count
    read while a sweep runs may be one batch high)."""
    return collection.count_documents(query) + archive_of(collection).count_documents(query)


def held(collection: Collection) -> set[Any]:
    """The _id of every document in the collection or its archive, once each: what is kept, whether or not a
    sweep is between its copy and its delete (ids only, so a run's worth fits in memory)."""
    return {document["_id"] for source in (collection, archive_of(collection))
            for document in source.find({}, {"_id": 1})}
