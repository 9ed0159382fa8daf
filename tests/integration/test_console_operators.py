"""Operator accounts in the console database: created or updated by a command, passwords only as hashes."""
from __future__ import annotations

import pytest

from services.console import operators
from services.console.exceptions import AccountLocked, LoginFailed
from services.console.operators import OperatorError, add_operator
from shared.envelope import utcnow

pytestmark = pytest.mark.integration


@pytest.fixture
def store(console_db_store):
    return console_db_store


def test_a_new_operator_gets_a_generated_password_shown_once_and_stored_only_as_a_hash(store):
    result = add_operator(store, "Piket.Menteng", ["31.71.06"], "Aiptu Bambang")
    assert result["created"] and result["username"] == "piket.menteng" and len(result["password"]) == 23
    stored = store.operator("piket.menteng")
    assert stored["password_hash"].startswith("$argon2id$") and result["password"] not in str(stored)
    operator, token, session = store.log_in("piket.menteng", result["password"], utcnow())
    assert operator["polseks"] == ["31.71.06"] and session["_id"] != token

    again = add_operator(store, "piket.menteng", ["31.71.06", "31.71.01"])
    assert not again["created"] and again["password"] is None  # the password is kept
    store.log_in("piket.menteng", result["password"], utcnow())

    reset = add_operator(store, "piket.menteng", ["31.71.06"], reset_password=True)
    assert reset["password"] and reset["password"] != result["password"]
    assert store.db.sessions.count_documents({"username": "piket.menteng"}) == 0  # old sessions ended
    with pytest.raises(LoginFailed):
        store.log_in("piket.menteng", result["password"], utcnow())


@pytest.mark.parametrize("username, polseks, password, reason", [
    ("x", ["31.71.06"], None, "3–40 lower-case"),
    ("piket", [], None, "at least one --polsek"),
    ("piket", ["31.71.99"], None, "not a Kemendagri district code"),
    ("piket", ["31.71.06"], "pendek", "at least 10 characters"),
])
def test_bad_operator_input_is_refused_with_a_reason(store, username, polseks, password, reason):
    with pytest.raises(OperatorError, match=reason):
        add_operator(store, username, polseks, password=password)
    assert store.db.operators.count_documents({}) == 0


def test_repeated_wrong_passwords_lock_the_account(store):
    add_operator(store, "piket", ["31.71.06"], password="benar-sekali-123")
    for _ in range(5):
        with pytest.raises(LoginFailed):
            store.log_in("piket", "salah-salah-salah", utcnow())
    with pytest.raises(AccountLocked, match="Terlalu banyak percobaan"):
        store.log_in("piket", "benar-sekali-123", utcnow())
    add_operator(store, "piket", ["31.71.06"], password="baru-sekali-456")  # a new password lifts the lock
    store.log_in("piket", "baru-sekali-456", utcnow())


def test_the_command_creates_an_operator_and_prints_the_generated_password(store, mongo_uri, db_names, monkeypatch,
                                                                           capsys):
    monkeypatch.setenv("MONGO_URI", mongo_uri)
    monkeypatch.setenv("CONSOLE_MONGO_DATABASE", store.db.name)
    monkeypatch.delenv(operators.PASSWORD_ENV, raising=False)
    assert operators.main(["add", "piket.menteng", "--polsek", "31.71.06", "--name", "Piket Menteng"]) == 0
    out = capsys.readouterr().out
    assert "created operator piket.menteng for Polsek 31.71.06" in out
    password = out.split("store it safely): ")[1].strip()
    store.log_in("piket.menteng", password, utcnow())
    assert operators.main(["add", "piket.menteng", "--polsek", "31.71.77"]) == 1
    assert "not a Kemendagri district code" in capsys.readouterr().err
