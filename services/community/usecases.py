"""community's use cases: plain functions of (store, publish, roster, settings, now) that a unit test can run
with an in-memory store. The rules are in `commands`, `visits` and `alerts`; the texts in `texts`."""
from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from services.community import alerts, cap, commands, texts, visits
from services.community.dependencies import Roster
from services.community.exceptions import AlertClosed, InvalidInput, NotFound, NotYourArea, OfficerUnknown, Unclear
from services.community.settings import CommunitySettings
from services.community.storage import CommunityStore
from shared import sms_commands, wilayah
from shared.contract import (
    COMMUNITY_ALERT_CANCELLED,
    COMMUNITY_ALERT_ISSUED,
    COMMUNITY_SMS_REQUESTED,
    CONCERN_REPORTED,
    VISIT_RECORDED,
)
from shared.envelope import Event, derived_id, to_millisecond
from shared.phones import mask_phone, normalise_phone
from shared.sms_pricing import SmsPrices, sms_price

log = logging.getLogger(__name__)
SERVICE = "community"
REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# ---------------------------------------------------------------- inbound SMS

class Sms:
    """Answers one inbound SMS: every reply's id follows from it, so a redelivery says the same again."""

    def __init__(self, inbound: Event, phone: str, store: CommunityStore, publish: Callable, roster: Roster,
                 settings: CommunitySettings, now: datetime):
        self.inbound, self.phone, self.store, self.publish = inbound, phone, store, publish
        self.roster, self.settings, self.now = roster, settings, now

    def reply(self, template: texts.Template, priority: str = "P4", **values: Any) -> None:
        self.send(template, derived_id(self.inbound, "community_sms", self.phone), priority, **values)

    def help(self, template: texts.Template) -> None:
        """At most one help text per sender and kind per interval: an auto-responder cannot start a ping-pong."""
        interval = self.settings.help_interval
        bucket = int(self.now.timestamp() // interval) if interval > 0 else self.inbound.id
        self.send(template, derived_id(f"help|{self.phone}|{template.name}|{bucket}", "community_sms", self.phone))

    def send(self, template: texts.Template, sms_id: str, priority: str = "P4", **values: Any) -> None:
        log.info("answering %s with %s", mask_phone(self.phone), template.name)
        data = {"sms_id": sms_id, "to": self.phone, "text": texts.render(template, **values), "kind": template.name,
                "recipient_role": template.role, "priority": priority}
        self.publish(COMMUNITY_SMS_REQUESTED, data, id=derived_id(sms_id, COMMUNITY_SMS_REQUESTED.name),
                     cause=self.inbound)


def answer_sms(inbound: Event, store: CommunityStore, publish: Callable, roster: Roster,
               settings: CommunitySettings, now: datetime) -> None:
    """A community command (SAMBANG, LAPOR, DAFTAR, BERHENTI, BANTUAN) from a phone; notify answers the rest."""
    command = sms_commands.parse(inbound.data["text"])
    if command is None or sms_commands.COMMANDS[command.word][0] != SERVICE:
        return
    try:
        phone = normalise_phone(inbound.data["sender"])
    except ValueError:
        log.warning("inbound SMS %s from a sender that is no phone number: no reply", inbound.id)
        return
    sms = Sms(inbound, phone, store, publish, roster, settings, now)
    {"SAMBANG": visit_by_sms, "LAPOR": post_report_by_sms, "DAFTAR": subscribe_by_sms,
     "BERHENTI": unsubscribe_by_sms, "BANTUAN": help_by_sms}[command.word](sms, command.rest)


def visit_by_sms(sms: Sms, rest: str) -> None:
    officer = sms.roster.by_phone(sms.phone)
    if officer is None:
        return sms.help(texts.OFFICERS_ONLY)
    try:
        command = commands.read_visit(rest)
        village, rw = visits.place_of_visit(command.area, officer)
    except NotYourArea as refused:
        return sms.reply(texts.VISIT_NOT_YOURS, area=texts.area_text(refused.village, refused.rw))
    except Unclear:
        return sms.help(texts.VISIT_HELP)
    visit = visits.new_visit(derived_id(sms.inbound, "visit"), officer, village, rw, command.place_kind,
                             command.concerns, sms.inbound.data["at"], "sms", officer["nrp"])
    report = (command.category, command.description) if command.report else None
    visit = record_visit(sms.store, sms.publish, visit, report, sms.now)
    values = {"number": visit["number"], "place": texts.PLACE_NAMES[visit["place_kind"]],
              "area": texts.area_text(visit["village_code"], visit.get("rw"))}
    if visit.get("report"):
        sms.reply(texts.VISIT_REPORTED, category=texts.CATEGORY_NAMES[visit["report"]["category"]], **values)
    else:
        sms.reply(texts.VISIT_RECORDED, time=texts.local_time(visit["visited_at"], visit["village_code"]),
                  concerns=visit["concerns"] or "-", **values)


def post_report_by_sms(sms: Sms, rest: str) -> None:
    """A registered post leader's report becomes an incident at the post's place; reports answers him (with
    the report's number) as its reporter. Anyone else learns how to register a post."""
    post = sms.store.post_of_phone(sms.phone)
    if post is None:
        if sms.roster.by_phone(sms.phone) is not None:
            return sms.help(texts.VISIT_HELP)
        return sms.help(texts.NOT_A_POST)
    try:
        report = commands.read_post_report(rest)
    except Unclear:
        return sms.help(texts.POST_HELP)
    incident = visits.post_incident(post, report.category, report.description)
    sms.publish(CONCERN_REPORTED, incident, cause=sms.inbound)


def subscribe_by_sms(sms: Sms, rest: str) -> None:
    try:
        area = commands.read_subscription(rest).area
    except Unclear:
        return sms.help(texts.SUBSCRIBE_HELP)
    village, rw = area.village_code, area.rw
    wording = alerts.consent_wording(texts.area_text(village, rw), wilayah.district_code(village))
    entry = alerts.consent_entry(derived_id(sms.inbound, "consent"), sms.phone, "given", village, rw,
                                 sms.inbound.data["at"], wording, sms.inbound.data["text"], sms.inbound.id)
    subscriber = {"_id": sms.phone, "village_code": village, "rw": rw, "district": wilayah.district_code(village),
                  "active": True, "consented_at": entry["at"], "wording": wording, "consent_id": entry["_id"]}
    sms.store.record_consent(entry, subscriber)
    sms.send(texts.SUBSCRIBED, derived_id(sms.inbound, "community_sms", sms.phone), "P4",
             area=texts.area_text(village, rw), polsek=texts.short_polsek(wilayah.district_code(village)))


def unsubscribe_by_sms(sms: Sms, rest: str) -> None:
    """The consent ends at once; its record (and this revocation's) stays."""
    subscriber, entry_id = sms.store.subscriber(sms.phone), derived_id(sms.inbound, "consent")
    if subscriber is None or not (subscriber.get("active") or sms.store.consent_recorded(entry_id)):
        return sms.help(texts.NOT_SUBSCRIBED)
    wording = texts.render(texts.UNSUBSCRIBED)
    entry = alerts.consent_entry(entry_id, sms.phone, "revoked",
                                 subscriber.get("village_code"), subscriber.get("rw"), sms.inbound.data["at"],
                                 wording, sms.inbound.data["text"], sms.inbound.id)
    sms.store.record_consent(entry, None)
    sms.reply(texts.UNSUBSCRIBED)


def help_by_sms(sms: Sms, rest: str) -> None:
    if sms.store.post_of_phone(sms.phone) is not None:
        return sms.help(texts.POST_HELP)
    if sms.roster.by_phone(sms.phone) is not None:
        return sms.help(texts.VISIT_HELP)
    sms.help(texts.HELP)


# ---------------------------------------------------------------- visits

def record_visit(store: CommunityStore, publish: Callable, visit: dict[str, Any],
                 report: tuple[str | None, str] | None, now: datetime) -> dict[str, Any]:
    """Store once; a concern to report is said once (its id follows from the visit); then the visit itself.
    A redelivery finds both stored and says the same events again."""
    visit, _ = store.add_visit(visit)
    if report is not None and visit.get("report") is None:
        category, description = report
        visit = store.mark_reported(visit["_id"], visits.concern_report(visit, category or "other", description,
                                                                         now))
    publish_visit(publish, visit)
    return visit


def publish_visit(publish: Callable, visit: Mapping[str, Any]) -> None:
    if visit.get("report"):
        publish(CONCERN_REPORTED, visits.concern_incident(visit), id=visit["report"]["event_id"],
                correlationid=visit["_id"])
    publish(VISIT_RECORDED, visits.visit_event_data(visit), id=visits.visit_event_id(visit["_id"]),
            correlationid=visit["_id"])


def visit_by_console(store: CommunityStore, publish: Callable, roster: Roster, now: datetime, polseks: list[str],
                     entry: Mapping[str, Any], by_operator: str) -> dict[str, Any]:
    """A duty officer enters a visit an officer made (by radio, on paper); same rules as by SMS."""
    officer = roster.officer(str(entry.get("nrp") or ""))
    if officer is None or officer["polsek"] not in polseks:
        raise OfficerUnknown("Petugas tidak ada di daftar personel Polsek Anda.")
    try:
        rw = int(entry["rw"]) if entry.get("rw") not in (None, "") else None
    except (TypeError, ValueError):
        raise InvalidInput("Nomor RW harus angka.") from None
    area = commands.Area(entry.get("village_code") or None, rw)
    village, rw = visits.place_of_visit(area, officer)
    kind = str(entry.get("place_kind") or "")
    if kind not in texts.PLACE_NAMES:
        raise InvalidInput(f"Jenis tempat: salah satu dari {', '.join(texts.PLACE_NAMES)}.")
    visit_id = derived_id(f"console|{by_operator}|{request_id(entry)}", "visit")
    visit = visits.new_visit(visit_id, officer, village, rw, kind, str(entry.get("concerns") or ""), now, "console",
                             by_operator)
    report = (entry.get("category") or None, str(entry.get("concerns") or "")) if entry.get("report") else None
    if report and report[0] and report[0] not in commands.CATEGORY_WORDS.values():
        raise InvalidInput("Kategori laporan tidak dikenal.")
    return visit_view(record_visit(store, publish, visit, report, now))


def report_concern(store: CommunityStore, publish: Callable, now: datetime, polseks: list[str], visit_id: str,
                   category: str, description: str | None) -> dict[str, Any]:
    """A concern of an earlier visit turned into a report from the console: once per visit."""
    visit = store.visit(visit_id)
    if visit is None or visit["polsek"] not in polseks:
        raise NotFound("Kunjungan tidak ditemukan di Polsek Anda.")
    if category not in commands.CATEGORY_WORDS.values():
        raise InvalidInput("Kategori laporan tidak dikenal.")
    if visit.get("report") is None:
        visit = store.mark_reported(visit_id, visits.concern_report(visit, category, description, now))
    publish_visit(publish, visit)
    return visit_view(visit)


def request_id(entry: Mapping[str, Any]) -> str:
    """The id a console gives one form it sent (a double click, a retry: one visit, one alert); new without."""
    given = entry.get("request_id")
    if not given:
        return str(uuid.uuid4())
    if not REQUEST_ID.fullmatch(str(given)):
        raise InvalidInput("request_id: sebuah UUID.")
    return str(given)


def visit_view(visit: Mapping[str, Any]) -> dict[str, Any]:
    return visits.visit_event_data(visit) | {"report": visit.get("report")}


def coverage(store: CommunityStore, roster: Roster, settings: CommunitySettings, now: datetime,
             polsek: str) -> dict[str, Any]:
    villages = villages_of(polsek)
    recent = store.coverage_visits(polsek, now)
    rws = visits.known_rws(villages, store.rw_counts(polsek), roster.areas_of(polsek), store.posts_of(polsek), recent)
    return visits.coverage(polsek, rws, recent, now, settings.stale_days)


def villages_of(polsek: str) -> list[str]:
    prefix = polsek + "."
    return sorted(code for code in wilayah.names() if code.startswith(prefix) and wilayah.VILLAGE_CODE.match(code))


def set_rws(store: CommunityStore, polseks: list[str], village: str, count: Any) -> dict[str, Any]:
    if not wilayah.village_exists(str(village)) or wilayah.district_code(village) not in polseks:
        raise InvalidInput("Kelurahan/desa bukan wilayah Polsek Anda.")
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise InvalidInput("Jumlah RW harus angka.") from None
    if not 0 <= count <= 999:
        raise InvalidInput("Jumlah RW 0 sampai 999.")
    store.set_rw_count(village, wilayah.district_code(village), count)
    return {"village_code": village, "rw_count": count}


# ---------------------------------------------------------------- Siskamling posts

def register_post(store: CommunityStore, now: datetime, polseks: list[str], entry: Mapping[str, Any],
                  by_operator: str) -> dict[str, Any]:
    name = " ".join(str(entry.get("name") or "").split())[:60]
    village = str(entry.get("village_code") or "")
    if not name:
        raise InvalidInput("Nama pos wajib diisi.")
    if not wilayah.village_exists(village) or wilayah.district_code(village) not in polseks:
        raise InvalidInput("Kelurahan/desa pos bukan wilayah Polsek Anda.")
    try:
        rw = int(entry["rw"]) if entry.get("rw") not in (None, "") else None
        phone = normalise_phone(str(entry.get("leader_phone") or ""))
    except ValueError:
        raise InvalidInput("Nomor RW atau nomor HP ketua pos tidak valid.") from None
    post = {"_id": str(uuid.uuid4()), "name": name, "polsek": wilayah.district_code(village), "village_code": village,
            "rw": rw, "leader_name": " ".join(str(entry.get("leader_name") or "").split())[:100] or None,
            "leader_phone": phone, "registered_at": to_millisecond(now), "registered_by": by_operator}
    stored = store.add_post(post)
    if stored is None:
        raise InvalidInput("Nomor HP ini sudah terdaftar sebagai ketua pos di Polsek lain.")
    return post_view(stored)


def post_view(post: Mapping[str, Any]) -> dict[str, Any]:
    """For the Polsek's own console: the leader's phone masked, as a log shows it."""
    return {"post_id": post["_id"], "name": post["name"], "village_code": post["village_code"],
            "village_name": wilayah.village_name(post["village_code"]), "rw": post.get("rw"),
            "leader_name": post.get("leader_name"), "leader_phone": mask_phone(post["leader_phone"]),
            "registered_at": post.get("registered_at")}


# ---------------------------------------------------------------- alerts

def draft_alert(store: CommunityStore, settings: CommunitySettings, now: datetime, polseks: list[str],
                entry: Mapping[str, Any]) -> tuple[alerts.AlertArea, dict[str, str], dict[str, Any], list, datetime]:
    area = alerts.alert_area(str(entry.get("area_kind") or ""), entry.get("area_code"), entry.get("rw"), polseks)
    choices = alerts.alert_choices(str(entry.get("category") or ""), str(entry.get("urgency") or ""),
                                   entry.get("severity"), entry.get("certainty"))
    message = alerts.alert_sms(area, str(entry.get("text") or ""))
    expires_at = alerts.expiry(now, entry.get("expires_minutes"), settings.alert_max_hours)
    found = alerts.recipients(area, store.subscribers_in(area.district), store.posts_of(area.district))
    return area, choices, message, found, expires_at


def preview_alert(store: CommunityStore, settings: CommunitySettings, prices: SmsPrices, now: datetime,
                  polseks: list[str], entry: Mapping[str, Any]) -> dict[str, Any]:
    """What sending would take before anyone is sent anything: recipients × segments × price, and whether it
    may go. Each recipient's SMS is priced by its operator (shared/sms_pricing.py), as notify records it."""
    area, _, message, found, expires_at = draft_alert(store, settings, now, polseks, entry)
    residents = sum(1 for r in found if r["as"] == "resident")
    by_operator: dict[str, dict[str, Any]] = {}
    for recipient in found:
        priced = sms_price(recipient["to"], message["segments"], prices)
        row = by_operator.setdefault(str(priced["operator"]), {"sms": 0, "price": 0.0})
        row["sms"] += message["segments"]
        row["price"] = round(row["price"] + float(priced["price"]), 2)
    return {"area": {"kind": area.kind, "code": area.code, "text": area.text}, "sms_text": message["text"],
            "encoding": message["encoding"], "length": message["length"], "room": message["room"],
            "segments": message["segments"], "refusal": message["refusal"],
            "recipients": {"residents": residents, "posts": len(found) - residents, "total": len(found)},
            "sms_total": len(found) * message["segments"], "expires_at": expires_at,
            "price_total": round(sum(row["price"] for row in by_operator.values()), 2),
            "price_by_operator": by_operator,
            "seconds_to_send": round(len(found) / settings.alert_sms_per_second, 1)}


def issue_alert(store: CommunityStore, publish: Callable, settings: CommunitySettings, now: datetime,
                polseks: list[str], entry: Mapping[str, Any], by_operator: str) -> dict[str, Any]:
    area, choices, message, found, expires_at = draft_alert(store, settings, now, polseks, entry)
    alert_id = derived_id(f"console|{by_operator}|{request_id(entry)}", "alert")
    alert = alerts.new_alert(alert_id, area, choices, str(entry.get("text") or ""), message, expires_at, by_operator,
                             now, len(found))
    store.add_alert(alert, [alerts.delivery(alert, one, now) for one in found])
    alert = store.alert(alert_id)
    publish(COMMUNITY_ALERT_ISSUED, alerts.alert_issued_data(alert, settings.cap_sender_domain),
            id=derived_id(f"alert|{alert_id}", COMMUNITY_ALERT_ISSUED.name), correlationid=alert_id)
    return alerts.alert_view(alert)


def cancel_alert(store: CommunityStore, publish: Callable, now: datetime, polseks: list[str], alert_id: str,
                 reason: str | None, by_operator: str) -> dict[str, Any]:
    alert = own_alert(store, polseks, alert_id)
    if alert["state"] == alerts.EXPIRED:
        raise AlertClosed("Peringatan ini sudah kedaluwarsa: tidak ada lagi yang dikirimi.")
    closed = store.close_alert(alert, alerts.CANCELLED, {"cancelled_by": by_operator, "cancelled_at": now,
                                                         "cancel_reason": (reason or "")[:300] or None},
                               from_states=(alerts.ACTIVE, alerts.DONE))
    alert = closed or store.alert(alert_id)
    if alert["state"] != alerts.CANCELLED:
        raise AlertClosed("Peringatan ini sudah kedaluwarsa: tidak ada lagi yang dikirimi.")
    publish(COMMUNITY_ALERT_CANCELLED, {
        "alert_id": alert_id, "identifier": alerts.cap_identifier(alert), "polsek": alert["polsek"],
        "cancelled_by": alert.get("cancelled_by") or by_operator, "at": alert.get("cancelled_at") or now,
        "reason": alert.get("cancel_reason"), "sent": alert["sent"], "not_sent": alert["not_sent"]},
        id=derived_id(f"alert|{alert_id}", COMMUNITY_ALERT_CANCELLED.name), correlationid=alert_id)
    return alerts.alert_view(alert)


def own_alert(store: CommunityStore, polseks: list[str], alert_id: str) -> dict[str, Any]:
    alert = store.alert(alert_id)
    if alert is None or alert["polsek"] not in polseks:
        raise NotFound("Peringatan tidak ditemukan di Polsek Anda.")
    return alert


def alert_cap_xml(store: CommunityStore, settings: CommunitySettings, polseks: list[str], alert_id: str) -> str:
    return cap.to_xml(alerts.alert_issued_data(own_alert(store, polseks, alert_id), settings.cap_sender_domain))


def send_due_alert_sms(store: CommunityStore, publish: Callable, settings: CommunitySettings, now: datetime) -> int:
    """Hand notify the next alert SMS, no faster than the gateway sends them. Each is taken (compare-and-set)
    before it is published: an alert cancelled or expired meanwhile has no SMS left to take. One a worker took
    and died before handing over is handed over again after a grace period (same id: notify drops a repeat),
    unless its alert closed meanwhile. Returns how many."""
    budget = max(1, int(settings.alert_sms_per_second * settings.alert_tick_seconds))
    handed = 0
    for one in store.taken_not_handed(now - timedelta(seconds=alerts.HANDOVER_GRACE_SECONDS), budget):
        alert = store.alert(one["alert_id"])
        if alert["state"] not in (alerts.ACTIVE, alerts.DONE) or alerts.closing_state(alert, now):
            store.skip_taken(one)
            continue
        log.warning("alert %s: an SMS taken %s ago was never handed to notify; handing it over now",
                    alert["_id"], now - one["requested_at"])
        hand_over(store, publish, alert, one)
        handed += 1
    for alert in sorted(store.active_alerts(), key=lambda a: a["issued_at"]):
        if handed >= budget:
            break
        if state := alerts.closing_state(alert, now):
            store.close_alert(alert, state, {"closed_at": now})
            continue
        for one in store.pending(alert["_id"], budget - handed):
            if not store.mark_requested(one, now):
                continue
            try:
                hand_over(store, publish, alert, one)
            except Exception:
                store.unmark_requested(one)
                raise
            handed += 1
        store.finish_if_done(alert)
    return handed


def hand_over(store: CommunityStore, publish: Callable, alert: dict[str, Any], one: dict[str, Any]) -> None:
    publish(COMMUNITY_SMS_REQUESTED, alerts.sms_for(alert, one),
            id=derived_id(one["_id"], COMMUNITY_SMS_REQUESTED.name), correlationid=alert["_id"])
    store.mark_handed(one)
