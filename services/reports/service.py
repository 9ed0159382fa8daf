"""reports: incident intake. Every upstream message becomes one stored report or one rejection.

Consumes  intake.events   incident_reported
          dead letters of handle_incident_reported (to answer the sender)
Publishes reports.events  report_received, report_rejected
"""
from services.reports import domain
from services.reports.storage import Reports
from shared.contract import INCIDENT_REPORTED, REPORT_RECEIVED, REPORT_REJECTED
from shared.envelope import Event, derived_id, utcnow
from shared.messaging import DeadLetter, EventPublisher, handles, handles_dead_letters


class ReportsService:
    name = "reports"

    reports = Reports()
    publish = EventPublisher()

    @handles(INCIDENT_REPORTED)
    def handle_incident_reported(self, incident: Event) -> None:
        """Store once and tell dispatch; a redelivery republishes the same outcome event."""
        reasons = domain.rejection_reasons(incident.data)
        if reasons:
            self.publish(REPORT_REJECTED, domain.rejection(incident.source, incident.id, reasons, incident.data),
                         cause=incident)
            return
        report = self.reports.add(domain.new_report(incident, utcnow()))
        self.publish(REPORT_RECEIVED, domain.received_event_data(report),
                     cause=incident, correlationid=report["_id"])

    @handles_dead_letters(INCIDENT_REPORTED, "handle_incident_reported")
    def handle_incident_dead_lettered(self, letter: DeadLetter) -> None:
        """A sender we can identify learns why its message could not be taken."""
        if letter.source and letter.id:
            data = (letter.document or {}).get("data")
            self.publish(REPORT_REJECTED, domain.rejection(letter.source, letter.id, letter.reasons, data),
                         id=derived_id(f"{letter.source}|{letter.id}", REPORT_REJECTED.name))

