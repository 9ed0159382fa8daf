"""Two dispatch replicas on one database: concurrent reports never give one officer two incidents."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest
from nameko.extensions import DependencyProvider

from services.dispatch.service import DispatchService
from tests.factories import create_report_received
from tests.factories.dispatch import (
    PATROL_FAJAR,
    PATROL_YOGA,
    create_officer,
    dispatch_store,
    load_demo_roster,
)

pytestmark = pytest.mark.integration

REPORTS = 30


class HandledReports(DependencyProvider):
    """Counts the reports one container handled, to show both replicas took part."""

    def setup(self):
        self.count = 0

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        if worker_ctx.entrypoint.method_name == "handle_report_received" and exc_info is None:
            self.count += 1


class ObservedDispatchService(DispatchService):
    handled = HandledReports()


def handled(container) -> int:
    return next(d for d in container.extensions if isinstance(d, HandledReports)).count


def test_two_replicas_handling_reports_at_once_never_give_one_officer_two_incidents(
        declared, mongo_client, db_names, container_factory, config_for, tap, publish_raw):
    now = datetime.now(timezone.utc)
    # Menteng RW05: its Polisi RW, the village's Bhabinkamtibmas, and three located patrol units nearby
    patrols = [create_officer(f"5100000{i}", lat=-6.1970 + i * 0.001, lon=106.8330, located_at=now.isoformat())
               for i in range(3)]
    store = load_demo_roster(dispatch_store(mongo_client, db_names),
                             only={"90120344", "75030412", "70010001", PATROL_YOGA, PATROL_FAJAR}, extra=patrols)
    store.update_location(PATROL_YOGA, -6.1950, 106.8320, now)  # Fajar stays unlocated: not a candidate
    free_officers = 6  # Polisi RW, Bhabinkamtibmas, Yoga and the three patrols (Fajar lacks the skills)
    outcomes = tap(("dispatch.events", "assignment_created"), ("dispatch.events", "assignment_escalated"))
    replicas = [container_factory(ObservedDispatchService, config_for("dispatch", max_workers=8)) for _ in range(2)]
    for replica in replicas:
        replica.start()

    for _ in range(REPORTS):
        publish_raw(create_report_received(), exchange="reports.events", routing_key="report_received")
    for n in range(REPORTS):
        outcomes.wait_for(lambda _: len(outcomes.seen) >= n + 1, timeout=60)

    created = [e for e in outcomes.seen if e["type"] == "assignment_created"]
    officers = Counter(e["data"]["officer"]["nrp"] for e in created)
    assert officers.most_common(1)[0][1] == 1, f"an officer got two incidents: {officers}"
    assert len(created) == free_officers and len(outcomes.seen) == REPORTS
    assert all(handled(replica) > 0 for replica in replicas), [handled(r) for r in replicas]
    db = mongo_client[db_names["dispatch"]]
    assert db.assignments.count_documents({"state": {"$ne": "escalated"}}) == free_officers
    assert db.assignments.count_documents({"state": "escalated"}) == REPORTS - free_officers  # decisions kept
    claimed = [o["assignment_id"] for o in db.officers.find({"assignment_id": {"$ne": None}})]
    assert len(claimed) == len(set(claimed)) == free_officers
