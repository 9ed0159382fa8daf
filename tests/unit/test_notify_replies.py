"""Officer replies: read tolerantly, acted on only from the assigned officer's phone."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.notify import answers, replies, templates, texts

OPEN = {"_id": "a1", "number": "C0FFEE", "number_key": "C0FFEE", "nrp": "90120344", "report_id": "r1", "open": True}
OTHER_OPEN = {"_id": "a2", "number": "ABCDEF", "number_key": "ABCDEF", "nrp": "90120344", "report_id": "r2",
              "open": True}
CLOSED = {"_id": "a0", "number": "123456", "number_key": "123456", "nrp": "90120344", "report_id": "r0",
          "open": False}


@pytest.mark.parametrize("text, action, number, rest", [
    ("OK C0FFEE", "acknowledge", "C0FFEE", None),
    ("ok c0ffee", "acknowledge", "C0FFEE", None),
    ("  Ok ,  #C0FFEE  ", "acknowledge", "C0FFEE", None),
    ("okC0FFEE", "acknowledge", "C0FFEE", None),
    ("OK no. C0FFEE", "acknowledge", "C0FFEE", None),
    ("siap C0FFEE", "acknowledge", "C0FFEE", None),
    ("TOLAK C0FFEE sedang sakit, maaf", "decline", "C0FFEE", "sedang sakit, maaf"),
    ("tolak sakit", "decline", None, "sakit"),
    ("JALAN C0FFEE", "en_route", "C0FFEE", None),
    ("otw c0ffee", "en_route", "C0FFEE", None),
    ("Tiba C0-FFEE", "on_scene", "C0FFEE", None),
    ("SELESAI C0FFEE korban dibawa ke RS", "complete", "C0FFEE", "korban dibawa ke RS"),
    ("ok COFFEE", "acknowledge", "C0FFEE", None),  # the letter O typed for a zero
    ("tiba", "on_scene", None, None),
    ("Selamat malam pak", None, None, None),
    ("", None, None, None),
])
def test_replies_are_read_whatever_the_case_spacing_and_punctuation(text, action, number, rest):
    assert replies.parse_reply(text, {"C0FFEE"}) == replies.ParsedReply(action, number, rest)


def test_every_code_shown_in_the_officer_sms_is_one_the_parser_reads():
    shown = templates.OFFICER_ASSIGNMENT.text.split("Balas ")[1].split(" ")[0].split("/")
    assert [replies.parse_reply(f"{code} C0FFEE").action for code in shown] == list(replies.REPLY_CODES)


@pytest.mark.parametrize("text", ["OK C0FFEE", "ok", "OK no c0ffee"])
def test_the_assigned_officers_reply_acts_on_the_open_assignment(text):
    outcome = answers.resolve_reply(text, [OPEN, CLOSED])
    assert (outcome.assignment, outcome.action, outcome.help) == (OPEN, "acknowledge", None)


def test_a_reply_without_a_number_is_only_taken_when_exactly_one_assignment_is_open():
    outcome = answers.resolve_reply("tiba", [OPEN, OTHER_OPEN])
    assert outcome.assignment is None and outcome.help is templates.OFFICER_REPLY_WHICH
    assert "C0FFEE, ABCDEF" in texts.render(outcome.help, **outcome.help_values)


def test_a_reply_with_the_number_picks_that_assignment_among_several():
    assert answers.resolve_reply("SELESAI ABCDEF aman", [OPEN, OTHER_OPEN]).assignment is OTHER_OPEN


def test_a_reply_from_a_phone_that_is_not_the_assigned_officers_acts_on_nothing():
    outcome = answers.resolve_reply("OK C0FFEE", [])
    assert outcome.assignment is None and outcome.help is templates.OFFICER_REPLY_NOT_YOURS


def test_a_late_reply_to_a_closed_assignment_acts_on_nothing():
    outcome = answers.resolve_reply("OK 123456", [CLOSED])
    assert outcome.assignment is None and outcome.help is templates.OFFICER_REPLY_NOT_YOURS


def test_an_officer_who_writes_something_else_gets_the_codes():
    outcome = answers.resolve_reply("siapa ini?", [OPEN])
    assert outcome.help is templates.OFFICER_REPLY_HELP and "OK C0FFEE" in texts.render(
        outcome.help, **outcome.help_values)


def test_a_stranger_is_told_this_number_takes_no_reports():
    outcome = answers.resolve_reply("Ada maling di rumah saya!", [])
    assert outcome.help is templates.STRANGER_HELP


def test_the_decline_reason_travels_to_dispatch():
    outcome = answers.resolve_reply("TOLAK C0FFEE sedang dinas luar kota", [OPEN])
    data = answers.officer_replied_data(outcome, "+6281210010505", datetime(2025, 3, 1, tzinfo=timezone.utc))
    assert (data["action"], data["text"], data["assignment_id"], data["nrp"]) == (
        "decline", "sedang dinas luar kota", "a1", "90120344")
