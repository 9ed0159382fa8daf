"""Grouped writes on the real server: concurrent workers' writes share commands, and each worker still gets
its own write's answer: an insert exactly (stored, its key taken, or the command's failure), a
compare-and-set True only when it surely matched."""
from __future__ import annotations

import uuid

import eventlet
import pytest
from pymongo import ASCENDING, MongoClient, ReplaceOne, UpdateOne, monitoring
from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError

from shared.embedded_db import EmbeddedMongo
from shared.grouped_writes import GroupedInserts, GroupedUpdates
from shared.mongo import connect

pytestmark = pytest.mark.integration


class Writes(monitoring.CommandListener):
    def __init__(self):
        self.commands = 0

    def started(self, event):
        self.commands += event.command_name in ("insert", "update")

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def counted(mongo_uri):
    listener = Writes()
    client = MongoClient(mongo_uri, event_listeners=[listener], w="majority")
    collection = client[f"t{uuid.uuid4().hex[:8]}"].things
    collection.create_index([("unique_field", ASCENDING)], name="unique_field", unique=True, sparse=True)
    yield collection, listener
    client.drop_database(collection.database.name)
    client.close()


def concurrently(write, items: list) -> list:
    """What each of len(items) concurrent workers got from write(item): its answer or its exception."""
    def one(item):
        try:
            return write(item)
        except Exception as error:
            return error
    return list(eventlet.GreenPool(len(items)).imap(one, items))


def insert_concurrently(grouped: GroupedInserts, documents: list[dict]) -> list[Exception | None]:
    return concurrently(grouped.insert_one, documents)


def test_concurrent_inserts_share_commands_and_all_are_stored(counted):
    collection, listener = counted
    documents = [{"_id": f"doc-{i}", "n": i} for i in range(40)]

    errors = insert_concurrently(GroupedInserts(collection), documents)

    assert errors == [None] * 40
    assert sorted(doc["n"] for doc in collection.find()) == list(range(40))
    assert listener.commands < 40 / 4, "40 concurrent inserts took a command each"


def test_a_lone_insert_goes_out_alone_at_once(counted):
    collection, listener = counted

    GroupedInserts(collection).insert_one({"_id": "alone"})

    assert collection.find_one({"_id": "alone"}) == {"_id": "alone"}
    assert listener.commands == 1


def test_each_caller_gets_its_own_duplicate_key_and_the_rest_are_stored(counted):
    collection, _ = counted
    collection.insert_one({"_id": "taken"})
    documents = [{"_id": "a"}, {"_id": "taken"}, {"_id": "b", "unique_field": 1},
                 {"_id": "c", "unique_field": 1}, {"_id": "d"}]

    errors = insert_concurrently(GroupedInserts(collection), documents)

    assert [type(error) for error in errors] == [type(None), DuplicateKeyError, type(None), DuplicateKeyError,
                                                 type(None)]
    assert errors[1].code == 11000 and "taken" in str(errors[1].details)
    assert sorted(doc["_id"] for doc in collection.find()) == ["a", "b", "d", "taken"]


def test_the_same_document_twice_at_once_is_stored_once_and_the_second_is_told(counted):
    collection, _ = counted

    errors = insert_concurrently(GroupedInserts(collection), [{"_id": "same"}, {"_id": "same"}])

    assert sorted(type(error).__name__ for error in errors) == ["DuplicateKeyError", "NoneType"]
    assert collection.count_documents({}) == 1


def test_a_command_that_fails_reaches_every_caller_and_the_next_batch_still_goes():
    with EmbeddedMongo(":memory:") as server:
        client = connect(server.uri, server_selection_seconds=0.3)
        grouped = GroupedInserts(client.db.things)
        grouped.insert_one({"_id": "before"})
        server.kill()

        errors = insert_concurrently(grouped, [{"_id": f"lost-{i}"} for i in range(5)])

        assert all(isinstance(error, ServerSelectionTimeoutError) for error in errors)
        server.start()
        grouped.insert_one({"_id": "after"})
        assert client.db.things.find_one({"_id": "after"}) == {"_id": "after"}
        client.close()


def test_concurrent_compare_and_sets_that_all_match_share_commands_and_each_hears_true(counted):
    collection, listener = counted
    collection.insert_many([{"_id": i, "version": 1} for i in range(30)])
    listener.commands = 0

    answers = concurrently(GroupedUpdates(collection).matched,
                           [UpdateOne({"_id": i, "version": 1}, {"$set": {"version": 2}}) for i in range(30)])

    assert answers == [True] * 30
    assert collection.count_documents({"version": 2}) == 30
    assert listener.commands < 30 / 3, "30 concurrent updates took a command each"


def test_a_group_with_a_lost_race_tells_every_caller_not_known_and_the_rest_still_landed(counted):
    collection, _ = counted
    collection.insert_many([{"_id": i, "version": 1} for i in range(5)])
    writes = [UpdateOne({"_id": i, "version": 1}, {"$set": {"version": 2}}) for i in range(4)]
    writes.append(ReplaceOne({"_id": 4, "version": 7}, {"version": 8}))  # stale: another replica wrote

    answers = concurrently(GroupedUpdates(collection).matched, writes)

    assert True not in answers[1:], "a caller was told it matched though the group could not say which did"
    assert collection.count_documents({"version": 2}) == 4, "the writes that matched were not applied"
    assert collection.find_one({"_id": 4}) == {"_id": 4, "version": 1}


def test_a_lone_compare_and_set_is_answered_exactly(counted):
    collection, _ = counted
    collection.insert_one({"_id": "x", "version": 1})
    grouped = GroupedUpdates(collection)

    assert grouped.matched(UpdateOne({"_id": "x", "version": 1}, {"$set": {"version": 2}})) is True
    assert grouped.matched(UpdateOne({"_id": "x", "version": 1}, {"$set": {"version": 3}})) is False
