"""A duty officer cancels an open report from a console. No I/O.

Final, like resolved: no later assignment event moves it. The cancellation is stored on the report,
and report_cancelled is built from what was stored, under an id derived from the report: cancelling
again (or retrying after a crash between the write and the publish) republishes the very same event.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared import wilayah
from shared.envelope import derived_id
from shared.lifecycle import CANCELLED

CANCEL_REASON_LIMIT = 300  # ReportCancelledSchema.reason
CANCELLED_BY_LIMIT = 80  # ReportCancelledSchema.cancelled_by


def cancel_reason(reason: Any) -> str | None:
    """The reason, whitespace tidied; None when empty or too long."""
    text = " ".join(str(reason or "").split())
    return text if 0 < len(text) <= CANCEL_REASON_LIMIT else None


def cancellation(report: dict[str, Any], reason: str, by: str, now: datetime) -> dict[str, Any]:
    return {"reason": reason, "by": by, "at": now, "previous_status": report["status"]}


def was_cancelled(report: dict[str, Any]) -> bool:
    """Cancelled by a console (not a report dismissed on review, which is `cancelled` too)."""
    return report["status"] == CANCELLED and bool(report.get("cancellation"))


def cancelled_event_data(report: dict[str, Any]) -> dict[str, Any]:
    cancelled, village = report["cancellation"], (report.get("place") or {}).get("village_code")
    return {
        "report_id": report["_id"],
        "number": report["number"],
        "reason": cancelled["reason"],
        "cancelled_by": cancelled["by"],
        "at": cancelled["at"],
        "previous_status": cancelled.get("previous_status"),
        "village_code": village,
        "polsek": wilayah.district_code(village) if village else None,
    }


def cancel_event_id(report_id: str) -> str:
    return derived_id(f"{report_id}|cancel", "report_cancelled")
