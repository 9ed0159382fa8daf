"""Officer replies: read tolerantly, acted on only from the assigned officer's phone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.notify import answers, replies, templates
from services.notify.settings import SendPolicy
from shared import reply_matching

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


AT = datetime(2025, 3, 1, tzinfo=timezone.utc)
PHONE = "+6281210010505"


@pytest.mark.parametrize("text", ["OK C0FFEE", "ok", "OK no c0ffee"])
def test_the_assigned_officers_reply_acts_on_the_open_assignment(text):
    answer = answers.reply_answer(text, [OPEN, CLOSED], PHONE, AT)
    assert answer["replied"]["assignment_id"] == "a1" and answer["replied"]["action"] == "acknowledge"
    assert answer["report_id"] == "r1"


def test_a_reply_with_the_number_picks_that_assignment_among_several():
    answer = answers.reply_answer("SELESAI ABCDEF aman", [OPEN, OTHER_OPEN], PHONE, AT)
    assert answer["replied"]["assignment_id"] == "a2"


@pytest.mark.parametrize("text, known, candidates", [
    ("tiba", reply_matching.WHICH, [OPEN, OTHER_OPEN]),
    ("OK C0FFEE", reply_matching.NOT_YOURS, []),  # notify sent this phone nothing: its record may be lost
    ("OK 123456", reply_matching.NOT_YOURS, [CLOSED]),
    ("SELESAI 999999", reply_matching.FINISHED, [CLOSED | {"number": "999999", "number_key": "999999",
                                                           "ended": "completed"}]),
    ("siapa ini?", reply_matching.NO_CODE, [OPEN]),
    ("Ada maling di rumah saya!", reply_matching.NO_CODE, []),
])
def test_a_reply_notify_cannot_match_goes_to_dispatch_and_is_never_answered_here(text, known, candidates):
    """dispatch holds the assignments: notify's records may be behind (a lost write), so it never answers
    "not yours" on its own."""
    answer = answers.reply_answer(text, candidates, PHONE, AT)
    assert "replied" not in answer and answer["unmatched"]["known"] == known
    assert answer["unmatched"]["phone"] == PHONE


def test_the_decline_reason_travels_to_dispatch():
    data = answers.reply_answer("TOLAK C0FFEE sedang dinas luar kota", [OPEN], PHONE, AT)["replied"]
    assert (data["action"], data["text"], data["assignment_id"], data["nrp"]) == (
        "decline", "sedang dinas luar kota", "a1", "90120344")


POLICY = SendPolicy()


def refused(reason: str, open_numbers=(), number=None, action="acknowledge", phone=PHONE) -> dict:
    return {"phone": phone, "nrp": None if reason == "stranger" else "90120344", "reason": reason,
            "action": action, "number": number, "open_numbers": list(open_numbers)}


@pytest.mark.parametrize("reason, number, open_numbers, kind, says", [
    ("finished", "C0FFEE", [], "officer_reply_done", "C0FFEE sudah selesai"),
    ("not_yours", "C0FFEE", ["ABCDEF"], "officer_reply_not_yours", "bukan tugas aktif"),
    ("which", None, ["C0FFEE", "ABCDEF"], "officer_reply_which", "C0FFEE, ABCDEF"),
    ("no_code", None, ["ABCDEF"], "officer_reply_help", "Tugas aktif: ABCDEF"),
    ("no_code", None, [], "officer_no_tasks", "tidak punya tugas aktif"),
    ("nothing_open", None, [], "officer_no_tasks", "tidak punya tugas aktif"),
])
def test_an_officers_reply_that_acts_on_nothing_is_answered_with_his_open_tasks_only(
        reason, number, open_numbers, kind, says):
    sms = answers.refusal_help(refused(reason, open_numbers, number), AT, POLICY)
    assert sms["kind"] == kind and says in sms["text"] and sms["segments"] == 1


def test_an_unknown_number_gets_one_neutral_answer_a_day_never_an_officers_wording():
    stranger = "+6287712345678"
    first = answers.refusal_help(refused("stranger", phone=stranger), AT, POLICY)
    later = answers.refusal_help(refused("stranger", phone=stranger), AT + timedelta(hours=23), POLICY)
    next_day = answers.refusal_help(refused("stranger", phone=stranger), AT + timedelta(hours=25), POLICY)
    assert first["kind"] == "stranger_help" and first["recipient_role"] == "citizen"
    assert "SIAGA:" not in first["text"] and "tugas" not in first["text"]
    assert first["sms_id"] == later["sms_id"] != next_day["sms_id"]
