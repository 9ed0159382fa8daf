"""The refusals each service's RPCs may answer with, by name: what a caller may show a person.

Over RPC only an exception's type name and its message travel (nameko's RemoteError carries them
as `exc_type` and `value`), so a caller recognises a refusal by its name here, never by importing
the other service's exceptions. The services' own `exceptions` modules are checked against these
lists by a test.
"""
from __future__ import annotations

DISPATCH_REFUSALS: frozenset[str] = frozenset({
    "DispatchError", "AssignmentNotFound", "OfficerNotFound", "InvalidTransition", "NotAssignedOfficer",
    "InvalidOfficer", "OfficerOnAssignment", "OfficerNotFree",
})
REPORTS_REFUSALS: frozenset[str] = frozenset({
    "ReportsError", "ReportNotFound", "InvalidFilter", "NotUnderReview", "InvalidReview", "InvalidCancellation",
    "NotCancellable", "InvalidReveal",
})

COMMUNITY_REFUSALS: frozenset[str] = frozenset({
    "CommunityError", "Unclear", "NotYourArea", "OfficerUnknown", "InvalidInput", "NotFound", "AlertRefused",
    "AlertClosed",
})
