"""community: the police among residents — visits (sambang, patroli dialogis) and the coverage of each RW,
Siskamling posts that report by SMS, and community alerts to the residents who consented.

Consumes  gateway.events   sms_received: the texts whose first word community owns (shared/sms_commands.py:
                           SAMBANG, LAPOR, DAFTAR, BERHENTI, BANTUAN); notify answers every other
          reports.events   report_rejected.community: a concern reports could not take (logged; a post leader
                           is told by notify, as that report's reporter)
Timer     send_due_alert_sms   the next alert SMS, at most COMMUNITY.ALERT_SMS_PER_SECOND (the gateway's pace)
RPC       record_visit, report_visit_concern, get_coverage, set_village_rws, register_post, list_posts,
          preview_alert, issue_alert, cancel_alert, list_alerts, get_alert_cap   (consoles: each call names
          the operator's Polseks and the operator, which the console takes from the session)
RPC out   dispatch: find_officer_by_phone, get_officer, list_officers (who an SMS came from; a Polsek's RWs)
Publishes community.events  visit_recorded, concern_reported (→ reports, like incident_reported),
          community_alert_issued, community_alert_cancelled (CAP 1.2-shaped), community_sms_requested (→ notify)
"""
import logging

from services.community import alerts, usecases
from services.community.dependencies import DispatchRoster
from services.community.exceptions import CommunityError
from services.community.settings import CommunitySettings
from services.community.storage import Community
from shared.contract import REPORT_REJECTED, SMS_RECEIVED
from shared.envelope import Event, utcnow
from shared.messaging import EventPublisher, handles
from shared.metrics import Metrics
from shared.rpc import rpc
from shared.settings import SettingsProvider, every
from shared.sms_pricing import SmsPrices

log = logging.getLogger(__name__)


class CommunityService:
    name = "community"

    store = Community()
    publish = EventPublisher()
    settings = SettingsProvider(CommunitySettings)
    prices = SettingsProvider(SmsPrices)
    roster = DispatchRoster()
    metrics = Metrics()  # /metrics and /healthz on METRICS.ADDRESS (shared/metrics.py)

    # ------------------------------------------------------------ SMS from phones

    @handles(SMS_RECEIVED)
    def handle_sms_received(self, inbound: Event) -> None:
        """An officer's visit, a post leader's report, a resident's consent or its end; each answered by SMS."""
        usecases.answer_sms(inbound, self.store, self.publish, self.roster, self.settings, utcnow())

    @handles(REPORT_REJECTED, to=name)
    def handle_report_rejected(self, rejected: Event) -> None:
        """Community checks a concern before it says it, so this is a defect to look into: logged loudly."""
        log.error("reports rejected concern %s: %s", rejected.data["original"]["id"], rejected.data["reasons"])

    @every(CommunitySettings, "alert_tick_seconds")
    def send_due_alert_sms(self) -> None:
        """Runs on every replica; the database decides which one hands each SMS over."""
        usecases.send_due_alert_sms(self.store, self.publish, self.settings, utcnow())

    # ------------------------------------------------------------ visits and coverage (consoles)

    @rpc(expected_exceptions=CommunityError)
    def record_visit(self, polseks: list[str], entry: dict, *, by_operator: str) -> dict:
        """A visit entered on the console for an officer of the operator's Polsek (same rules as by SMS)."""
        return usecases.visit_by_console(self.store, self.publish, self.roster, utcnow(), polseks, entry, by_operator)

    @rpc(expected_exceptions=CommunityError)
    def report_visit_concern(self, polseks: list[str], visit_id: str, category: str,
                             description: str | None = None) -> dict:
        """A visit's concern reported as an incident (source patrol_dialog); once per visit."""
        return usecases.report_concern(self.store, self.publish, utcnow(), polseks, visit_id, category, description)

    @rpc(expected_exceptions=CommunityError)
    def get_coverage(self, polsek: str) -> dict:
        return usecases.coverage(self.store, self.roster, self.settings, utcnow(), polsek)

    @rpc(expected_exceptions=CommunityError)
    def set_village_rws(self, polseks: list[str], village_code: str, rw_count: int) -> dict:
        return usecases.set_rws(self.store, polseks, village_code, rw_count)

    # ------------------------------------------------------------ Siskamling posts

    @rpc(expected_exceptions=CommunityError)
    def register_post(self, polseks: list[str], entry: dict, *, by_operator: str) -> dict:
        return usecases.register_post(self.store, utcnow(), polseks, entry, by_operator)

    @rpc(expected_exceptions=CommunityError)
    def list_posts(self, polsek: str) -> list[dict]:
        return [usecases.post_view(post) for post in self.store.posts_of(polsek)]

    # ------------------------------------------------------------ community alerts

    @rpc(expected_exceptions=CommunityError)
    def preview_alert(self, polseks: list[str], entry: dict) -> dict:
        """Recipients × segments × price, and the reason it may not go, before anyone is sent anything."""
        return usecases.preview_alert(self.store, self.settings, self.prices, utcnow(), polseks, entry)

    @rpc(expected_exceptions=CommunityError)
    def issue_alert(self, polseks: list[str], entry: dict, *, by_operator: str) -> dict:
        return usecases.issue_alert(self.store, self.publish, self.settings, utcnow(), polseks, entry, by_operator)

    @rpc(expected_exceptions=CommunityError)
    def cancel_alert(self, polseks: list[str], alert_id: str, reason: str | None = None, *, by_operator: str) -> dict:
        return usecases.cancel_alert(self.store, self.publish, utcnow(), polseks, alert_id, reason, by_operator)

    @rpc(expected_exceptions=CommunityError)
    def list_alerts(self, polsek: str) -> list[dict]:
        return [alerts.alert_view(alert) for alert in self.store.alerts_of(polsek)]

    @rpc(expected_exceptions=CommunityError)
    def get_alert_cap(self, polseks: list[str], alert_id: str) -> str:
        """The alert as an OASIS CAP 1.2 XML document."""
        return usecases.alert_cap_xml(self.store, self.settings, polseks, alert_id)
