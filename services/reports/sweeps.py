"""Convergence: a report that dispatch never answered is said to dispatch again.

Each step is idempotent and announced only once written, but an event or a write can still be lost
(a disk that lied, a restore from backup, a bug): a report would then stay `received` forever while
dispatch holds its assignment, or nobody was ever sent. Saying its report_received again, under the
id it first had, heals both: dispatch answers with the decision it stored (the same assignment_created
again) or, holding none, decides now. A healthy run finds nothing here.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from services.reports import domain
from services.reports.settings import SweepSettings
from services.reports.storage import ReportStore
from shared.contract import REPORT_RECEIVED

log = logging.getLogger(__name__)


def redrive_unanswered(reports: ReportStore, publish: Callable, settings: SweepSettings, now: datetime) -> list[str]:
    """The report numbers said again to dispatch."""
    stuck = reports.received_before(now - settings.received_deadline, settings.batch)
    for report in stuck:
        publish(REPORT_RECEIVED, domain.received_event_data(report), id=domain.received_event_id(report),
                correlationid=report["_id"])
    if stuck:
        log.warning("sweep: %d report(s) still received after %s, said to dispatch again: %s", len(stuck),
                    settings.received_deadline, ", ".join(report["number"] for report in stuck))
    return [report["number"] for report in stuck]
