"""reports: incident intake. Every upstream message becomes one stored report or one rejection.

Consumes  intake.events    incident_reported
          community.events concern_reported (a visit's concern, a Siskamling post's SMS: taken in the same way),
                           visit_recorded (where and when, for the open figures' visits per RW)
          dead letters of handle_incident_reported (to answer the sender)
          dispatch.events  assignment_created, _acknowledged, _declined, _departed, _arrived,
                           _completed, _expired, _escalated (the report's lifecycle)
RPC       get_report, list_reports, review_report, cancel_report (consoles)
          reveal_contact, list_reveals (a console's supervisor: an anonymous reporter's contact, audited)
HTTP      Open311 GeoReport v2 under /open311/v2/ (WEB_SERVER_ADDRESS): services, services/{code},
          POST requests, GET requests, requests/{id}, tokens/{token} — .json or .xml
          open figures under /figures/: the page, and {polsek|village}/{code}/{YYYY-MM}[.json|.csv|.html]
Timer     sweep_unanswered_reports (every SWEEP.SECONDS): a report still received past its deadline is
          said to dispatch again (sweeps.py)
          archive_closed_reports (every ARCHIVE.SECONDS): closed reports received long ago move to
          reports_archive (shared/archive.py)
Publishes reports.events   report_received, report_rejected, duplicate_reported, report_cancelled
"""
import logging
import uuid
from dataclasses import replace

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.reports import anonymity, cancellation, domain, figures, figures_page, open311, sweeps
from services.reports.dependencies import IntakeSettingsProvider, PlacesProvider, http
from services.reports.exceptions import (
    InvalidCancellation,
    InvalidFilter,
    InvalidReveal,
    InvalidReview,
    NotCancellable,
    NotUnderReview,
    ReportNotFound,
)
from services.reports.intake import take_incident
from services.reports.lifecycle import LIVE_STATUSES, step_from
from services.reports.schemas import ReportFilterSchema, ReportViewSchema, RevealSchema
from services.reports.settings import Open311Settings, SweepSettings
from services.reports.storage import Reports
from shared import archive, wilayah
from shared.archive import ArchiveSettings
from shared.contract import (
    ASSIGNMENT_ACKNOWLEDGED,
    ASSIGNMENT_ARRIVED,
    ASSIGNMENT_COMPLETED,
    ASSIGNMENT_CREATED,
    ASSIGNMENT_DECLINED,
    ASSIGNMENT_DEPARTED,
    ASSIGNMENT_ESCALATED,
    ASSIGNMENT_EXPIRED,
    CONCERN_REPORTED,
    INCIDENT_REPORTED,
    REPORT_CANCELLED,
    REPORT_RECEIVED,
    REPORT_REJECTED,
    VISIT_RECORDED,
)
from shared.envelope import Event, derived_id, utcnow
from shared.messaging import DeadLetter, EventPublisher, handles, handles_dead_letters
from shared.metrics import Metrics
from shared.rpc import rpc
from shared.settings import SettingsProvider, every

log = logging.getLogger(__name__)

OPEN311 = "/open311/v2"
COMMUNITY = "community"  # the service that relays concerns: their rejections are addressed to it
FORMAT = "<any(json,xml):fmt>"
CONSOLE_ERRORS = (ReportNotFound, InvalidFilter, NotUnderReview, InvalidReview, InvalidCancellation, NotCancellable,
                  InvalidReveal)


class ReportsService:
    name = "reports"

    reports = Reports()
    rules = IntakeSettingsProvider()
    places = PlacesProvider()
    open311_settings = SettingsProvider(Open311Settings)
    sweep_settings = SettingsProvider(SweepSettings)
    publish = EventPublisher()
    metrics = Metrics()  # /metrics and /healthz on METRICS.ADDRESS (shared/metrics.py)

    # ------------------------------------------------------------ intake

    @handles(INCIDENT_REPORTED)
    def handle_incident_reported(self, incident: Event) -> None:
        """Store once and tell dispatch (or link to the open report it repeats); a redelivery
        republishes the same outcome event."""
        take_incident(incident, self.reports, self.rules, self.publish, self.places)

    @handles(CONCERN_REPORTED)
    def handle_concern_reported(self, concern: Event) -> None:
        """A concern raised on a visit (patrol_dialog) or a Siskamling post leader's SMS (siskamling), relayed by
        community: the same intake as an upstream app's incident."""
        take_incident(replace(concern, sender=COMMUNITY), self.reports, self.rules, self.publish, self.places)

    @handles(VISIT_RECORDED)
    def handle_visit_recorded(self, visit: Event) -> None:
        """Counted in the open figures (visits per RW): where and when only."""
        self.reports.record_visit(visit.data["visit_id"], visit.data["village_code"], visit.data.get("rw"),
                                  visit.data["visited_at"])

    @handles_dead_letters(INCIDENT_REPORTED, "handle_incident_reported")
    def handle_incident_dead_lettered(self, letter: DeadLetter) -> None:
        """A sender we can identify learns why its message could not be taken."""
        if letter.source and letter.id:
            data = (letter.document or {}).get("data")
            rejection = domain.dead_letter_rejection(letter.source, letter.id, letter.reasons, data,
                                                     self.rules, utcnow())
            self.publish(REPORT_REJECTED, rejection, to=letter.sender,
                         id=derived_id(f"{letter.source}|{letter.id}", REPORT_REJECTED.name))

    # ------------------------------------------------------------ lifecycle (from dispatch)

    @every(SweepSettings, "interval")
    def sweep_unanswered_reports(self) -> None:
        """A report dispatch never answered is said again (same id): its stored decision, or a fresh one."""
        sweeps.redrive_unanswered(self.reports, self.publish, self.sweep_settings, utcnow())

    @every(ArchiveSettings, "interval")
    def archive_closed_reports(self) -> None:
        """Closed reports received long ago leave the live collection; reads that answer for them look in both."""
        self.metrics.archived(archive.sweep(self.reports, self.reports.archive, utcnow()))

    @handles(ASSIGNMENT_CREATED)
    def handle_assignment_created(self, event: Event) -> None:
        """Record the step; an assignment for a report cancelled meanwhile gets report_cancelled again.

        Dispatch does not look for a cancellation before claiming (a read per report saved), so this
        is where a cancellation that overtook its report_received is caught: dispatch ends the
        assignment and frees the officer, notify stands the officer down. An archived report is read too
        (a late assignment for a report cancelled long ago), but no step is written to it."""
        step = step_from(event)
        if not self.reports.apply_step(step, LIVE_STATUSES, quiet=True, first=True):
            report = self.reports.get(step.report_id)
            self.reports.apply_step(step)
            if report is not None and cancellation.was_cancelled(report):
                self.publish_cancellation(report)

    @handles(ASSIGNMENT_ACKNOWLEDGED)
    def handle_assignment_acknowledged(self, event: Event) -> None:
        self.reports.apply_step(step_from(event))

    @handles(ASSIGNMENT_DECLINED)
    def handle_assignment_declined(self, event: Event) -> None:
        """The report waits for the next officer, unless a later assignment already took over."""
        self.reports.apply_step(step_from(event))

    @handles(ASSIGNMENT_DEPARTED)
    def handle_assignment_departed(self, event: Event) -> None:
        self.reports.apply_step(step_from(event))

    @handles(ASSIGNMENT_ARRIVED)
    def handle_assignment_arrived(self, event: Event) -> None:
        self.reports.apply_step(step_from(event))

    @handles(ASSIGNMENT_COMPLETED)
    def handle_assignment_completed(self, event: Event) -> None:
        self.reports.apply_step(step_from(event))

    @handles(ASSIGNMENT_EXPIRED)
    def handle_assignment_expired(self, event: Event) -> None:
        self.reports.apply_step(step_from(event))

    @handles(ASSIGNMENT_ESCALATED)
    def handle_assignment_escalated(self, event: Event) -> None:
        self.reports.apply_step(step_from(event))

    # ------------------------------------------------------------ consoles

    @rpc(expected_exceptions=CONSOLE_ERRORS)
    def get_report(self, report_id: str) -> dict:
        return ReportViewSchema().dump(self._report(report_id))

    @rpc(expected_exceptions=CONSOLE_ERRORS)
    def list_reports(self, **filters) -> list[dict]:
        """Newest first. Filters: status (one or a list), village_code, category (code or Bahasa
        synonym), received_from / received_until (ISO 8601), limit (≤ 1000)."""
        if isinstance(filters.get("status"), str):
            filters["status"] = [filters["status"]]
        errors = ReportFilterSchema().validate(filters)
        if errors:
            raise InvalidFilter(errors)
        loaded = ReportFilterSchema().load(filters)
        return ReportViewSchema(many=True).dump(self.reports.listed(loaded, loaded["limit"]))

    @rpc(expected_exceptions=CONSOLE_ERRORS)
    def review_report(self, report_id: str, decision: str, reviewer: str, note: str | None = None) -> dict:
        """A person decides on a report held for review (a low-confidence CCTV detection):
        `dispatch` sends it to dispatch as report_received, `dismiss` closes it."""
        if decision not in domain.REVIEW_DECISIONS or not reviewer:
            raise InvalidReview(f"decision must be one of {domain.REVIEW_DECISIONS} and reviewer is required")
        report = self._report(report_id)
        changes = domain.reviewed(report, decision, reviewer, note, utcnow())
        if not self.reports.review(report, changes):
            raise NotUnderReview(report_id, self.reports.get(report_id)["status"])
        if decision == "dispatch":
            self.publish(REPORT_RECEIVED, domain.received_event_data(report), id=domain.review_event_id(report_id),
                         correlationid=report_id)
        return ReportViewSchema().dump(report | changes)

    @rpc(expected_exceptions=CONSOLE_ERRORS)
    def cancel_report(self, report_id: str, reason: str, cancelled_by: str) -> dict:
        """A duty officer cancels an open report (final); dispatch ends its assignment on report_cancelled.
        Cancelling again changes nothing and republishes the same event (same id, same data)."""
        text, by = cancellation.cancel_reason(reason), str(cancelled_by or "").strip()
        if text is None or not 0 < len(by) <= cancellation.CANCELLED_BY_LIMIT:
            raise InvalidCancellation(f"give a reason (1 to {cancellation.CANCEL_REASON_LIMIT} characters) "
                                      f"and the operator who cancels (1 to {cancellation.CANCELLED_BY_LIMIT})")
        report = self._report(report_id)
        if not cancellation.was_cancelled(report):
            self.reports.cancel(report_id, cancellation.cancellation(report, text, by, utcnow()))
            report = self._report(report_id)  # as stored: this cancellation, or what closed it meanwhile
            if not cancellation.was_cancelled(report):
                raise NotCancellable(report_id, report["number"], report["status"])
        self.publish_cancellation(report)
        return ReportViewSchema().dump(report)

    @rpc(expected_exceptions=CONSOLE_ERRORS)
    def reveal_contact(self, report_id: str, reason: str, revealed_by: str) -> dict:
        """An anonymous reporter's sealed contact, for a supervisor (the console checks the role) with a
        stated reason; the audit record is written before anything is shown, so no reveal goes unrecorded."""
        text, by = anonymity.reveal_reason(reason), str(revealed_by or "").strip()
        if text is None or not 0 < len(by) <= cancellation.CANCELLED_BY_LIMIT:
            raise InvalidReveal(f"give a reason ({anonymity.REASON_MIN} to {anonymity.REASON_MAX} characters) "
                                "and the supervisor who reveals")
        report, contact = self._report(report_id), self.reports.sealed_contact(report_id)
        village = report["place"].get("village_code")
        self.reports.record_reveal(anonymity.reveal_record(
            report, contact, text, by, wilayah.district_code(village) if village else None, str(uuid.uuid4()),
            utcnow()))
        return anonymity.revealed(report, contact)

    @rpc(expected_exceptions=CONSOLE_ERRORS)
    def list_reveals(self, polseks: list[str], limit: int = 100) -> list[dict]:
        """The audit of reveals in these Polseks, newest first: who, when, why, which report."""
        return RevealSchema(many=True).dump(self.reports.reveals(list(polseks), max(1, min(int(limit), 1000))))

    def publish_cancellation(self, report: dict) -> None:
        """Always the same event (id and data), however often it is said."""
        self.publish(REPORT_CANCELLED, cancellation.cancelled_event_data(report),
                     id=cancellation.cancel_event_id(report["_id"]), correlationid=report["_id"])

    def _report(self, report_id: str) -> dict:
        report = self.reports.get(report_id)
        if report is None:
            raise ReportNotFound(report_id)
        return report

    # ------------------------------------------------------------ Open311 GeoReport v2

    @http("GET", f"{OPEN311}/services.{FORMAT}")
    def open311_services(self, request: Request, fmt: str) -> Response:
        return self._open311(fmt, lambda: ("services", open311.service_list()), request)

    @http("GET", f"{OPEN311}/services/<service_code>.{FORMAT}")
    def open311_service_definition(self, request: Request, service_code: str, fmt: str) -> Response:
        return self._open311(fmt, lambda: ("service_definition", open311.service_definition(service_code)), request)

    @http("POST", f"{OPEN311}/requests.{FORMAT}")
    def open311_post_request(self, request: Request, fmt: str) -> Response:
        """Same validation, duplicate check and events as every other source, answered at once."""
        def create():
            form = request.form.to_dict()
            client = open311.client_for(self.open311_settings, form.get("api_key"))
            incident = open311.incident_from_form(form, client, self.rules, utcnow())
            outcome = take_incident(incident, self.reports, self.rules, self.publish, self.places)
            if outcome.rejected:
                raise open311.Open311Error(400, open311.describe(outcome.explanations))
            return "service_requests", open311.post_response(outcome.report, form.get("account_id"))
        return self._open311(fmt, create, request)

    @http("GET", f"{OPEN311}/requests.{FORMAT}")
    def open311_requests(self, request: Request, fmt: str) -> Response:
        def find():
            query = open311.request_filters(request.args.to_dict(), utcnow(), self.open311_settings)
            return "service_requests", [open311.request_view(r) for r in self.reports.find(query, open311.MAX_REQUESTS)]
        return self._open311(fmt, find, request)

    @http("GET", f"{OPEN311}/requests/<service_request_id>.{FORMAT}")
    def open311_request(self, request: Request, service_request_id: str, fmt: str) -> Response:
        def find():
            report = self.reports.get(service_request_id)
            if report is not None and not open311.is_public(report, self.open311_settings) and open311.posted_by(
                    report, self.open311_settings, request.args.get("api_key")):
                return "service_requests", [open311.poster_view(report)]
            if report is None or not open311.is_public(report, self.open311_settings):
                raise open311.not_found("service_request_id")
            return "service_requests", [open311.request_view(report)]
        return self._open311(fmt, find, request)

    @http("GET", f"{OPEN311}/tokens/<token>.{FORMAT}")
    def open311_token(self, request: Request, token: str, fmt: str) -> Response:
        def find():
            report = self.reports.any_of(open311.token_report_ids(self.open311_settings, token))
            if report is None or report["source_kind"] != "open311":
                raise open311.not_found("token")
            return "service_requests", open311.token_view(report)
        return self._open311(fmt, find, request)

    def _open311(self, fmt: str, answer, request: Request) -> Response:
        """Every Open311 answer: the jurisdiction check, then the body or the spec's error list (a fixed
        500 for the unexpected, whose details go to the log only)."""
        try:
            open311.check_jurisdiction(self.open311_settings, request.values.get("jurisdiction_id"))
            root, body = answer()
            content_type, text = open311.render(fmt, root, body)
            return Response(text, status=200, content_type=content_type)
        except open311.Open311Error as error:
            content_type, text = open311.render_error(fmt, error)
            return Response(text, status=error.status, content_type=content_type)
        except Exception:
            log.exception("Open311 %s %s failed", request.method, request.path)
            error = open311.internal_error()
            content_type, text = open311.render_error(fmt, error)
            return Response(text, status=error.status, content_type=content_type)

    # ------------------------------------------------------------ open figures (figures.py)

    @http("GET", "/figures/")
    def figures_index(self, request: Request) -> Response:
        """The page's form lands here and is sent on to the area's page; without it, the bare page."""
        code, month = request.args.get("code", "").strip(), request.args.get("month", "").strip()
        if code and month and code.replace(".", "").isdigit() and month.replace("-", "").isdigit():
            return redirect(f"/figures/{figures.level_of(code)}/{code}/{month}", code=303)
        body = figures_page.page(None)
        return Response(body, status=200, headers=figures_page.headers("html", body.encode()))

    @http("GET", "/figures/<level>/<code>/<period>")
    def open_figures(self, request: Request, level: str, code: str, period: str) -> Response:
        """One Polsek's (with each of its villages) or one village's figures for a month, from stored reports."""
        fmt = "json"
        try:
            month_text, extension = figures_page.split_period(period)
            fmt = figures_page.negotiated(extension, request.accept_mimetypes)
            place = figures.area(level, code)
            when = figures.month(month_text, place, utcnow())
            reports = self.reports.received_in(list(figures.villages_of(place.polsek)), when.start, when.end,
                                               figures.NOT_COUNTED)
            visits = self.reports.visits_in(list(figures.villages_of(place.polsek)), when.start, when.end)
            answer = figures.figures(place, when, reports, self.open311_settings.hidden_categories, visits)
            body, status = figures_page.render(fmt, answer), 200
        except figures.FiguresError as error:
            body, status = figures_page.render_error(fmt, error), error.status
        headers = figures_page.headers(fmt, body, status)
        if status == 200 and request.if_none_match.contains(headers["ETag"].strip('"')):
            return Response(status=304, headers={k: headers[k] for k in ("ETag", "Cache-Control", "Vary")})
        return Response(body, status=status, headers=headers)
