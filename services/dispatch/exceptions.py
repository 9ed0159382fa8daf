"""Errors a caller of dispatch (a console, an officer's SMS reply) can see, each with a reason a person can read."""
from __future__ import annotations

from typing import Any


class DispatchError(Exception):
    """Base: `reason` is what a duty officer reads on the console."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AssignmentNotFound(DispatchError):
    def __init__(self, assignment_id: str):
        super().__init__(f"no assignment {assignment_id!r}: check the id on the console")


class OfficerNotFound(DispatchError):
    def __init__(self, nrp: str):
        super().__init__(f"no officer with NRP {nrp!r} on the roster")


class InvalidTransition(DispatchError):
    """The action does not fit the assignment's state (e.g. acknowledging one that already expired)."""


class NotAssignedOfficer(DispatchError):
    """Someone other than the assigned officer answered for an assignment."""


class InvalidOfficer(DispatchError):
    """A roster entry (from a file or a console) that breaks the roster's rules; `reasons` per field."""

    def __init__(self, reasons: dict[str, Any]):
        super().__init__("; ".join(f"{field}: {why}" for field, why in reasons.items()))
        self.reasons = reasons


class OfficerOnAssignment(DispatchError):
    """An officer's status cannot be changed by hand while an assignment holds the officer."""


class OfficerNotFree(DispatchError):
    """A console named an officer by hand who is busy, off duty or not someone one can send."""
