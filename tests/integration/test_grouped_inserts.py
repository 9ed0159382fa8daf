"""Grouped inserts on the real server: concurrent workers' documents share commands, and each worker still
gets exactly its own document's answer (stored, its key taken, or the command's failure)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import eventlet
import pytest
from pymongo import ASCENDING, MongoClient
from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError

from services.notify import sending
from services.notify.settings import SendPolicy
from services.notify.storage import NotificationStore
from shared.embedded_db import EmbeddedMongo
from shared.grouped_inserts import GroupedInserts
from shared.mongo import connect
from tests.factories import WriteCommands

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def counted(mongo_uri):
    listener = WriteCommands()
    client = MongoClient(mongo_uri, event_listeners=[listener], w="majority")
    collection = client[f"t{uuid.uuid4().hex[:8]}"].things
    collection.create_index([("unique_field", ASCENDING)], name="unique_field", unique=True, sparse=True)
    yield collection, listener
    client.drop_database(collection.database.name)
    client.close()


def insert_concurrently(grouped: GroupedInserts, documents: list[dict]) -> list[Exception | None]:
    def one(document):
        try:
            grouped.insert_one(document)
        except Exception as error:
            return error
    pool = eventlet.GreenPool(len(documents))
    return list(pool.imap(one, documents))


def test_concurrent_inserts_share_commands_and_all_are_stored(counted):
    collection, listener = counted
    documents = [{"_id": f"doc-{i}", "n": i} for i in range(40)]

    errors = insert_concurrently(GroupedInserts(collection), documents)

    assert errors == [None] * 40
    assert sorted(doc["n"] for doc in collection.find()) == list(range(40))
    assert len(listener.commands) < 40 / 4, "40 concurrent inserts took a command each"


def test_a_lone_insert_goes_out_alone_at_once(counted):
    collection, listener = counted

    GroupedInserts(collection).insert_one({"_id": "alone"})

    assert collection.find_one({"_id": "alone"}) == {"_id": "alone"}
    assert len(listener.commands) == 1


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


def test_an_insert_that_can_wait_rides_with_the_next_that_cannot(counted):
    """A reporter's acknowledgement and an officer's assignment SMS a few ms apart: one command, and the
    officer's goes at once rather than waiting out the other's linger."""
    collection, listener = counted
    grouped = GroupedInserts(collection)
    waiting = eventlet.spawn(grouped.insert_one, {"_id": "can-wait"}, linger=30.0)
    eventlet.sleep(0.01)

    grouped.insert_one({"_id": "urgent"})

    with eventlet.Timeout(5):
        waiting.wait()
    assert sorted(doc["_id"] for doc in collection.find()) == ["can-wait", "urgent"]
    assert len(listener.commands) == 1


def test_an_insert_that_can_wait_goes_alone_once_its_linger_is_over(counted):
    collection, listener = counted

    with eventlet.Timeout(5):
        GroupedInserts(collection).insert_one({"_id": "alone"}, linger=0.05)

    assert collection.find_one({"_id": "alone"}) == {"_id": "alone"}
    assert len(listener.commands) == 1


def test_an_incidents_sms_to_its_reporter_waits_for_the_officers_and_both_are_one_command(mongo_uri):
    listener = WriteCommands()
    client = MongoClient(mongo_uri, event_listeners=[listener])
    store = NotificationStore(client[f"t{uuid.uuid4().hex[:8]}"])
    policy = SendPolicy(linger=30.0)
    reporter = {"sms_id": "to-reporter", "to": "+6281234567890", "recipient_role": "reporter",
                "kind": "reporter_received"}
    officer = {"sms_id": "to-officer", "to": "+6281298765432", "recipient_role": "officer",
               "kind": "officer_assignment"}
    resolved = {"sms_id": "resolved", "to": "+6281234567890", "recipient_role": "reporter",
                "kind": "reporter_resolved"}
    try:
        waiting = eventlet.spawn(store.add, reporter, T0, policy)
        eventlet.sleep(0.01)
        store.add(officer, T0, policy)
        with eventlet.Timeout(5):
            assert waiting.wait() == (sending.new_outgoing(reporter, T0, policy), True)

        assert len(listener.commands) == 1
        assert sorted(store.db.notifications.distinct("_id")) == ["to-officer", "to-reporter"]
        with eventlet.Timeout(5):  # nothing follows a report's resolution: its SMS does not wait 30 s
            store.add(resolved, T0, policy)
        assert len(listener.commands) == 2
    finally:
        client.drop_database(store.db.name)
        client.close()
