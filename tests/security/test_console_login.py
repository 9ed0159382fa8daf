"""Attacks on the console's login, against the real console (its HTTP server, its database), fired with
real concurrency (eventlet greenthreads, one HTTP connection each).

Each client is a real source address on the loopback network (127.0.0.x), so the server sees distinct
clients exactly as it would on a network; a test never trusts a header to tell clients apart unless the
console is told to trust the proxy that sets it.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import eventlet
import pytest
import requests
from eventlet.event import Event
from requests.adapters import HTTPAdapter

from services.console.exceptions import AccountLocked, LoginFailed
from services.console.service import ConsoleService
from shared.envelope import utcnow
from tests.factories.console import (
    PASSWORD,
    base_url,
    console_config,
    console_store,
    create_operator,
    declare_with_console,
)

pytestmark = pytest.mark.security

LIMIT = 5  # CONSOLE.MAX_FAILED_LOGINS, the demo's value
OWNER = "piket.menteng"


class SourceAdapter(HTTPAdapter):
    """Connections from one local address: one client, as the server sees it."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def log_in(url: str, username: str, password: str, source: str = "127.0.0.1",
           forwarded_for: str | None = None) -> tuple[int, str, str | None]:
    """(status, body, session cookie) of one login from `source`, on a fresh connection."""
    with requests.Session() as http:
        http.mount("http://", SourceAdapter(source))
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        response = http.post(url + "/api/login", json={"username": username, "password": password},
                             headers=headers, timeout=60)
        return response.status_code, response.text, response.cookies.get("siaga_console")


def concurrently(calls: list) -> list[tuple[int, str, str | None]]:
    """Fire every call at once (one greenthread each) and return their answers in order."""
    pool = eventlet.GreenPool(len(calls))
    with eventlet.Timeout(120):
        return list(pool.imap(lambda call: call(), calls))


@pytest.fixture
def start(amqp_uri, mongo_client, db_names, container_factory, config_for):
    """Start the console alone (logins need nothing behind it) with its demo operators; keywords are its
    CONSOLE settings; returns its URL."""
    declare_with_console(amqp_uri)

    def start(**settings) -> str:
        config = console_config(config_for, db_names, **settings)
        container_factory(ConsoleService, config).start()
        store = console_store(mongo_client, db_names)
        create_operator(store, OWNER, ("31.71.06",))
        create_operator(store, "piket.gambir", ("31.71.01",))
        return base_url(config)
    return start


@pytest.fixture
def console(start) -> str:
    """The console as the demo runs it: MAX_FAILED_LOGINS 5, no trusted proxy."""
    return start()


def test_forty_concurrent_logins_the_right_one_after_the_limit_is_refused(console):
    """39 wrong passwords fired at once from one client; the right one is sent as soon as LIMIT of them
    have been answered 401 (the other wrong ones may still be in flight). Asserted: the right one is
    answered 429 with the same body as every other refusal and gets no session; of the 39 wrong ones at
    most LIMIT were answered 401 and every other one 429; the right password stays refused afterwards."""
    answers: list[tuple[int, str, str | None]] = []
    enough = Event()

    def wrong(i: int) -> None:
        answers.append(log_in(console, OWNER, f"salah-sekali-{i:02d}"))
        if not enough.ready() and (sum(status == 401 for status, _, _ in answers) >= LIMIT or len(answers) == 39):
            enough.send()

    pool = eventlet.GreenPool(40)
    for i in range(39):
        pool.spawn(wrong, i)
    with eventlet.Timeout(120):
        enough.wait()
        right = log_in(console, OWNER, PASSWORD)
        pool.waitall()

    statuses = Counter(status for status, _, _ in answers)
    assert statuses[401] <= LIMIT, statuses
    assert set(statuses) == {401, 429}, statuses
    refusal = next(body for status, body, _ in answers if status == 429)
    assert right == (429, refusal, None)
    assert log_in(console, OWNER, PASSWORD) == (429, refusal, None)


def answered_or_dropped(url: str, username: str, password: str) -> tuple[int, str, str | None]:
    """A login of a burst: status 0 when the server closed the connection unanswered, which in a burst of
    150 from one process it does about one run in two (an open question; the count it must keep holds)."""
    try:
        return log_in(url, username, password)
    except requests.ConnectionError:
        return 0, "", None


def test_a_hundred_and_fifty_concurrent_wrong_logins_get_at_most_the_limit_answered_401(console):
    answers = concurrently([lambda i=i: answered_or_dropped(console, OWNER, f"tebakan-nomor-{i:03d}")
                            for i in range(150)])
    statuses = Counter(status for status, _, _ in answers)
    assert statuses[401] <= LIMIT and statuses[429] + statuses[0] >= 150 - LIMIT, statuses
    assert set(statuses) <= {401, 429, 0}, statuses
    assert log_in(console, OWNER, PASSWORD)[0] == 429


def test_unknown_and_known_user_names_get_the_same_answers(console):
    """The same attempts for an operator who exists and for a name nobody has, each from its own client:
    the same statuses and the same bodies, 401 up to the limit and 429 after (timing: see the report)."""
    attempts = [f"salah-{i}-xxxxxxxx" for i in range(LIMIT + 2)]
    known = [log_in(console, OWNER, password, source="127.0.0.4")[:2] for password in attempts]
    unknown = [log_in(console, "piket.tidakada", password, source="127.0.0.5")[:2] for password in attempts]
    assert known == unknown
    assert [status for status, _ in known] == [401] * LIMIT + [429] * 2


def test_a_stranger_hammering_the_officers_name_does_not_lock_him_out_from_his_own_client(console):
    stranger = concurrently([lambda i=i: log_in(console, OWNER, f"coba-coba-{i:02d}", source="127.0.0.2")
                             for i in range(30)])
    assert Counter(status for status, _, _ in stranger)[401] <= LIMIT
    assert log_in(console, OWNER, PASSWORD, source="127.0.0.2")[0] == 429  # the stranger's client stays refused

    status, body, session = log_in(console, OWNER, PASSWORD, source="127.0.0.3")
    assert status == 200 and session, body


def test_a_client_that_fails_often_is_refused_for_every_name_before_any_account_is_counted(start):
    """One client guessing many names is refused on its own count: past it, even an operator it never
    tried (piket.gambir) refuses it, while the same operator still lets its owner in from elsewhere."""
    console = start(CLIENT_FAILED_LOGINS=8)
    for i in range(8):
        assert log_in(console, f"tebak.nama{i:02d}", "salah-salah-salah", source="127.0.0.6")[0] == 401
    assert log_in(console, "piket.gambir", PASSWORD, source="127.0.0.6")[0] == 429
    assert log_in(console, "piket.gambir", PASSWORD, source="127.0.0.7")[0] == 200


def test_a_forwarded_for_header_is_ignored_unless_the_proxy_is_trusted(console):
    """By default a client cannot become many clients by writing X-Forwarded-For."""
    answers = concurrently([lambda i=i: log_in(console, OWNER, f"palsu-palsu-{i:02d}", forwarded_for=f"10.9.8.{i}")
                            for i in range(20)])
    assert Counter(status for status, _, _ in answers)[401] <= LIMIT
    assert log_in(console, OWNER, PASSWORD, forwarded_for="10.9.9.9")[0] == 429


def test_behind_a_trusted_proxy_the_forwarded_client_is_the_one_counted(start):
    url = start(TRUSTED_PROXIES="127.0.0.1")
    stranger = concurrently([lambda i=i: log_in(url, OWNER, f"coba-lagi-{i:02d}", forwarded_for="203.0.113.9")
                             for i in range(15)])
    assert Counter(status for status, _, _ in stranger)[401] <= LIMIT
    assert log_in(url, OWNER, PASSWORD, forwarded_for="203.0.113.9")[0] == 429
    # a spoofed hop in front of the real one does not help: the proxy appends what it saw, last
    assert log_in(url, OWNER, PASSWORD, forwarded_for="198.51.100.7, 203.0.113.9")[0] == 429
    assert log_in(url, OWNER, PASSWORD, forwarded_for="198.51.100.7")[0] == 200


def test_many_clients_together_get_no_more_than_the_account_wide_limit_verified(start):
    """Distributed guessing: four clients, each within its own limits, share the account's count."""
    console = start(ACCOUNT_FAILED_LOGINS=7)
    answers = concurrently([lambda i=i: log_in(console, OWNER, f"bersama-{i:02d}-xx", source=f"127.0.0.{10 + i % 4}")
                            for i in range(16)])
    assert Counter(status for status, _, _ in answers)[401] <= 7


def test_a_lock_refuses_the_right_password_until_its_window_ends(mongo_client, db_names):
    """The store with its clock given: locked now, even for the right password; let in once LOCK_MINUTES
    have passed since the first failure (no waiting: the time is an argument)."""
    store = console_store(mongo_client, db_names)
    create_operator(store, OWNER, ("31.71.06",))
    now = utcnow()
    for _ in range(LIMIT):
        with pytest.raises(LoginFailed):
            store.log_in(OWNER, "salah-salah-salah", now, client="192.0.2.1")
    with pytest.raises(AccountLocked):
        store.log_in(OWNER, PASSWORD, now + timedelta(minutes=14), client="192.0.2.1")
    operator, _, _ = store.log_in(OWNER, PASSWORD, now + timedelta(minutes=15, seconds=1), client="192.0.2.1")
    assert operator["_id"] == OWNER


def test_the_officers_own_browser_still_gets_in_while_strangers_everywhere_fill_his_account(start):
    """Strangers from several clients fill the account-wide count: a browser never used by the officer
    is refused for its window, but the one he logged in from before (its device cookie) lets him in."""
    console = start(ACCOUNT_FAILED_LOGINS=6)
    with requests.Session() as browser:
        browser.mount("http://", SourceAdapter("127.0.0.3"))
        assert browser.post(console + "/api/login", json={"username": OWNER, "password": PASSWORD},
                            timeout=60).status_code == 200
        assert browser.cookies.get("siaga_device")

        strangers = concurrently([lambda i=i: log_in(console, OWNER, f"ramai-ramai-{i:02d}",
                                                     source=f"127.0.0.{20 + i % 4}") for i in range(16)])
        assert Counter(status for status, _, _ in strangers)[401] <= 6
        assert log_in(console, OWNER, PASSWORD, source="127.0.0.30")[0] == 429

        again = browser.post(console + "/api/login", json={"username": OWNER, "password": PASSWORD}, timeout=60)
        assert again.status_code == 200, again.text


def test_a_right_password_forgives_the_failures_before_it_but_not_the_clients(mongo_client, db_names):
    store = console_store(mongo_client, db_names)
    create_operator(store, OWNER, ("31.71.06",))
    now = utcnow()
    for _ in range(LIMIT - 1):
        with pytest.raises(LoginFailed):
            store.log_in(OWNER, "salah-salah-salah", now, client="192.0.2.2")
    store.log_in(OWNER, PASSWORD, now, client="192.0.2.2")
    for _ in range(LIMIT):
        with pytest.raises(LoginFailed):
            store.log_in(OWNER, "salah-salah-salah", now, client="192.0.2.2")
    with pytest.raises(AccountLocked):
        store.log_in(OWNER, PASSWORD, now, client="192.0.2.2")
    assert store.db.login_attempts.find_one({"_id": "client:192.0.2.2"})["count"] == 2 * LIMIT
