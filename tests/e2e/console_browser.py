"""Drives the console in a real headless Chromium, as a duty officer would; run by test_console_browser.py.

It runs as its own plain Python process: Playwright's sync API runs its own event loop, which does not
mix with the eventlet monkey-patching of the test process. It logs in, publishes an incident as an upstream
app would (plain kombu, JSON on intake.events), waits for the incident to appear on the board without a
reload, acknowledges it with the card's button, waits for the status to change and takes a screenshot.
Prints one JSON line with what it saw and how long the incident took to appear (publish → visible).

    SIAGA_CONSOLE_PASSWORD=... python tests/e2e/console_browser.py URL AMQP_URI USERNAME SCREENSHOT
"""
from __future__ import annotations

import json
import os
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

from kombu import Connection
from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("SIAGA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000


MENTENG_RW05 = {"lat": -6.1966, "lon": 106.8322, "village_code": "31.71.06.1001", "rw": 5,
                "address": "Jl. HOS Cokroaminoto 12"}
# Gondangdia has no officer of its own; the test has put its neighbours' officers off duty: escalated.
GONDANGDIA = {"village_code": "31.71.06.1004", "rw": 3, "address": "Gg. Gondangdia Kecil"}


def incident(description: str, category: str = "laka lantas", location: dict = MENTENG_RW05) -> dict:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/hotline-110/jakarta-pusat",
            "type": "incident_reported", "time": datetime.now(timezone.utc).isoformat(),
            "data": {"source_kind": "hotline_110", "category": category, "description": description,
                     "location": location, "reporter": {"name": "Budi Santoso", "phone": "0812-9999-1234"}}}


def publish(amqp_uri: str, body: dict) -> None:
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(json.dumps(body), exchange="intake.events", routing_key="incident_reported",
                                      content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                                      mandatory=True)


def main(url: str, amqp_uri: str, username: str, screenshot: str) -> dict:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="id-ID")
        page.set_default_timeout(TIMEOUT_MS)
        try:
            return drive(page, url, amqp_uri, username, screenshot)
        except Exception:  # what the page showed when a step failed: its screenshot and its toast, if any
            page.screenshot(path=screenshot.replace(".png", "-failed.png"), full_page=True)
            print(f"toast at the failure: {page.locator('#toast').inner_text(timeout=1000)!r}", file=sys.stderr)
            raise
        finally:
            browser.close()


def drive(page, url: str, amqp_uri: str, username: str, screenshot: str) -> dict:
    description = f"Tabrakan motor dan angkot, pengendara luka (uji {uuid.uuid4().hex[:6]})"
    console_errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.goto(url)
    page.fill("#username", username)
    page.fill("#password", os.environ["SIAGA_CONSOLE_PASSWORD"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#live")).to_have_class("live on")  # the live stream is open
    page.evaluate("window.__sameDocument = 'yes'")  # gone if the page reloads
    expect(page.locator("#sms-spend")).to_contain_text("bulan ini")  # what the Polsek's SMS cost
    sms_spend = page.locator("#sms-spend").inner_text()

    published = time.monotonic()
    publish(amqp_uri, incident(description))
    card = page.locator("article.card", has_text=description)
    card.wait_for(state="visible")
    time_to_board = time.monotonic() - published
    number = card.get_attribute("data-number")
    acknowledge = card.locator("button[data-action=acknowledge]")
    acknowledge.wait_for(state="visible")  # the officer has been assigned
    status_before = card.locator("[data-role=status]").inner_text()
    time_to_assigned = time.monotonic() - published
    p1_border = card.evaluate("node => getComputedStyle(node).borderLeftWidth")

    acknowledge.click()
    expect(card.locator("[data-role=status]")).to_have_text("Dikonfirmasi")
    status_after = card.locator("[data-role=status]").inner_text()
    toast = page.locator("#toast").inner_text()
    page.screenshot(path=screenshot, full_page=True)
    same_document = page.evaluate("window.__sameDocument")

    desk = duty_desk_by_hand(page, amqp_uri)
    community = community_by_hand(page, screenshot)

    page.click(".tabs button[data-view=map]")
    map_incident = page.locator(f"#map circle[data-report='{card.get_attribute('data-report')}']")
    map_incident.wait_for(state="attached")
    page.locator("#map rect.off").first.wait_for(state="attached")  # officers from the roster
    gondangdia = page.locator("#map polygon[data-village='31.71.06.1004']")  # the real boundary, no tiles
    gondangdia.wait_for(state="attached")
    outline_points = len(gondangdia.get_attribute("points").split())
    stale_menteng = page.locator("#map polygon.stale[data-village='31.71.06.1001']")  # RWs not visited lately
    stale_menteng.first.wait_for(state="attached")
    stale_on_map = stale_menteng.count()
    page.screenshot(path=screenshot.replace(".png", "-map.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.click(".tabs button[data-view=board]")
    phone_fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=screenshot.replace(".png", "-phone.png"), full_page=False)
    return {"number": number, "time_to_board_s": round(time_to_board, 3),
            "time_to_assigned_s": round(time_to_assigned, 3), "status_before": status_before,
            "status_after": status_after, "toast": toast, "same_document": same_document,
            "p1_border": p1_border, "map_shows_incident": True, "phone_fits": phone_fits,
            "outline_points": outline_points, "stale_on_map": stale_on_map, "sms_spend": sms_spend,
            "console_errors": console_errors} | desk | community


def escalated_card(page, amqp_uri: str, category: str, description: str):
    publish(amqp_uri, incident(description, category, GONDANGDIA))
    card = page.locator("article.card", has_text=description)
    expect(card.locator("[data-role=status]")).to_have_text("Dieskalasi ke piket")
    return card


def duty_desk_by_hand(page, amqp_uri: str) -> dict:
    """An escalated report sent to a named free officer, another closed by the duty desk with an outcome."""
    tag = uuid.uuid4().hex[:6]
    sent = escalated_card(page, amqp_uri, "kebakaran", f"Asap dari gudang (uji {tag})")
    escalation_text = sent.locator(".reason", has_text="Eskalasi ke piket").inner_text()
    sent.locator("button[data-action=send]").click()
    page.locator("#dialog-officer option[value='85060788']").wait_for(state="attached")  # Brigpol Yoga Saputra
    page.select_option("#dialog-officer", "85060788")
    page.fill("#dialog-note", "Unit patroli terdekat, dihubungi lewat radio")
    page.click("#dialog-ok")
    expect(sent.locator("[data-role=status]")).to_have_text("Menunggu konfirmasi petugas")
    sent_reason = sent.locator(".reason", has_text="Alasan dispatch").inner_text()

    closed = escalated_card(page, amqp_uri, "pencurian", f"Jemuran hilang (uji {tag})")
    closed.locator("button[data-action=close]").click()
    page.select_option("#dialog-outcome", "referred_to_polres")
    page.fill("#dialog-note", "pelapor diarahkan ke SPKT Polres")
    page.click("#dialog-ok")
    expect(closed.locator("[data-role=status]")).to_have_text("Selesai")
    return {"escalation_text": escalation_text, "sent_reason": sent_reason,
            "sent_number": sent.get_attribute("data-number"), "closed_number": closed.get_attribute("data-number"),
            "closed_outcome": closed.locator(".reason", has_text="Hasil").inner_text()}


@contextmanager
def answered_last(page, pattern: str):
    """The first request for `pattern` is answered as it was read then, but only on leaving the block, after
    everything the block did: an answer overtaken on a slow network or a loaded server. The page has handled it
    on return (the answer read to its end, then a moment for the page's own code)."""
    held: list = []

    def hold_first(route):
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))

    page.route(pattern, hold_first)
    yield
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, f"nothing asked for {pattern}"
    route, answer = held[0]
    with page.expect_event("requestfinished", lambda request: request is route.request):
        route.fulfill(response=answer)
    page.unroute(pattern, hold_first)
    page.evaluate("() => new Promise((handled) => setTimeout(handled, 200))")


def community_by_hand(page, screenshot: str) -> dict:
    """The community view: a village's RWs registered, a visit entered for an officer, the unvisited RWs standing
    out, a Siskamling post registered and an alert previewed (recipients x segments) and sent to it."""
    page.click(".tabs button[data-view=community]")
    page.select_option("#rws-village", "31.71.06.1001")
    page.fill("#rws-count", "4")
    page.click("#rws-form button[type=submit]")
    page.locator("#coverage-body tr[data-village='31.71.06.1001'][data-rw='4']").wait_for(state="attached")
    page.locator("#visit-officer option[value='75030412']").wait_for(state="attached")
    page.select_option("#visit-officer", "75030412")
    page.select_option("#visit-village", "31.71.06.1001")
    page.fill("#visit-rw", "3")
    page.select_option("#visit-place", "sekolah")
    page.fill("#visit-concerns", "siswa pulang malam, minta patroli")
    page.click("#visit-form button[type=submit]")
    visited = page.locator("#coverage-body tr[data-village='31.71.06.1001'][data-rw='3']")
    expect(visited).to_contain_text("siswa pulang malam")
    unvisited = page.locator("#coverage-body tr[data-village='31.71.06.1001'][data-rw='1']")
    page.fill("#post-name", "Pos Ronda Melati")
    page.select_option("#post-village", "31.71.06.1001")
    page.fill("#post-rw", "3")
    page.fill("#post-leader", "Pak Darto")
    page.fill("#post-phone", "0813-7770-0099")
    page.click("#post-form button[type=submit]")
    expect(page.locator("#posts-body")).to_contain_text("Pos Ronda Melati")
    page.select_option("#alert-kind", "rw")
    page.select_option("#alert-village", "31.71.06.1001")
    page.fill("#alert-rw", "3")
    page.fill("#alert-text", "Waspada pencurian motor malam ini, kunci ganda kendaraan.")
    page.click("#alert-preview")
    expect(page.locator("#alert-summary")).to_contain_text("1 penerima")
    summary = page.locator("#alert-summary").inner_text()
    expect(page.locator("#alert-send")).to_be_enabled()
    with answered_last(page, "**/api/community/alerts?*"):  # a reload under way while the alert goes out
        page.click("#community-refresh")
        page.click("#alert-send")
        expect(page.locator("#alerts-body")).to_contain_text("Waspada pencurian motor")
    expect(page.locator("#alerts-body")).to_contain_text("Waspada pencurian motor")  # the older list came too late
    page.screenshot(path=screenshot.replace(".png", "-community.png"), full_page=True)
    return {"visited_class": visited.get_attribute("class"), "unvisited_class": unvisited.get_attribute("class"),
            "unvisited_text": unvisited.inner_text(), "alert_summary": summary,
            "stale_count": page.locator("#stale-count").inner_text()}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5]), ensure_ascii=False))
