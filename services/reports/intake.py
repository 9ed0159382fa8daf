"""Taking one incident in: the same steps for an event from an upstream app and an Open311 POST.

validate, find the village → (rejected) | normalise → seal an anonymous reporter's contact → duplicate check →
store once → publish the stored outcome.
A redelivery finds the report stored the first time and republishes its outcome with the same id;
a crash after the insert is healed the same way (linking a duplicate to its original is idempotent).
An incident old enough for its report to have been archived is looked up there first: found, it was
taken and answered long ago, and nothing is said again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from services.reports import anonymity, dedup, domain
from services.reports.places import Locator
from services.reports.reasons import Explanation
from services.reports.settings import IntakeSettings
from services.reports.storage import ReportStore
from shared import archive
from shared.contract import DUPLICATE_REPORTED, REPORT_RECEIVED, REPORT_REJECTED
from shared.envelope import Event, utcnow
from shared.lifecycle import DUPLICATE, RECEIVED


@dataclass(frozen=True)
class Outcome:
    """rejected (with explanations), or the stored report (received, needs_review or duplicate)."""

    report: dict[str, Any] | None = None
    explanations: dict[str, Explanation] | None = None

    @property
    def rejected(self) -> bool:
        return self.report is None


def take_incident(incident: Event, reports: ReportStore, rules: IntakeSettings, publish: Callable,
                  places: Locator) -> Outcome:
    now = utcnow()
    explanations = domain.rejection_reasons(incident.data, rules, now)
    placed = places.locate(incident.data["location"], incident.data["source_kind"])
    explanations = explanations | placed.reasons
    if explanations:
        publish(REPORT_REJECTED, domain.rejection(incident.source, incident.id, explanations, incident.data),
                cause=incident, to=incident.sender)
        return Outcome(explanations=explanations)
    if archive.may_be_archived(incident.time, now, reports.archive) and (
            archived := reports.archived(domain.report_id_for(incident))):
        return Outcome(report=archived)
    report, contact = anonymity.sealed(domain.new_report(incident, rules, now, placed.fields),
                                       incident.data.get("reporter"), now)
    if contact:
        reports.seal(contact)  # before the report: no stored report ever lacks its sealed contact
    found = dedup.choose_original(report, reports.open_near(dedup.dedup_query(report, rules)), rules)
    if found:
        report = dedup.as_duplicate(report, *found)
    stored = reports.add(report)
    publish_outcome(stored, incident, reports, publish)
    return Outcome(report=stored)


def publish_outcome(report: dict[str, Any], cause: Event, reports: ReportStore, publish: Callable) -> None:
    """What intake decided for the stored report; one held for review tells nobody (until reviewed)."""
    if report["intake_status"] == DUPLICATE:
        reports.link_duplicate(report)
        publish(DUPLICATE_REPORTED, dedup.duplicate_event_data(report), cause=cause, correlationid=report["_id"])
    elif report["intake_status"] == RECEIVED:
        publish(REPORT_RECEIVED, domain.received_event_data(report), cause=cause, correlationid=report["_id"])
