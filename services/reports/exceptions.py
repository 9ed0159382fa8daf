"""Errors a caller of the reports service (a console) can see, each with a reason a person can read."""
from __future__ import annotations

from typing import Any


class ReportsError(Exception):
    """Base: `reason` is what the operator reads on the console."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ReportNotFound(ReportsError):
    def __init__(self, report_id: str):
        super().__init__(f"no report {report_id!r}: check the id (the full id, not the 6-character number)")


class InvalidFilter(ReportsError):
    """A list_reports filter that cannot be used; `reasons` names every bad field."""

    def __init__(self, reasons: dict[str, Any]):
        super().__init__("; ".join(f"{field}: {why}" for field, why in reasons.items()))
        self.reasons = reasons


class NotUnderReview(ReportsError):
    def __init__(self, report_id: str, status: str):
        super().__init__(f"report {report_id!r} is {status}, not waiting for review: nothing to decide")


class InvalidReview(ReportsError):
    """A review decision that is not one of the known ones, or has no reviewer."""


class InvalidCancellation(ReportsError):
    """A cancellation without a reason (or with one too long), or without the operator's name."""


class InvalidReveal(ReportsError):
    """A reveal of a reporter's contact without a real reason, or without the supervisor's name."""


class NotCancellable(ReportsError):
    """The report is already closed (resolved, a duplicate, dismissed) or not yet dispatched (under review)."""

    def __init__(self, report_id: str, number: str, status: str):
        hint = {
            "resolved": "it was already resolved by an officer",
            "duplicate": "it is a duplicate: cancel the report it repeats instead",
            "needs_review": "it is held for review: dismiss it with review_report instead",
            "cancelled": "it was already dismissed on review",
        }.get(status, f"it is {status}")
        super().__init__(f"report #{number} ({report_id}) cannot be cancelled: {hint}")
        self.status = status
