"""dispatch: decides which officer goes to a report.

Consumes  reports.events   report_received
Publishes dispatch.events  assignment_created, assignment_escalated
"""
from services.dispatch import domain
from services.dispatch.storage import Dispatch
from shared.contract import ASSIGNMENT_CREATED, ASSIGNMENT_ESCALATED, REPORT_RECEIVED
from shared.envelope import Event, derived_id, utcnow
from shared.messaging import EventPublisher, handles


class DispatchService:
    name = "dispatch"

    dispatch = Dispatch()
    publish = EventPublisher()

    @handles(REPORT_RECEIVED)
    def handle_report_received(self, received: Event) -> None:
        """Claim the first free area officer, or hand the report to the Polsek duty desk."""
        report = received.data
        assignment_id = derived_id(received, "assignment")
        officers = self.dispatch.officers_for(domain.report_areas(report["place"]), domain.polsek_of(report["place"]))
        choice = domain.choose(report["place"], officers, assignment_id)
        for candidate in choice.candidates:
            if self.dispatch.claim(candidate.officer["_id"], assignment_id):
                assignment = self.dispatch.add_assignment(
                    domain.new_assignment(assignment_id, report, candidate, choice.skipped, utcnow()))
                self.publish(ASSIGNMENT_CREATED, domain.created_event_data(assignment), cause=received)
                return
            choice.skipped.append({"nrp": candidate.officer["_id"], "reason": "taken by another report meanwhile"})
        self.publish(ASSIGNMENT_ESCALATED, domain.escalation_event_data(report, choice), cause=received)
