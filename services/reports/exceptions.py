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
