"""Archiving without a database: which events may have had their document archived, and the sweep over
dispatch's in-memory store — what it selects, that it stops safely anywhere, and that a report_received
said again after its assignment was archived decides nothing anew."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.dispatch import usecases
from services.dispatch.settings import Settings
from shared import archive
from shared.archive import ArchiveSettings
from shared.contract import REPORT_RECEIVED, load_event
from shared.envelope import Event
from tests.factories import create_report_received
from tests.factories.dispatch import load_demo_roster
from tests.fakes.dispatch_store import FakeDispatchStore
from tests.fakes.publisher import Published

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)
MONTH = ArchiveSettings(after=timedelta(days=30), batch=2)
SETTINGS = Settings()


@pytest.mark.parametrize("said_ago, archived_maybe", [
    (timedelta(seconds=1), False),
    (timedelta(days=28), False),  # beyond the clock margin of a day
    (timedelta(days=29, hours=1), True),  # a sender's clock a day fast: its event may still be that old
    (timedelta(days=400), True),
])
def test_only_an_event_said_about_the_archive_age_ago_may_have_had_its_document_archived(said_ago, archived_maybe):
    assert archive.may_be_archived(NOW - said_ago, NOW, MONTH) is archived_maybe


def test_with_a_short_archive_age_the_clock_margin_is_half_of_it():
    seconds = ArchiveSettings(after=timedelta(seconds=10))
    assert not archive.may_be_archived(NOW - timedelta(seconds=4), NOW, seconds)
    assert archive.may_be_archived(NOW - timedelta(seconds=6), NOW, seconds)


def test_archiving_off_means_no_event_looks_in_an_archive_and_a_sweep_moves_nothing():
    off = ArchiveSettings(after=timedelta(0))
    assert not archive.may_be_archived(NOW - timedelta(days=1000), NOW, off)
    assert archive.sweep(FakeDispatchStore(), off, NOW) == {}


@pytest.fixture
def store():
    return load_demo_roster(FakeDispatchStore(SETTINGS))


def report_received(at: datetime) -> Event:
    """A report_received said at `at`."""
    return load_event(create_report_received(time=at.isoformat()), REPORT_RECEIVED)


def assigned(store, published: Published, at: datetime) -> str:
    usecases.assign_report(store, published, SETTINGS, at, report_received(at))
    return published.of("assignment_created")[-1]["assignment_id"]


def completed(store, published: Published, at: datetime) -> str:
    assignment_id = assigned(store, published, at)
    usecases.act(store, published, SETTINGS, at, assignment_id, "complete", "console", "selesai",
                 by_operator="piket.menteng")
    return assignment_id


def test_a_sweep_moves_assignments_ended_before_the_age_and_leaves_the_rest(store):
    published = Published()
    old = completed(store, published, NOW - timedelta(days=31))
    recent = completed(store, published, NOW - timedelta(days=2))
    waiting = assigned(store, published, NOW - timedelta(days=40))  # old, but its officer has not answered

    assert archive.sweep(store, MONTH, NOW) == {"assignments": 1}
    assert set(store.archived) == {old}
    assert {recent, waiting} <= set(store.assignments) and old not in store.assignments
    assert archive.sweep(store, MONTH, NOW) == {}  # nothing more is due


def test_a_sweep_moves_at_most_its_batch(store):
    published = Published()
    for _ in range(3):
        completed(store, published, NOW - timedelta(days=31))
    assert archive.sweep(store, MONTH, NOW) == {"assignments": 2}
    assert archive.sweep(store, MONTH, NOW) == {"assignments": 1}
    assert len(store.archived) == 3


class Crash(Exception):
    pass


class DiesAfterItsCopy(FakeDispatchStore):
    """A sweep's process killed between the copy and the delete."""

    dies = True

    def delete_archived(self, collection, documents):
        if self.dies:
            self.dies = False
            raise Crash()
        return super().delete_archived(collection, documents)


def test_a_sweep_that_died_after_its_copy_is_finished_by_the_next_with_one_copy_and_nothing_lost():
    store = load_demo_roster(DiesAfterItsCopy(SETTINGS))
    published = Published()
    old = completed(store, published, NOW - timedelta(days=31))
    with pytest.raises(Crash):
        archive.sweep(store, MONTH, NOW)
    assert old in store.assignments and old in store.archived  # in both: readers take the live one
    assert store.decision(old)["state"] == "completed"

    assert archive.sweep(store, MONTH, NOW) == {"assignments": 1}
    assert old not in store.assignments and store.archived[old]["state"] == "completed"
    assert archive.sweep(store, MONTH, NOW) == {}


def test_a_report_received_said_again_after_its_assignment_was_archived_claims_and_says_nothing(store):
    published = Published()
    event = report_received(NOW - timedelta(days=31))
    usecases.assign_report(store, published, SETTINGS, event.time, event)
    (created,) = published.of("assignment_created")
    usecases.act(store, published, SETTINGS, event.time, created["assignment_id"], "complete",
                 "console", "selesai", by_operator="piket.menteng")
    store.archive = MONTH
    archive.sweep(store, MONTH, NOW)
    published.clear()

    usecases.assign_report(store, published, SETTINGS, NOW, event)  # the same message, delivered again

    assert published == [] and store.assignments == {}
    assert not any(officer["assignment_id"] for officer in store.officers.values())


def test_a_fresh_report_received_never_looks_in_the_archive(store):
    class NoArchive(AssertionError):
        pass

    def archived_decision(decision_id):
        raise NoArchive(decision_id)

    store.archive = MONTH
    store.archived_decision = archived_decision
    published = Published()
    usecases.assign_report(store, published, SETTINGS, NOW, report_received(NOW))
    assert published.names() == ["assignment_created"]
