"""Grouped lookups on the real server: concurrent workers' `$in` lookups share a find, and each worker gets
exactly the documents its own find would have returned (or the command's failure)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import eventlet
import pytest
from pymongo import ASCENDING, MongoClient
from pymongo.errors import ServerSelectionTimeoutError

from services.reports.dedup import DedupQuery
from services.reports.storage import ReportStore
from shared.embedded_db import EmbeddedMongo
from shared.grouped_lookups import GroupedLookups
from shared.mongo import connect
from tests.factories import FindCommands

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc)

OFFICERS = [{"_id": f"nrp-{i}", "keys": [f"village-{i}", f"village-{i}/RW01"] + (["desk"] if i % 10 == 0 else []),
             "role": "desk" if i % 10 == 0 else "bhabinkamtibmas", "name": f"Bripka {i}"} for i in range(40)]


@pytest.fixture
def counted(mongo_uri):
    listener = FindCommands()
    client = MongoClient(mongo_uri, event_listeners=[listener])
    collection = client[f"t{uuid.uuid4().hex[:8]}"].officers
    collection.create_index([("keys", ASCENDING)], name="keys")
    collection.insert_many(OFFICERS)
    listener.commands.clear()
    yield collection, listener
    client.drop_database(collection.database.name)
    client.close()


def look_up_concurrently(grouped: GroupedLookups, lookups: list[list[str]]) -> list:
    def one(keys):
        try:
            return sorted(document["_id"] for document in grouped.find(keys))
        except Exception as error:
            return error
    return list(eventlet.GreenPool(len(lookups)).imap(one, lookups))


def test_concurrent_lookups_share_finds_and_each_gets_what_its_own_find_would_have(counted):
    collection, listener = counted
    lookups = [[f"village-{i}", "desk"] if i % 3 == 0 else [f"village-{i}/RW01", "nowhere"] for i in range(30)]
    alone = [sorted(document["_id"] for document in collection.find({"keys": {"$in": keys}})) for keys in lookups]
    listener.commands.clear()

    found = look_up_concurrently(GroupedLookups(collection, "keys"), lookups)

    assert found == alone
    assert len(listener.commands) < 30 / 4, "30 concurrent lookups took a find each"


def test_a_document_two_workers_asked_for_is_each_ones_own(counted):
    collection, _ = counted
    grouped = GroupedLookups(collection, "keys")

    first, second = eventlet.GreenPool(2).imap(grouped.find, [["desk", "village-1"], ["desk", "village-2"]])

    desks = [next(o for o in found if o["_id"] == "nrp-0") for found in (first, second)]
    desks[0]["keys"].append("changed by the first worker")
    assert desks[1]["keys"] == ["village-0", "village-0/RW01", "desk"]


def test_a_lone_lookup_goes_out_alone_and_no_keys_is_no_find(counted):
    collection, listener = counted
    grouped = GroupedLookups(collection, "keys", {"name": 1})

    [officer] = grouped.find(["village-3"])

    assert officer == {"_id": "nrp-3", "name": "Bripka 3", "keys": ["village-3", "village-3/RW01"]}
    assert grouped.find([]) == []
    assert listener.commands == ["find"]


def test_a_group_holds_at_most_so_many_keys_and_the_rest_go_in_the_next(counted):
    collection, listener = counted
    lookups = [[f"village-{i}", f"village-{i}/RW01"] for i in range(12)]

    found = look_up_concurrently(GroupedLookups(collection, "keys", most=5), lookups)

    assert found == [[f"nrp-{i}"] for i in range(12)]
    assert 4 <= len(listener.commands) < 12


def test_a_find_that_fails_reaches_every_caller_and_the_next_still_goes():
    with EmbeddedMongo(":memory:") as server:
        client = connect(server.uri, server_selection_seconds=0.3)
        client.db.officers.insert_one(OFFICERS[1])
        grouped = GroupedLookups(client.db.officers, "keys")
        assert [o["_id"] for o in grouped.find(["village-1"])] == ["nrp-1"]
        server.kill()

        errors = look_up_concurrently(grouped, [["village-1"]] * 5)

        assert all(isinstance(error, ServerSelectionTimeoutError) for error in errors)
        server.start()
        assert grouped.find(["village-1"]) == []  # a server in memory: what it held is gone
        client.close()


def test_concurrent_duplicate_checks_share_finds_and_read_no_more_of_a_report_than_before(mongo_uri):
    listener = FindCommands()
    client = MongoClient(mongo_uri, event_listeners=[listener])
    store = ReportStore(client[f"t{uuid.uuid4().hex[:8]}"])
    store.ensure_indexes()
    store.db.reports.insert_many([{"_id": f"r{i}", "number": f"R{i}", "category": "theft", "status": "received",
                                   "dedup_keys": [f"theft|cell-{i}|1"], "place": {}, "description": "secret"}
                                  for i in range(20)])
    listener.commands.clear()
    queries = [DedupQuery([f"theft|cell-{i}|1", f"theft|cell-{i}|2"], T0) for i in range(20)]

    found = list(eventlet.GreenPool(20).imap(store.open_near, queries))

    assert [[report["_id"] for report in reports] for reports in found] == [[f"r{i}"] for i in range(20)]
    assert all("description" not in report for reports in found for report in reports)
    assert len(listener.commands) < 20 / 4
    client.drop_database(store.db.name)
    client.close()
