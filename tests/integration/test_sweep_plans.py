"""Every replica of a service sweeps on a timer, and what a sweep looks for (an assignment waiting for its
officer, an SMS waiting for its receipt, a report waiting for dispatch) piles up when the system falls
behind: a sweep query the server cannot bound by an index reads all of it, under the embedded server's one
lock, every time. A system behind then makes each sweep dearer, and falls further behind (seen in the soak:
dispatch's reannounce sweep). So each query a sweep sends must be planned on an index."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from services.community import usecases as community
from services.community.settings import CommunitySettings
from services.community.storage import CommunityStore
from services.dispatch import usecases
from services.dispatch.settings import Settings
from services.notify.storage import NotificationStore
from services.reports.storage import ReportStore
from shared.contract import REPORT_RECEIVED, load_event
from shared.envelope import utcnow
from tests.factories import FindCommands, create_report_received
from tests.factories.dispatch import dispatch_store, load_demo_roster
from tests.fakes.publisher import Published

pytestmark = pytest.mark.integration


def dispatch_sweeps(client, db_names, now: datetime, finds: FindCommands) -> Database:
    store = load_demo_roster(dispatch_store(client, db_names))
    usecases.assign_report(store, Published(), Settings(), now, load_event(create_report_received(), REPORT_RECEIVED))
    finds.sent.clear()  # what the sweeps send, not what set them up
    usecases.expire_overdue(store, Published(), Settings(), now + timedelta(seconds=10))
    store.archivable(now, 200)
    return store.db


def notify_sweeps(client, db_names, now: datetime, finds: FindCommands) -> Database:
    store = NotificationStore(client[db_names["notify"]])
    store.ensure_indexes()
    store.due(now)
    store.archivable(now, 200)
    return store.db


def reports_sweeps(client, db_names, now: datetime, finds: FindCommands) -> Database:
    store = ReportStore(client[db_names["reports"]])
    store.ensure_indexes()
    store.received_before(now, 200)
    store.archivable(now, 200)
    return store.db


def community_sweeps(client, db_names, now: datetime, finds: FindCommands) -> Database:
    store = CommunityStore(client[db_names["community"]])
    store.ensure_indexes()
    community.send_due_alert_sms(store, Published(), CommunitySettings(), now)
    store.pending("an-alert", 10)
    return store.db


@pytest.mark.parametrize("sweeps", [dispatch_sweeps, notify_sweeps, reports_sweeps, community_sweeps])
def test_every_query_of_a_sweep_is_planned_on_an_index(mongo_uri, db_names, sweeps):
    finds = FindCommands()
    client = MongoClient(mongo_uri, event_listeners=[finds], tz_aware=True)
    try:
        database = sweeps(client, db_names, utcnow(), finds)
        assert finds.sent
        for sent in finds.sent:
            find = {k: sent[k] for k in ("find", "filter", "sort", "limit") if k in sent}
            plan = json.dumps(database.command("explain", find, verbosity="queryPlanner")["queryPlanner"], default=str)
            assert "COLLSCAN" not in plan and "IXSCAN" in plan, f"not bounded by an index: {find}"
    finally:
        client.close()
