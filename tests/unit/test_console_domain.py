"""The console's pure rules: the board from events in any order and any number of times, Polsek scoping,
the actions' required notes, login lock-out and password hashing."""
from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone

import pytest

from services.console import auth, board, domain
from services.console.exceptions import Forbidden, InvalidRequest
from services.console.settings import ConsoleSettings
from shared.envelope import Event
from shared.settings import load

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
OFFICER = {"nrp": "90120344", "name": "Bripda Rizky Pratama", "rank": "Bripda", "role": "polisi_rw",
           "phone": "+6281210010505"}
NEXT_OFFICER = {"nrp": "75030412", "name": "Bripka Agus Setiawan", "rank": "Bripka", "role": "bhabinkamtibmas",
                "phone": "+6281210014412"}
SUMMARY = {"report_id": "rep-1", "number": "MTG-0001", "category": "traffic_accident", "priority": "P1",
           "description": "Tabrakan motor", "village_code": "31.71.06.1001", "village_name": "Menteng", "rw": 5,
           "address": "Jl. HOS Cokroaminoto 12"}
OPERATOR = {"_id": "piket", "polseks": ["31.71.06"]}


def event(type_: str, data: dict, at: datetime = T0, id: str | None = None) -> Event:
    return Event(id=id or f"{type_}-{data.get('assignment_id', '')}", source="/siaga/test", type=type_, time=at,
                 data=data)


def received(at=T0):
    return event("report_received", {
        "report_id": "rep-1", "number": "MTG-0001", "source_kind": "citizen_app", "category": "traffic_accident",
        "priority": "P1", "skills": ["first_aid"], "description": "Tabrakan motor",
        "place": {"lat": -6.1966, "lon": 106.8322, "village_code": "31.71.06.1001", "village_name": "Menteng",
                  "rw": 5, "address": "Jl. HOS Cokroaminoto 12"},
        "anonymous": False, "reporter": {"name": "Budi", "phone": "+6281299991234"}, "received_at": at}, at)


def created(assignment_id="a1", attempt=1, officer=OFFICER, at=T0):
    return event("assignment_created", {
        "assignment_id": assignment_id, "officer": officer, "report": SUMMARY, "rule": "area_polisi_rw",
        "reason": "polisi_rw of 31.71.06.1001/RW05", "skipped": [], "ack_deadline": at + timedelta(minutes=2),
        "distance_m": None, "attempt": attempt, "state": "created"}, at)


def step(type_, assignment_id="a1", officer=OFFICER, at=T0, **extra):
    return event(type_, {"assignment_id": assignment_id, "report_id": "rep-1", "number": "MTG-0001",
                         "officer": officer, "at": at, "via": "console", **extra}, at)


def board_after(events) -> dict:
    entry = None
    for each in events:
        for change in board.changes_from(each):
            entry = board.applied(entry, change, T0) or entry
    return entry


def test_a_report_on_the_board_follows_its_assignment_to_resolved():
    minute = timedelta(minutes=1)
    entry = board_after([received(), created(at=T0 + minute)])
    assert (entry["status"], entry["polsek"], entry["open"]) == ("assigned", "31.71.06", True)
    card = board.card(entry)
    assert card["assignment"]["officer"]["name"] == "Bripda Rizky Pratama"
    assert card["assignment"]["reason"] == "polisi_rw of 31.71.06.1001/RW05"
    assert card["assignment"]["ack_deadline"] == "2026-01-05T01:03:00Z"
    assert card["category_name"] == "kecelakaan lalu lintas"

    entry = board_after([received(), created(), step("assignment_acknowledged"), step("assignment_departed"),
                         step("assignment_arrived"),
                         step("assignment_completed", outcome="Korban ke RS", at=T0 + minute)])
    assert (entry["status"], entry["open"]) == ("resolved", False)
    assert entry["visible_until"] == T0 + minute + timedelta(minutes=120)
    assert board.card(entry)["resolved"]["steps"]["completed"]["outcome"] == "Korban ke RS"


STORY = [received(), created(), step("assignment_acknowledged"), step("assignment_departed")]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(STORY)))))
def test_the_board_reaches_the_same_state_whatever_order_the_events_arrive_in(order):
    entry = board_after([STORY[i] for i in order])
    assert entry["status"] == "en_route"
    assert entry["report"]["partial"] is False
    assert entry["version"] == len(STORY)


def test_an_event_applied_twice_changes_nothing_the_second_time():
    entry = board_after([received(), created()])
    for change in board.changes_from(created()):
        assert board.applied(entry, change, T0) is None


def test_a_late_acknowledgement_never_moves_an_assignment_back():
    entry = board_after([received(), created(), step("assignment_arrived"), step("assignment_acknowledged")])
    assert entry["status"] == "on_scene"


def test_completion_beats_a_decline_that_raced_it():
    entry = board_after([received(), created(), step("assignment_completed", outcome="aman"),
                         step("assignment_declined", reason="sibuk")])
    assert entry["status"] == "resolved"


def test_after_a_decline_the_report_waits_for_and_then_follows_the_next_officer():
    declined = step("assignment_declined", reason="sedang di tempat lain")
    entry = board_after([received(), created(), declined])
    assert entry["status"] == "awaiting_officer"
    assert board.card(entry)["last_ended"]["steps"]["declined"]["reason"] == "sedang di tempat lain"
    # the next assignment may even be seen before the decline that caused it
    entry = board_after([received(), created("a2", attempt=2, officer=NEXT_OFFICER), created(), declined])
    assert entry["status"] == "assigned"
    assert board.card(entry)["assignment"]["officer"]["nrp"] == NEXT_OFFICER["nrp"]


@pytest.mark.parametrize("ending", ["assignment_declined", "assignment_expired"])
def test_a_report_whose_latest_assignment_ended_unfinished_awaits_an_officer_on_the_board(ending):
    entry = board_after([received(), created(), step(ending, reason="tidak ada jawaban")])
    assert (entry["status"], entry["open"]) == ("awaiting_officer", True)
    assert board.card(entry)["last_ended"]["state"] == ending.removeprefix("assignment_")


def test_an_escalation_after_every_try_puts_the_report_with_the_duty_desk():
    escalated = event("assignment_escalated", {
        "report": SUMMARY, "polsek": "31.71.06", "duty_desk": None, "reason": "1 officers tried, none took it",
        "skipped": [], "attempts": 1, "last_assignment_id": "a1"})
    entry = board_after([escalated, created(), step("assignment_expired", attempt=1, reason="no ack")])
    assert entry["status"] == "escalated"
    assert board.card(entry)["escalation"]["reason"] == "1 officers tried, none took it"
    assert entry["report"]["partial"] is True  # shown from the events' summary until report_received arrives
    entry = board_after([escalated, created(), step("assignment_expired", attempt=1, reason="no ack"), received()])
    assert entry["report"]["partial"] is False and entry["status"] == "escalated"


def test_a_duplicate_is_closed_and_counted_on_its_original():
    duplicate = event("duplicate_reported", {
        "report_id": "rep-2", "number": "MTG-0002", "original_report_id": "rep-1", "original_number": "MTG-0001",
        "category": "traffic_accident", "priority": "P1", "place": {"village_code": "31.71.06.1001"},
        "anonymous": True, "reporter": None, "received_at": T0, "source_kind": "hotline_110", "distance_m": 40})
    changes = board.changes_from(duplicate)
    original = board.applied(board_after([received()]), changes[1], T0)
    assert [d["number"] for d in original["duplicates"]] == ["MTG-0002"]
    assert board.applied(original, changes[1], T0) is None
    copy = board.applied(None, changes[0], T0)
    assert (copy["status"], copy["open"], copy["duplicate_of"]["number"]) == ("duplicate", False, "MTG-0001")


def test_an_entry_known_only_from_a_step_event_is_not_shown_until_the_report_is_known():
    entry = board_after([step("assignment_acknowledged")])
    assert entry["visible_until"] == board.EPOCH


# ---------------------------------------------------------------- scoping and actions

def test_an_operator_acts_only_on_reports_of_their_own_polsek():
    domain.check_may_act(OPERATOR, {"report": SUMMARY})
    with pytest.raises(Forbidden, match="bukan wilayah Polsek Anda"):
        domain.check_may_act(OPERATOR, {"report": SUMMARY | {"village_code": "31.71.01.1001"}})
    with pytest.raises(Forbidden):
        domain.check_may_act(OPERATOR, {"report": SUMMARY | {"village_code": None}})
    with pytest.raises(Forbidden):
        domain.check_may_send(OPERATOR, {"name": "Bripka Lain", "polsek": "31.71.01"})
    assert domain.chosen_polsek(OPERATOR, None) == "31.71.06"
    with pytest.raises(Forbidden):
        domain.chosen_polsek(OPERATOR, "31.71.01")


@pytest.mark.parametrize("action, body, call", [
    ("acknowledge", {}, ("acknowledge_assignment", [])),
    ("decline", {"reason": "  ban   bocor "}, ("decline_assignment", ["ban bocor"])),
    ("complete", {"outcome": "aman"}, ("complete_assignment", ["aman"])),
    ("reassign", {"nrp": "85060788", "reason": "dekat"}, ("reassign_assignment", ["85060788", "dekat"])),
])
def test_actions_map_to_dispatch_rpcs(action, body, call):
    assert domain.action_call(action, body) == call


@pytest.mark.parametrize("action, body, reason", [
    ("decline", {}, "Isi alasan."),
    ("complete", {"outcome": "   "}, "Isi hasil penanganan."),
    ("reassign", {}, "Isi petugas pengganti (NRP) dan alasan."),
    ("explode", {}, "tidak dikenal"),
    ("decline", {"reason": "x" * 301}, "terlalu panjang"),
])
def test_an_action_without_its_note_is_refused_with_a_reason(action, body, reason):
    with pytest.raises(InvalidRequest, match=re.escape(reason)):
        domain.action_call(action, body)


def test_a_login_attempt_is_counted_for_its_client_first_then_per_account_and_client_then_per_account():
    settings = ConsoleSettings(max_failed_logins=3, client_failed_logins=9, account_failed_logins=30,
                               lock_minutes=15, account_lock_minutes=4)
    counters = domain.login_counters("piket.menteng", "192.0.2.7", settings)
    assert [tuple(c) for c in counters] == [
        ("client:192.0.2.7", 9, 15, None, False),
        ("pair:piket.menteng|192.0.2.7", 3, 15, "piket.menteng", True),
        ("account:piket.menteng", 30, 4, "piket.menteng", False),
    ]


def test_a_browser_known_as_the_operators_is_counted_on_its_own_count_only():
    counters = domain.login_counters("piket.menteng", "192.0.2.7", ConsoleSettings(max_failed_logins=3), "d1g35t")
    assert [(c.key, c.limit, c.starts_over) for c in counters] == [("device:d1g35t", 3, True)]


def test_names_that_cannot_exist_share_one_count_so_they_cannot_fill_the_database():
    assert domain.login_counters("x" * 5000, "192.0.2.7")[2].key == "account:-"
    assert domain.login_counters("../$where", "192.0.2.7")[1].key == "pair:-|192.0.2.7"


@pytest.mark.parametrize("address, key", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("", "unknown"), (None, "unknown"), ("nonsense", "unknown"),
])
def test_a_client_is_counted_by_its_address_an_ipv6_client_by_its_64(address, key):
    assert domain.client_key(address) == key


@pytest.mark.parametrize("remote, forwarded, trusted, client", [
    ("198.51.100.1", "203.0.113.9", (), "198.51.100.1"),                          # no proxy trusted: header ignored
    ("10.0.0.2", "203.0.113.9", ("10.0.0.0/8",), "203.0.113.9"),                 # the proxy's word
    ("10.0.0.2", "1.2.3.4, 203.0.113.9", ("10.0.0.0/8",), "203.0.113.9"),        # a hop the client wrote is not read
    ("10.0.0.2", "203.0.113.9, 10.0.0.3", ("10.0.0.0/8",), "203.0.113.9"),       # two proxies of ours
    ("10.0.0.2", None, ("10.0.0.0/8",), "10.0.0.2"),
    ("198.51.100.1", "203.0.113.9", ("10.0.0.0/8",), "198.51.100.1"),            # not from the proxy: ignored
])
def test_x_forwarded_for_names_the_client_only_from_a_trusted_proxy(remote, forwarded, trusted, client):
    assert domain.forwarded_client(remote, forwarded, trusted) == client


def test_trusted_proxies_are_checked_when_the_settings_are_read():
    assert load(ConsoleSettings, {"TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}).trusted_proxies == (
        "10.0.0.0/8", "127.0.0.1")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        load(ConsoleSettings, {"TRUSTED_PROXIES": "proxy.example"})


def test_settings_come_from_config_strings():
    settings = load(ConsoleSettings, {"SESSION_HOURS": "8", "COOKIE_SECURE": "true", "FEED_POLL_SECONDS": 0.2,
                                      "LOCK_MINUTES": ""})
    assert (settings.session_hours, settings.cookie_secure, settings.feed_poll_seconds) == (8.0, True, 0.2)
    assert (settings.lock_minutes, settings.rpc_timeout_seconds) == (15.0, 10.0)


# ---------------------------------------------------------------- passwords and tokens

def test_passwords_are_stored_as_argon2id_hashes_and_verified():
    hashed = auth.hash_password("kata-sandi-piket")
    assert hashed.startswith("$argon2id$") and "kata-sandi-piket" not in hashed
    assert auth.verify_password(hashed, "kata-sandi-piket")
    assert not auth.verify_password(hashed, "kata-sandi-salah")
    assert not auth.verify_password("not a hash", "kata-sandi-piket")
    assert auth.hash_password("kata-sandi-piket") != hashed  # salted
    with pytest.raises(ValueError):
        auth.hash_password("pendek")


def test_generated_passwords_and_tokens_are_random_and_only_digests_are_kept():
    passwords = {auth.generate_password() for _ in range(50)}
    assert len(passwords) == 50 and all(len(p) == 23 for p in passwords)
    token = auth.new_token()
    assert len(token) >= 40 and auth.token_digest(token) != token and len(auth.token_digest(token)) == 64
    assert auth.same_token(token, token) and not auth.same_token(token, None) and not auth.same_token(None, None)


def test_the_map_draws_the_polseks_villages_from_the_boundaries():
    from shared import boundaries
    areas = domain.area_outlines(boundaries.atlas(), ["31.71.06"])
    assert [a["code"] for a in areas] == [f"31.71.06.100{i}" for i in range(1, 6)]
    gondangdia = areas[3]
    assert gondangdia["name"] == "Gondangdia" and len(gondangdia["rings"][0]) > 10
    lon, lat = gondangdia["label_at"]
    assert boundaries.atlas().village_at(lat, lon).village_code == "31.71.06.1004"
