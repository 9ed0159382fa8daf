"""Grouped updates on the real server: concurrent workers' updates share a bulk write; each worker learns
whether its own matched when that can be told, and never a wrong answer; an officer's claim and a report's
first step settle what cannot."""
from __future__ import annotations

import uuid

import eventlet
import pytest
from pymongo import MongoClient
from pymongo.errors import WriteError

from services.dispatch.storage import DispatchStore
from shared.grouped_updates import GroupedUpdates
from tests.factories import WriteCommands

pytestmark = pytest.mark.integration


@pytest.fixture
def db(mongo_uri):
    listener = WriteCommands()
    client = MongoClient(mongo_uri, event_listeners=[listener], w="majority")
    database = client[f"t{uuid.uuid4().hex[:8]}"]
    database.things.insert_many([{"_id": f"thing-{i}", "n": i, "state": "free"} for i in range(20)])
    listener.commands.clear()
    database.commands = listener.commands
    yield database
    client.drop_database(database.name)
    client.close()


def update_concurrently(grouped: GroupedUpdates, updates: list[tuple[dict, dict]]) -> list:
    def one(update):
        try:
            return grouped.update_one(*update)
        except Exception as error:
            return error
    return list(eventlet.GreenPool(len(updates)).imap(one, updates))


def test_concurrent_updates_share_commands_and_all_matched_is_known(db):
    updates = [({"_id": f"thing-{i}"}, {"$inc": {"n": 100}}) for i in range(20)]

    answers = update_concurrently(GroupedUpdates(db.things), updates)

    assert answers == [True] * 20
    assert sorted(thing["n"] for thing in db.things.find()) == list(range(100, 120))
    assert len(db.commands) < 20 / 4


def test_none_matched_is_known_and_some_matched_is_unknown_never_wrong(db):
    grouped = GroupedUpdates(db.things)
    nowhere = [({"_id": f"missing-{i}"}, {"$set": {"n": 0}}) for i in range(6)]
    assert update_concurrently(grouped, nowhere) == [False] * 6

    mixed = update_concurrently(grouped, [({"_id": "thing-1"}, {"$set": {"seen": 1}}),
                                          ({"_id": "missing"}, {"$set": {"seen": 1}}),
                                          ({"_id": "thing-2"}, {"$set": {"seen": 1}})])

    assert mixed[0] in (True, None) and mixed[1] in (False, None) and mixed[2] in (True, None)
    assert db.things.count_documents({"seen": 1}) == 2


def test_a_lone_update_is_always_told_exactly(db):
    grouped = GroupedUpdates(db.things)
    assert grouped.update_one({"_id": "thing-1", "state": "free"}, {"$set": {"state": "taken"}}) is True
    assert grouped.update_one({"_id": "thing-1", "state": "free"}, {"$set": {"state": "taken"}}) is False
    assert db.commands == ["update", "update"]


def test_a_bad_update_is_its_callers_error_and_the_others_are_applied(db):
    answers = update_concurrently(GroupedUpdates(db.things), [
        ({"_id": "thing-1"}, {"$set": {"n": 1}}), ({"_id": "thing-2"}, {"$inc": {"state": 1}}),
        ({"_id": "thing-3"}, {"$set": {"n": 33}})])

    assert isinstance(answers[1], WriteError)
    assert answers[0] in (True, None) and answers[2] in (True, None)
    assert db.things.find_one({"_id": "thing-3"})["n"] == 33


def test_reports_racing_for_one_officer_in_one_group_give_him_to_exactly_one(db):
    store = DispatchStore(db)
    db.officers.insert_many([{"_id": nrp, "status": "available", "assignment_id": None, "cell": "c"}
                             for nrp in ("officer-a", "officer-b")])
    claims = [("officer-a", f"assignment-{i}") for i in range(8)] + [("officer-b", "assignment-b")]

    won = list(eventlet.GreenPool(len(claims)).imap(lambda claim: store.claim(*claim), claims))

    assert won[:8].count(True) == 1 and won[8] is True
    holder = db.officers.find_one({"_id": "officer-a"})["assignment_id"]
    assert won[:8].index(True) == int(holder.rsplit("-", 1)[1])
    assert db.commands.count("update") < len(claims)
