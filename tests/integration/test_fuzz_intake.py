"""Fuzzed bodies at the intake: no crashed worker, every message answered (report_* or a dead letter)."""
from __future__ import annotations

import time

import pytest

from services.reports.service import ReportsService
from testkit.fuzzing import answered_id, generate, unidentifiable_dead_letters
from tests.factories import create_incident, of_type

pytestmark = pytest.mark.integration

FUZZED = 250


def test_every_fuzzed_intake_message_is_answered_and_the_worker_survives(
        declared, amqp_uri, publish_raw, tap, container_factory, config_for, mongo_client, db_names):
    answers = tap(("reports.events", "#"))
    container = container_factory(ReportsService, config_for("reports"))
    container.start()
    messages = generate(FUZZED)
    for message in messages:
        publish_raw(message.body, content_type=message.content_type)
    expected = {m.id for m in messages if m.identifiable}
    deadline = time.monotonic() + 90
    while not expected <= {answered_id(e) for e in answers.seen} and time.monotonic() < deadline:
        answers.drain(idle=0.5)
    silent = expected - {answered_id(e) for e in answers.seen}
    # A low-confidence CCTV detection is held for a person without an event: stored, not lost.
    held = {r["origin"]["id"] for r in mongo_client[db_names["reports"]].reports.find(
        {"origin.id": {"$in": sorted(silent)}, "status": "needs_review"})}
    assert silent - held == set()
    assert unidentifiable_dead_letters(amqp_uri) == sum(not m.identifiable for m in messages)
    probe = create_incident()
    publish_raw(probe)  # the worker still takes ordinary work
    assert answers.wait_for(lambda e: of_type("report_received")(e) and e["causationid"] == probe["id"])
