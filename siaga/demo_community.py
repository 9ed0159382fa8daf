"""The demo's community part: a visit by SMS whose concern is reported and dispatched, residents who consent by
SMS, a Siskamling post and an alert issued from the console (recipients × segments first), and the public
page's visits per RW. It plays the people: the officer and residents text through the running SMS gateway,
the duty officer uses the console's own HTTP API."""
from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from rich.table import Table

from shared import wilayah
from shared.phones import mask_phone

MENTENG = "31.71.06.1001"
OFFICER_PHONE = "+6281210010505"  # Bripda Rizky Pratama, Polisi RW of Menteng RW05 (the demo roster)
VISIT_SMS = "sambang rw05 PASAR warga keluhkan parkir liar dan pungli depan pasar LAPOR gangguan"
RESIDENTS = {"+6281311110501": "daftar 31.71.06.1001 rw05", "+6281311110502": "DAFTAR 3171061001 RW 5",
             "+6281311110603": "DAFTAR 31.71.06.1001 RW06"}  # the third lives in RW06: not sent an RW05 alert
POST = {"name": "Pos Ronda Melati", "village_code": MENTENG, "rw": 5, "leader_name": "Pak Joko",
        "leader_phone": "0857-7777-0505"}
ALERT = {"area_kind": "rw", "area_code": MENTENG, "rw": 5, "category": "keamanan", "urgency": "segera",
         "expires_minutes": 360, "text": "Waspada pencurian motor malam hari. Kunci ganda kendaraan, lapor 110 "
                                         "bila ada yg mencurigakan."}


class ConsoleSession:
    """The console's HTTP API as its page uses it: a login cookie and the CSRF header."""

    def __init__(self, base: str, username: str, password: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = self.call("POST", "/api/login", {"username": username, "password": password})["csrf"]

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        request = urllib.request.Request(self.base + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        request.add_header("Content-Type", "application/json")
        if getattr(self, "csrf", None):
            request.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:  # the console's reason, as the page would show it
            raise RuntimeError(f"console {method} {path}: {error.code} {error.read().decode(errors='replace')}") \
                from None


def wait_for(observer, found: Callable[[list[dict]], Any], deadline: float) -> Any:
    while time.monotonic() < deadline:
        observer.poll()
        if result := found(observer.events + observer.sms):
            return result
        time.sleep(0.1)
    return None


def first(kind: str, **data: Any) -> Callable[[list[dict]], dict | None]:
    return lambda seen: next((b for b in seen if b["type"] == kind
                              and all(b["data"].get(k) == v for k, v in data.items())), None)


def run_community(system, observer, console, username: str, password: str, timeout: float = 45.0) -> bool:
    """Returns whether every step was seen through."""
    deadline = time.monotonic() + timeout
    session = ConsoleSession(f"http://{system.http_addresses['console']}", username, password)
    session.call("POST", "/api/community/rws", {"village_code": MENTENG, "rw_count": 8})
    session.call("POST", "/api/community/posts", POST)
    for phone, text in RESIDENTS.items():
        system.text_from(phone, text)
    system.text_from(OFFICER_PHONE, VISIT_SMS)

    visit = wait_for(observer, first("visit_recorded"), deadline)
    report = wait_for(observer, first("report_received", source_kind="patrol_dialog"), deadline)
    assigned = report and wait_for(observer, lambda seen: next(
        (b for b in seen if b["type"] in ("assignment_created", "assignment_escalated")
         and b["causationid"] == report["id"]), None), deadline)
    consents = wait_for(observer, lambda seen: [b for b in seen if b["type"] == "sms_requested"
                                                and b["data"]["kind"] == "subscribed"]
                        if len([b for b in seen if b["type"] == "sms_requested"
                                and b["data"]["kind"] == "subscribed"]) >= len(RESIDENTS) else None, deadline)
    preview = session.call("POST", "/api/community/alerts/preview", ALERT)
    alert = session.call("POST", "/api/community/alerts", ALERT)
    alert_sms = wait_for(observer, lambda seen: (lambda sent: sent if len(sent) >= alert["recipients"] else None)(
        [b for b in seen if b["type"] == "sms_requested" and b["data"]["kind"] == "community_alert"]), deadline)
    coverage = session.call("GET", "/api/community/coverage")
    menteng = next(v for v in coverage["villages"] if v["village_code"] == MENTENG)

    table = Table(title="Komunitas — sambang, Siskamling, peringatan warga", show_lines=True)
    for column, width in (("What", 14), ("Who / where", 30), ("Outcome", 40), ("SMS", 50)):
        table.add_column(column, min_width=width, max_width=width, overflow="fold")
    reply = next((b["data"] for b in observer.sms if b["data"]["kind"] in ("visit_reported_reply",
                                                                            "visit_recorded_reply")), None)
    if visit:
        v = visit["data"]
        outcome = "no report" if not report else (
            f"report #{report['data']['number']} ({report['data']['category']}) → "
            + (f"{assigned['data']['officer']['name']}" if assigned and assigned["type"] == "assignment_created"
               else "duty desk" if assigned else "not yet decided"))
        table.add_row(f"visit #{v['number']} (SMS)", f"{v['officer_name']}\n{v['place_kind']}, RW {v['rw']:02d} "
                      f"{v['village_name']}\n\"{v['concerns']}\"", outcome,
                      f"to {mask_phone(reply['to'])}: {reply['text']}" if reply else "-")
    for sms in consents or []:
        table.add_row("consent (SMS)", mask_phone(sms["data"]["to"]), "recorded with time and wording",
                      sms["data"]["text"])
    sent_to = sorted(mask_phone(b["data"]["to"]) for b in alert_sms or [])
    table.add_row(f"alert {alert['number']}", f"{alert['area']['text']}, {alert['urgency']}",
                  f"{preview['recipients']['total']} recipients ({preview['recipients']['residents']} residents, "
                  f"{preview['recipients']['posts']} post) × {preview['segments']} segment = {preview['sms_total']} "
                  f"SMS, Rp {preview['price_total']:,.0f}; sent to {', '.join(sent_to)}; CAP XML at "
                  f"/api/community/alerts/{alert['alert_id']}/cap.xml",
                  (alert_sms or [{}])[0].get("data", {}).get("text", "-"))
    stale = [f"RW {row['rw']:02d}" for row in menteng["rws"] if row["stale"]]
    table.add_row("coverage", f"Kel. Menteng, {len(menteng['rws'])} RW",
                  f"not visited in {coverage['stale_days']} days: {', '.join(stale)}", "-")
    console.print(table)
    month = datetime.now(timezone(timedelta(hours=wilayah.time_zone(MENTENG)[1]))).strftime("%Y-%m")
    console.print(f"Public page with visits per RW: http://{system.http_addresses['reports']}/figures/village/"
                  f"{MENTENG}/{month}")
    return bool(visit and report and assigned and consents and alert_sms)
