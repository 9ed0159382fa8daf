"""console: the duty officer's web console — a live board, actions for officers who call in by radio,
the roster and a map — served by the service itself (no CDN, no map tiles).

Consumes  reports.events   report_received, duplicate_reported, report_cancelled
          dispatch.events  assignment_created, _acknowledged, _declined, _departed, _arrived, _completed,
                           _expired, _escalated                      → the board (its own read model)
HTTP      GET  /                      the page (static/), GET /static/<name>
          POST /api/login, /api/logout; GET /api/me
          GET  /api/board             the operator's board (JSON)
          GET  /api/board/stream      the same, live (server-sent events)
          GET  /api/officers          the roster (dispatch.list_officers)
          GET  /api/areas             the outlines of the operator's villages (the boundaries), for the map
          GET  /api/sms               the Polsek's SMS count and spend today and this month, against its budget
          POST /api/assignments/<id>/<action>   acknowledge, decline, en_route, on_scene, complete, reassign
          POST /api/reports/<id>/cancel         cancel a report (reports.cancel_report)
          POST /api/reports/<id>/send, /close   the duty desk on an escalated report: send an officer, or close it
          POST /api/reports/<id>/reveal         a supervisor sees an anonymous reporter's contact, for a reason
          GET  /api/reveals                     the record of such reveals (supervisor, auditor)
          GET  /api/community/coverage          each RW's last visit; RWs not visited lately stand out
          POST /api/community/visits, /visits/<id>/report, /rws   a visit entered for an officer; its concern
                                                reported; how many RWs a village has
          GET, POST /api/community/posts        Siskamling posts
          POST /api/community/alerts/preview, /alerts; GET /api/community/alerts; POST /alerts/<id>/cancel;
          GET  /api/community/alerts/<id>/cap.xml   community alerts: recipients x segments first, then issue
RPC out   dispatch: get_assignment, get_officer, list_officers and the action RPCs; reports: cancel_report,
          reveal_contact, list_reveals; notify: sms_spending; community: its console RPCs (each given the
          operator's Polseks)
Publishes nothing: every action is dispatch's (or, for a cancellation, reports') to decide and to announce.
Every action carries the operator of the session (never a name from the request), and the service that owns
the action stores it with it.
"""
from werkzeug.wrappers import Request

from services.console import domain, web
from services.console.board import changes_from
from services.console.dependencies import CommunityClient, DispatchClient, NotifyClient, ReportsClient
from services.console.exceptions import NotLoggedIn
from services.console.feed import BoardFeed
from services.console.settings import ConsoleSettings
from services.console.storage import ConsoleStorage
from services.console.web import http
from shared.boundaries import AtlasProvider
from shared.contract import (
    ASSIGNMENT_ACKNOWLEDGED,
    ASSIGNMENT_ARRIVED,
    ASSIGNMENT_COMPLETED,
    ASSIGNMENT_CREATED,
    ASSIGNMENT_DECLINED,
    ASSIGNMENT_DEPARTED,
    ASSIGNMENT_ESCALATED,
    ASSIGNMENT_EXPIRED,
    DUPLICATE_REPORTED,
    REPORT_CANCELLED,
    REPORT_RECEIVED,
)
from shared.envelope import Event, utcnow
from shared.messaging import handles
from shared.metrics import Metrics
from shared.outage import OutageStatus
from shared.settings import SettingsProvider


class ConsoleService:
    name = "console"

    settings = SettingsProvider(ConsoleSettings)
    store = ConsoleStorage()
    feed = BoardFeed()
    dispatch = DispatchClient()
    reports = ReportsClient()
    notify = NotifyClient()
    community = CommunityClient()
    files = web.static_files()
    atlas = AtlasProvider()
    outage = OutageStatus()
    metrics = Metrics()  # /metrics and /healthz on METRICS.ADDRESS (shared/metrics.py)

    # ------------------------------------------------------------ the board, from events

    @handles(REPORT_RECEIVED)
    def handle_report_received(self, event: Event) -> None:
        self.follow(event)

    @handles(DUPLICATE_REPORTED)
    def handle_duplicate_reported(self, event: Event) -> None:
        """The duplicate is closed; its original counts one more report of the same incident."""
        self.follow(event)

    @handles(REPORT_CANCELLED)
    def handle_report_cancelled(self, event: Event) -> None:
        """Final: the card closes as cancelled, whatever assignment events come after."""
        self.follow(event)

    @handles(ASSIGNMENT_CREATED)
    def handle_assignment_created(self, event: Event) -> None:
        self.follow(event)

    @handles(ASSIGNMENT_ACKNOWLEDGED)
    def handle_assignment_acknowledged(self, event: Event) -> None:
        self.follow(event)

    @handles(ASSIGNMENT_DECLINED)
    def handle_assignment_declined(self, event: Event) -> None:
        self.follow(event)

    @handles(ASSIGNMENT_DEPARTED)
    def handle_assignment_departed(self, event: Event) -> None:
        self.follow(event)

    @handles(ASSIGNMENT_ARRIVED)
    def handle_assignment_arrived(self, event: Event) -> None:
        self.follow(event)

    @handles(ASSIGNMENT_COMPLETED)
    def handle_assignment_completed(self, event: Event) -> None:
        self.follow(event)

    @handles(ASSIGNMENT_EXPIRED)
    def handle_assignment_expired(self, event: Event) -> None:
        self.follow(event)

    @handles(ASSIGNMENT_ESCALATED)
    def handle_assignment_escalated(self, event: Event) -> None:
        self.follow(event)

    # ------------------------------------------------------------ pages and login

    @http("GET", "/")
    def page(self, request: Request):
        return web.static_response(self.files, "index.html")

    @http("GET", "/static/<name>")
    def static(self, request: Request, name: str):
        return web.static_response(self.files, name)

    @http("GET", "/healthz")
    def health(self, request: Request):
        """503 while the database or broker is away (the console holds its messages meanwhile)."""
        status = self.outage()
        return web.json_response(status, status=200 if status["ok"] else 503)

    @http("POST", "/api/login")
    def log_in(self, request: Request):
        """Counted per client, account and device before the password is checked (domain.login_counters)."""
        body = web.json_body(request)
        username = str(body.get("username") or "").strip().lower()
        operator, token, session = self.store.log_in(username, str(body.get("password") or ""), utcnow(),
                                                     self.settings, web.client_of(request, self.settings),
                                                     web.device_token(request))
        device = self.store.remember_device(web.device_token(request), username, utcnow(), self.settings)
        response = web.with_session_cookie(web.json_response(self.profile(operator, session)), token,
                                           int(self.settings.session_hours * 3600), self.settings.cookie_secure)
        return web.with_device_cookie(response, device, int(self.settings.device_days * 86400),
                                      self.settings.cookie_secure)

    @http("POST", "/api/logout")
    def log_out(self, request: Request):
        self.store.log_out(web.session_token(request))
        return web.without_session_cookie(web.json_response({"ok": True}), self.settings.cookie_secure)

    @http("GET", "/api/me")
    def who_am_i(self, request: Request):
        """The page asks this first: not being logged in yet is an answer here, not an error."""
        try:
            session, operator = self.signed_in(request)
        except NotLoggedIn:
            return web.json_response({"logged_in": False})
        return web.json_response(self.profile(operator, session))

    # ------------------------------------------------------------ the board, the roster

    @http("GET", "/api/board")
    def board(self, request: Request):
        _, operator = self.signed_in(request)
        return web.json_response(web.board_payload(self.store.board(operator["polseks"], utcnow())))

    @http("GET", "/api/board/stream")
    def board_stream(self, request: Request):
        """Server-sent events: a snapshot, then each change within FEED_POLL_SECONDS of its write."""
        _, operator = self.signed_in(request)
        return web.event_stream(request, web.live_board(self.feed, web.session_token(request), operator["polseks"]))

    @http("GET", "/api/areas")
    def areas(self, request: Request):
        """The outlines of the operator's Polseks' villages, for the map (drawn in the page: no tiles)."""
        _, operator = self.signed_in(request)
        return web.json_response({"areas": domain.area_outlines(self.atlas, operator["polseks"])})

    @http("GET", "/api/sms")
    def sms_spending(self, request: Request):
        """The Polsek's SMS today and this month and its budget: a warning from 80%, and past 100% the reporters'
        updates notify holds."""
        _, operator = self.signed_in(request)
        polsek = domain.chosen_polsek(operator, request.args.get("polsek"))
        return web.json_response(self.notify("sms_spending", polsek))

    @http("GET", "/api/officers")
    def officers(self, request: Request):
        _, operator = self.signed_in(request)
        polsek = domain.chosen_polsek(operator, request.args.get("polsek"))
        roster = self.dispatch("list_officers", polsek, request.args.get("village") or None,
                               request.args.get("status") or None)
        return web.json_response({"polsek": polsek, "officers": roster})

    # ------------------------------------------------------------ actions for an officer on the radio

    @http("POST", "/api/assignments/<assignment_id>/<action>")
    def act(self, request: Request, assignment_id: str, action: str):
        """Checked here (own Polsek, CSRF, required notes), decided and announced by dispatch."""
        _, operator = self.signed_in(request, csrf=True)
        method, arguments = domain.action_call(action, web.json_body(request))
        domain.check_may_act(operator, self.dispatch("get_assignment", assignment_id))
        if action == "reassign":
            domain.check_may_send(operator, self.dispatch("get_officer", arguments[0]))
        return web.json_response(self.dispatch(method, assignment_id, *arguments, by_operator=operator["_id"]))

    @http("POST", "/api/reports/<report_id>/cancel")
    def cancel_report(self, request: Request, report_id: str):
        """Checked here (own Polsek from the board, CSRF, a reason), decided and announced by reports."""
        _, operator = self.signed_in(request, csrf=True)
        reason = domain.cancel_reason(web.json_body(request))
        domain.check_may_cancel(operator, self.store.entry(report_id))
        return web.json_response(self.reports("cancel_report", report_id, reason, operator["_id"]))

    @http("POST", "/api/reports/<report_id>/send")
    def send_officer(self, request: Request, report_id: str):
        """The duty desk sends a named free officer of its Polsek to an escalated report (dispatch claims him)."""
        _, operator = self.signed_in(request, csrf=True)
        nrp, reason = domain.desk_send(web.json_body(request))
        domain.check_may_cancel(operator, self.store.entry(report_id))
        domain.check_may_send(operator, self.dispatch("get_officer", nrp))
        return web.json_response(self.dispatch("send_officer_to_escalated_report", report_id, nrp, reason,
                                               by_operator=operator["_id"]))

    @http("POST", "/api/reports/<report_id>/close")
    def close_report(self, request: Request, report_id: str):
        """The duty desk handled an escalated report itself, with an outcome (dispatch says it as completed)."""
        _, operator = self.signed_in(request, csrf=True)
        outcome, note = domain.desk_close(web.json_body(request))
        domain.check_may_cancel(operator, self.store.entry(report_id))
        return web.json_response(self.dispatch("close_escalated_report", report_id, outcome, note,
                                               by_operator=operator["_id"]))

    @http("POST", "/api/reports/<report_id>/reveal")
    def reveal_contact(self, request: Request, report_id: str):
        """A supervisor of the report's Polsek, with a reason; reports records the reveal before it answers."""
        _, operator = self.signed_in(request, csrf=True)
        domain.check_may_reveal(operator, self.store.entry(report_id))
        reason = domain.reveal_reason(web.json_body(request))
        return web.json_response(self.reports("reveal_contact", report_id, reason, operator["_id"]))

    @http("GET", "/api/reveals")
    def reveals(self, request: Request):
        """Who saw which anonymous reporter's contact, when and why, in the operator's Polseks."""
        _, operator = self.signed_in(request)
        domain.check_may_read_reveals(operator)
        return web.json_response({"reveals": self.reports("list_reveals", operator["polseks"])})

    # ------------------------------------------------------------ community: visits, posts, alerts

    @http("GET", "/api/community/coverage")
    def coverage(self, request: Request):
        _, operator = self.signed_in(request)
        return web.json_response(self.community("get_coverage", domain.chosen_polsek(operator,
                                                                                     request.args.get("polsek"))))

    @http("POST", "/api/community/visits")
    def record_visit(self, request: Request):
        """For an officer of the operator's Polsek who called it in; community checks officer and place."""
        _, operator = self.signed_in(request, csrf=True)
        domain.check_may_act_in_community(operator)
        return web.json_response(self.community("record_visit", operator["polseks"], web.json_body(request),
                                                by_operator=operator["_id"]))

    @http("POST", "/api/community/visits/<visit_id>/report")
    def report_visit_concern(self, request: Request, visit_id: str):
        _, operator = self.signed_in(request, csrf=True)
        domain.check_may_act_in_community(operator)
        body = web.json_body(request)
        return web.json_response(self.community("report_visit_concern", operator["polseks"], visit_id,
                                                str(body.get("category") or ""), body.get("description")))

    @http("POST", "/api/community/rws")
    def set_village_rws(self, request: Request):
        _, operator = self.signed_in(request, csrf=True)
        domain.check_may_act_in_community(operator)
        body = web.json_body(request)
        return web.json_response(self.community("set_village_rws", operator["polseks"],
                                                str(body.get("village_code") or ""), body.get("rw_count")))

    @http("GET", "/api/community/posts")
    def posts(self, request: Request):
        _, operator = self.signed_in(request)
        polsek = domain.chosen_polsek(operator, request.args.get("polsek"))
        return web.json_response({"polsek": polsek, "posts": self.community("list_posts", polsek)})

    @http("POST", "/api/community/posts")
    def register_post(self, request: Request):
        _, operator = self.signed_in(request, csrf=True)
        domain.check_may_act_in_community(operator)
        return web.json_response(self.community("register_post", operator["polseks"], web.json_body(request),
                                                by_operator=operator["_id"]))

    @http("POST", "/api/community/alerts/preview")
    def preview_alert(self, request: Request):
        """Recipients x segments (and why it may not go) before anyone is sent anything."""
        _, operator = self.signed_in(request, csrf=True)
        return web.json_response(self.community("preview_alert", operator["polseks"], web.json_body(request)))

    @http("POST", "/api/community/alerts")
    def issue_alert(self, request: Request):
        _, operator = self.signed_in(request, csrf=True)
        domain.check_may_act_in_community(operator)
        return web.json_response(self.community("issue_alert", operator["polseks"], web.json_body(request),
                                                by_operator=operator["_id"]))

    @http("GET", "/api/community/alerts")
    def alerts(self, request: Request):
        _, operator = self.signed_in(request)
        polsek = domain.chosen_polsek(operator, request.args.get("polsek"))
        return web.json_response({"polsek": polsek, "alerts": self.community("list_alerts", polsek)})

    @http("POST", "/api/community/alerts/<alert_id>/cancel")
    def cancel_alert(self, request: Request, alert_id: str):
        _, operator = self.signed_in(request, csrf=True)
        domain.check_may_act_in_community(operator)
        reason = str(web.json_body(request).get("reason") or "")[:300] or None
        return web.json_response(self.community("cancel_alert", operator["polseks"], alert_id, reason,
                                                by_operator=operator["_id"]))

    @http("GET", "/api/community/alerts/<alert_id>/cap.xml")
    def alert_cap(self, request: Request, alert_id: str):
        """The alert as OASIS CAP 1.2 XML, for a CAP aggregator or an auditor."""
        _, operator = self.signed_in(request)
        return web.xml_response(self.community("get_alert_cap", operator["polseks"], alert_id))

    # ------------------------------------------------------------ helpers (not entrypoints)

    def follow(self, event: Event) -> None:
        for change in changes_from(event):
            self.store.apply(change, self.settings)

    def signed_in(self, request: Request, csrf: bool = False) -> tuple[dict, dict]:
        session, operator = self.store.session(web.session_token(request), utcnow())
        if csrf:
            web.check_csrf(request, session)
        return session, operator

    def profile(self, operator: dict, session: dict) -> dict:
        return {"logged_in": True, "username": operator["_id"], "name": operator.get("name") or operator["_id"],
                "role": domain.role_of(operator),
                "polseks": domain.polsek_directory(operator["polseks"]), "csrf": session["csrf"],
                "expires_at": session["expires_at"].isoformat()}
