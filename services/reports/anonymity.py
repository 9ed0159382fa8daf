"""An anonymous reporter's contact data: sealed at intake, revealed only to a supervisor, for a reason, on record.

The rule lives here, once, at the door: `sealed` takes everything that identifies the reporter off an
anonymous report *before it is stored*. The report document is what every reader starts from — reports'
console RPCs, Open311's GET, report_received and duplicate_reported (and through them dispatch, notify, the
console's board and officers' SMS), the logs — so none of them can leak what it never holds, and no reader
has to remember a projection. What was taken off is kept in reports' own collection `sealed_contacts`,
which only `reveal_contact` reads, and only after writing the audit record of who asked, when and why.

A report that was not anonymous is untouched: its reporter chose to be contacted. No I/O.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.phones import normalise_phone

# What, in a source's `details`, names or reaches the person who reported: the 110 caller (and the call,
# which the 110 desk's records tie to the caller's number), the Siskamling guard, the Open311 user.
IDENTIFYING_DETAILS = ("caller_number", "call_id", "guard_on_duty", "guard_phone",
                       "email", "first_name", "last_name", "device_id", "account_id")
REASON_MIN, REASON_MAX = 15, 300


def sealed(report: dict[str, Any], reporter: dict[str, Any] | None,
           now: datetime) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the report as stored, its sealed contact or None): for an anonymous report, the name and phone
    its reporter gave and every identifying detail go to the sealed contact, and the report keeps none."""
    if not report["anonymous"]:
        return report | {"contact_sealed": False}, None
    details = report.get("source_details") or {}
    identifying = {key: value for key, value in details.items() if key in IDENTIFYING_DETAILS}
    given = _given_contact(reporter or {})
    if not identifying and not given:
        return report | {"contact_sealed": False}, None
    kept = {key: value for key, value in details.items() if key not in IDENTIFYING_DETAILS}
    contact = {"_id": report["_id"], "number": report["number"], "reporter": given, "details": identifying,
               "sealed_at": now}
    return report | {"source_details": kept, "reporter": None, "contact_sealed": True}, contact


def _given_contact(reporter: dict[str, Any]) -> dict[str, Any] | None:
    """The name and phone an anonymous reporter gave anyway (intake has checked the phone reads)."""
    name, phone = reporter.get("name") or None, reporter.get("phone") or None
    if not name and not phone:
        return None
    return {"name": name, "phone": normalise_phone(phone) if phone else None}


def reveal_reason(reason: Any) -> str | None:
    """The stated reason, whitespace tidied; None when it is too short to say anything or too long."""
    text = " ".join(str(reason or "").split())
    return text if REASON_MIN <= len(text) <= REASON_MAX else None


def reveal_record(report: dict[str, Any], contact: dict[str, Any] | None, reason: str, by: str,
                  polsek: str | None, record_id: str, now: datetime) -> dict[str, Any]:
    """The audit entry for a reveal: who, when, why, which report — never what was shown."""
    return {"_id": record_id, "report_id": report["_id"], "number": report["number"], "polsek": polsek,
            "by": by, "reason": reason, "at": now, "outcome": "revealed" if contact else "nothing_sealed"}


def revealed(report: dict[str, Any], contact: dict[str, Any] | None) -> dict[str, Any]:
    """What a supervisor sees: the sealed contact, or (for a report never anonymous) nothing more than the
    report already shows."""
    return {"report_id": report["_id"], "number": report["number"], "anonymous": report["anonymous"],
            "reporter": (contact or {}).get("reporter"), "details": (contact or {}).get("details") or {}}
