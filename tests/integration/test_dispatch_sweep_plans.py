"""Every replica sweeps every SWEEP_SECONDS, and an assignment waits in `created` for as long as its officer
takes: a sweep query the server cannot bound by an index reads every waiting assignment, under the
embedded server's one lock, every time. A system that falls behind then makes each sweep dearer, and
falls further behind. So each query a sweep sends must be planned on an index."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pymongo import MongoClient, monitoring

from services.dispatch import usecases
from services.dispatch.settings import Settings
from shared.contract import REPORT_RECEIVED, load_event
from shared.envelope import utcnow
from tests.factories import create_report_received
from tests.factories.dispatch import dispatch_store, load_demo_roster
from tests.fakes.publisher import Published

pytestmark = pytest.mark.integration


class Finds(monitoring.CommandListener):
    def __init__(self):
        self.sent: list[dict] = []

    def started(self, event):
        if event.command_name == "find":
            self.sent.append({k: event.command[k] for k in ("find", "filter", "limit") if k in event.command})

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_every_query_of_a_sweep_is_planned_on_an_index(mongo_uri, db_names):
    finds = Finds()
    client = MongoClient(mongo_uri, event_listeners=[finds])
    try:
        store = load_demo_roster(dispatch_store(client, db_names))
        settings = Settings()
        now = utcnow()
        usecases.assign_report(store, Published(), settings, now, load_event(
            create_report_received(), REPORT_RECEIVED))  # one assignment waiting for its officer
        finds.sent.clear()

        usecases.expire_overdue(store, Published(), settings, now + timedelta(seconds=10))

        assert {f["find"] for f in finds.sent} == {"assignments"}
        for find in finds.sent:
            plan = json.dumps(store.db.command("explain", find, verbosity="queryPlanner")["queryPlanner"],
                              default=str)
            assert "COLLSCAN" not in plan and "IXSCAN" in plan, f"not bounded by an index: {find['filter']}"
    finally:
        client.close()
