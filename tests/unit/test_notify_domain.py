"""Texts, recipients and the send policy: pure rules, no broker."""
from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone

import pytest

from services.notify import domain, sending, templates, texts
from services.notify.exceptions import TemplateDoesNotFit
from services.notify.settings import SendPolicy
from shared import settings, sms
from shared.contract import INCIDENT_REPORTED, load_event
from tests.factories import (
    DUPLICATE_PHONE,
    DUTY_DESK,
    LONG_DESCRIPTION,
    LONG_OFFICER,
    LONG_PLACE,
    OFFICER,
    REPORTER_PHONE,
    as_event,
    create_assignment_created,
    create_assignment_escalated,
    create_duplicate_reported,
    create_incident,
    create_report_received,
    create_report_rejected,
    create_step,
)

LONG = {
    "report_id": "c0ffee00-0000-5000-8000-000000000000", "number": "C0FFEE", "category": "domestic_violence",
    "priority": "P1", "description": LONG_DESCRIPTION, "village_code": "31.71.06.1005",
    "village_name": "Kebon Sirih Kelurahan Yang Namanya Panjang Sekali", "rw": 12,
    "address": "Jl. Kebon Sirih Timur Dalam Gang Masjid Al-Ikhlas No. 123A",
}

# The longest realistic value of every field any template has. A new template field without a
# long value here fails the one-segment proof below, on purpose.
LONG_VALUES = {
    "priority": "P1",
    "number": "C0FFEE",
    "original": "ABCDEF",
    "category": max(templates.DUTY_CATEGORY_NAMES.values(), key=len),
    "place": texts.place_text(LONG_PLACE),
    "address": texts.address_text(LONG_PLACE),
    "detail": texts.sentence(LONG_DESCRIPTION),
    "declines": 12,
    "count": 12,
    "numbers": "C0FFEE, A1B2C3, 99FF00, 123456, ABCDEF, 0F0F0F",
    "items": "#C0FFEE P1 Kebon Sirih Kelurahan Yang Namanya Panjang Sekali +11 lainnya",
    "code": "SELESAI",
    "time": "23:59 WITA",
    "officer": texts.officer_title(LONG_OFFICER),
    "reasons": texts.rejection_reasons_text({"location": "x", "reporter.phone": "x", "category": "x",
                                              "description": "x", "occurred_at": "x", "envelope": "x"}),
    "cancel_reason": "Pelapor menelepon kembali: kejadian sudah diselesaikan warga sendiri " * 4,
    "outcome": "diteruskan ke Polres: " + "pelaku sudah diamankan warga dan diserahkan ke Polres Jakarta Pusat " * 4,
}
CITIZEN_CATEGORY = max(templates.CITIZEN_CATEGORY_NAMES.values(), key=len)


def fields_of(template: templates.Template) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template.text) if name}


def values_for(template: templates.Template) -> dict:
    values = {name: LONG_VALUES[name] for name in fields_of(template)}
    if template.role in ("reporter", "citizen") and "category" in values:
        values["category"] = CITIZEN_CATEGORY
    return values


def cause():
    return load_event(create_incident(), INCIDENT_REPORTED)


# ---- encoding ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, encoding", [
    ("Balas OK 1234", sms.GSM7), ("Harga {promo} €5", sms.GSM7), ("Tolong 🙏", sms.UCS2), ("“kutip”", sms.UCS2),
])
def test_encoding_is_gsm7_only_when_every_character_allows_it(text, encoding):
    assert sms.encode_info(text)[0] == encoding


def test_extension_characters_count_two_septets():
    assert sms.encode_info("{}")[1] == 4


@pytest.mark.parametrize("length, segments", [(160, 1), (161, 2), (306, 2), (307, 3)])
def test_gsm7_segments(length, segments):
    assert sms.encode_info("a" * length)[2] == segments


@pytest.mark.parametrize("length, segments", [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_segments(length, segments):
    assert sms.encode_info("й" * length)[2] == segments


def test_curly_quotes_dashes_and_accents_are_transliterated_to_stay_gsm7():
    assert sms.transliterate("“Cukup” — café… ‘ok’") == '"Cukup" - café... \'ok\''
    assert sms.encode_info(sms.transliterate("Pesan dari Ŝiaga – ‘segera’"))[0] == sms.GSM7


def test_an_emoji_a_citizen_typed_is_left_out_rather_than_making_the_sms_ucs2():
    assert sms.gsm7_text("Tolong 🙏 “cepat”") == 'Tolong "cepat"'


# ---- the one-segment proof ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(templates.TEMPLATES))
def test_every_template_with_the_longest_realistic_values_is_one_gsm7_segment(name):
    template = templates.TEMPLATES[name]
    text = texts.render(template, **values_for(template))
    assert sms.encode_info(text)[0] == sms.GSM7
    assert sms.encode_info(text)[2] == 1, text
    for fact in ("number", "original", "code", "time"):  # what a person acts on is never cut
        if fact in fields_of(template):
            assert str(LONG_VALUES[fact]) in text


@pytest.mark.parametrize("name", sorted(templates.TEMPLATES))
def test_every_template_with_everyday_values_is_sent_whole(name):
    template = templates.TEMPLATES[name]
    citizen = template.role in ("reporter", "citizen")
    everyday = {"priority": "P3", "number": "4B21C0", "original": "9F00A1",
                "category": "kecelakaan lalu lintas" if citizen else "Laka lantas",
                "place": "Kel. Kebon Kacang" + ("" if citizen else ", RW 05"), "address": ", Jl. Teuku Umar 3",
                "detail": "Motor hilang di parkiran.",
                "declines": 2, "count": 2, "numbers": "4B21C0, 9F00A1", "code": "OK", "time": "08:15 WIB",
                "items": "#4B21C0 P3 Kebon Kacang, #9F00A1 P2 Gambir",
                "officer": "Bripka Agus Setiawan", "reasons": "lokasi", "cancel_reason": "salah lapor",
                "outcome": "diteruskan ke Polres: pelaku diamankan"}
    values = {key: everyday[key] for key in fields_of(template)}
    text = texts.render(template, **values)
    assert "..." not in text and all(str(v).strip(", ") in text for v in values.values())


def test_a_template_that_cannot_fit_is_refused_with_a_readable_reason():
    too_long = templates.Template("too_long", "officer", "x" * 150 + " {number} " + "y" * 20)
    with pytest.raises(TemplateDoesNotFit, match="too_long.*does not fit one segment"):
        texts.render(too_long, number="C0FFEE")


def test_the_officer_sms_keeps_the_reply_codes_and_gives_way_on_the_description():
    created = as_event(create_assignment_created(create_report_received(), data={"report": LONG}))
    [message] = domain.officer_assignment_sms(created)
    assert (message["encoding"], message["segments"]) == (sms.GSM7, 1)
    assert message["text"].endswith("Balas OK/TOLAK/JALAN/TIBA/SELESAI C0FFEE")
    assert message["text"].startswith("SIAGA P1 #C0FFEE KDRT di Kel. Kebon Sirih")
    assert "..." in message["text"]


# ---- who gets what ------------------------------------------------------------------------------

def test_reporter_is_told_the_report_arrived_with_its_number_and_local_time():
    received = as_event(create_report_received(data={"received_at": datetime(2025, 3, 1, 7, 5, tzinfo=timezone.utc)}))
    [message] = domain.report_received_sms(received)
    assert message["to"] == REPORTER_PHONE and message["recipient_role"] == "reporter"
    assert received.data["number"] in message["text"] and "14:05 WIB" in message["text"]
    assert "(kecelakaan lalu lintas, Kel. Menteng)" in message["text"]


@pytest.mark.parametrize("reporter, anonymous", [
    ({"name": "Budi", "phone": REPORTER_PHONE}, True), (None, True), ({"name": "Budi", "phone": None}, False),
])
def test_an_anonymous_reporter_or_one_without_a_phone_is_told_nothing(reporter, anonymous):
    received = as_event(create_report_received(data={"reporter": reporter, "anonymous": anonymous}))
    assert domain.report_received_sms(received) == []


def test_a_duplicates_reporter_learns_the_original_number():
    duplicate = as_event(create_duplicate_reported(create_report_received()))
    [message] = domain.duplicate_reported_sms(duplicate)
    assert message["to"] == DUPLICATE_PHONE and duplicate.data["original_number"] in message["text"]
    assert message["report_id"] == duplicate.data["original_report_id"]


def test_a_rejection_is_one_sms_per_original_message_whatever_the_rejection_events_id():
    first = create_report_rejected()
    again = create_report_rejected(data={"original": first["data"]["original"]})
    [one], [two] = domain.report_rejected_sms(as_event(first)), domain.report_rejected_sms(as_event(again))
    assert one["sms_id"] == two["sms_id"] and "lokasi" in one["text"]


def test_a_rejection_without_a_phone_sends_nothing():
    assert domain.report_rejected_sms(as_event(create_report_rejected(data={"reporter_phone": None}))) == []


@pytest.mark.parametrize("reasons, text", [
    ({"location.village_code": "x"}, "lokasi"),
    ({"location.village_code": "x", "reporter.phone": "x"}, "lokasi dan nomor telepon"),
    ({"data": {"location": {"lat": ["x"]}, "category": ["x"]}}, "lokasi dan jenis kejadian"),
    ({"body": "not valid JSON"}, "isi laporan"),
])
def test_rejection_reasons_are_named_as_a_citizen_would(reasons, text):
    assert texts.rejection_reasons_text(reasons) == text


def test_the_reporters_followed_are_those_of_the_report_and_its_duplicates_with_the_reports_own_summary():
    received = create_report_received()
    first_sms = (domain.duplicate_reported_sms(as_event(create_duplicate_reported(received)))
                 + domain.report_received_sms(as_event(received)))
    followed = domain.followed(first_sms)
    assert followed["reporters"] == [DUPLICATE_PHONE, REPORTER_PHONE]
    assert followed["number"] == received["data"]["number"]
    assert followed["place"]["village_code"] == received["data"]["place"]["village_code"]
    assert domain.followed([]) is None


def test_the_reporter_hears_rank_and_name_of_the_officer_on_the_way_never_the_officers_phone():
    received = create_report_received()
    first_sms = (domain.report_received_sms(as_event(received))
                 + domain.duplicate_reported_sms(as_event(create_duplicate_reported(received))))
    followed = domain.followed(first_sms)
    departed = as_event(create_step("departed", create_assignment_created(received)))
    messages = domain.reporter_update_sms(departed, followed, templates.REPORTER_EN_ROUTE)
    assert [m["to"] for m in messages] == [REPORTER_PHONE, DUPLICATE_PHONE]
    assert "Bripda Rizky Pratama" in messages[0]["text"]
    assert OFFICER["phone"] not in messages[0]["text"] and OFFICER["phone"][3:] not in messages[0]["text"]


def test_a_report_nobody_follows_sends_no_update():
    departed = as_event(create_step("departed", create_assignment_created(create_report_received())))
    assert domain.reporter_update_sms(departed, None, templates.REPORTER_EN_ROUTE) == []


def test_escalation_goes_to_the_duty_desk_and_says_when_officers_declined():
    escalated = as_event(create_assignment_escalated(create_report_received()))
    [plain] = domain.duty_desk_escalation_sms(escalated)
    [declined] = domain.duty_desk_escalation_sms(escalated, declines=2)
    assert plain["text"].startswith("SIAGA ESKALASI P1") and plain["kind"] == "duty_desk_escalation"
    assert "2 petugas" in declined["text"] and declined["kind"] == "duty_desk_declines"
    assert plain["sms_id"] == declined["sms_id"]  # one SMS per (recipient, cause), whatever the count


def test_escalation_without_a_duty_desk_sends_nothing():
    assert domain.duty_desk_escalation_sms(as_event(create_assignment_escalated(create_report_received(),
                                                                                duty_desk=None))) == []


def test_an_officer_whose_decline_reason_merely_starts_like_a_cancellation_is_not_told_to_stand_down():
    typed = as_event(create_step("declined", create_assignment_created(create_report_received()), via="sms",
                                 data={"reason": "report cancelled: kata warga sudah selesai"}))
    assert domain.officer_report_cancelled_sms(typed) == []


def test_the_officer_of_a_cancelled_report_is_told_to_stand_down_with_the_duty_officers_reason():
    cancelled = as_event(create_step("declined", create_assignment_created(create_report_received()),
                                     data={"reason": "report cancelled: salah lapor", "report_cancelled": True}))
    [stand_down] = domain.officer_report_cancelled_sms(cancelled)
    assert stand_down["kind"] == "officer_report_cancelled" and stand_down["to"] == OFFICER["phone"]
    assert "(salah lapor)" in stand_down["text"]


def test_one_sms_id_per_recipient_and_cause():
    first, second = cause(), cause()
    assert domain.sms_id_for(first, "+62811") == domain.sms_id_for(first, "+62811")
    assert domain.sms_id_for(first, "+62811") != domain.sms_id_for(first, "+62812")
    assert domain.sms_id_for(first, "+62811") != domain.sms_id_for(second, "+62811")


@pytest.mark.parametrize("officer, title", [
    ({"rank": "Bripka", "name": "Bripka Agus Setiawan"}, "Bripka Agus Setiawan"),
    ({"rank": "Bripda", "name": "Rizky Pratama"}, "Bripda Rizky Pratama"),
])
def test_the_rank_is_said_once(officer, title):
    assert texts.officer_title(officer) == title


@pytest.mark.parametrize("village, shown", [
    ("31.71.06.1001", "14:05 WIB"), ("51.71.01.1001", "15:05 WITA"), ("91.71.01.1001", "16:05 WIT"),
    (None, "14:05 WIB"),
])
def test_times_are_in_the_provinces_zone(village, shown):
    assert texts.local_time(datetime(2025, 3, 1, 7, 5, tzinfo=timezone.utc), village) == shown


@pytest.mark.parametrize("place, text", [
    ({"village_code": "31.71.06.1001", "village_name": "Menteng", "rw": 5}, "Kel. Menteng, RW 05"),
    ({"village_code": "13.05.16.2006", "village_name": "Sungai Durian", "rw": None}, "Desa Sungai Durian"),
    ({"village_code": None, "village_name": None, "rw": None}, "lokasi belum jelas"),
])
def test_place_names_say_kelurahan_or_desa(place, text):
    assert texts.place_text(place) == text


# ---- the send policy ----------------------------------------------------------------------------

POLICY = SendPolicy(answer_timeout=10, max_attempts=3, backoff_base=2, backoff_max=5)
NOW = datetime(2025, 3, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("attempt, low, high", [(1, 1, 2), (2, 2, 4), (3, 2.5, 5), (9, 2.5, 5)])
def test_backoff_doubles_up_to_a_cap_with_jitter_between_half_and_all_of_it(attempt, low, high):
    assert sending.retry_delay(attempt, POLICY, rand=lambda: 0.0) == low
    assert sending.retry_delay(attempt, POLICY, rand=lambda: 1.0) == high


def test_a_temporary_refusal_is_retried_after_the_backoff_until_the_last_attempt():
    retry = sending.after_refusal(1, {"temporary": True, "reason": "busy"}, NOW, POLICY, rand=lambda: 1.0)
    assert retry["state"] == sending.RETRYING and retry["next_attempt_at"] == NOW + timedelta(seconds=2)
    last = sending.after_refusal(3, {"temporary": True, "reason": "busy"}, NOW, POLICY)
    assert last["state"] == sending.FAILING and "after 3 attempts" in last["failure"]


def test_a_final_refusal_gives_up_at_once():
    assert sending.after_refusal(1, {"temporary": False, "reason": "blocked"}, NOW, POLICY)["state"] == sending.FAILING


def test_the_timer_times_out_an_unanswered_attempt_publishes_a_due_retry_and_reports_a_failure():
    timed_out = sending.due_step({"state": sending.REQUESTED, "attempt": 1}, NOW, POLICY)
    assert timed_out["state"] == sending.RETRYING and "no answer" in timed_out["last_refusal"]
    retry = sending.due_step({"state": sending.RETRYING, "attempt": 1}, NOW, POLICY)
    assert retry == {"state": sending.REQUESTED, "attempt": 2, "requested_at": NOW,
                     "next_attempt_at": NOW + timedelta(seconds=10)}
    assert sending.due_step({"state": sending.FAILING, "attempt": 3}, NOW, POLICY)["state"] == sending.FAILED


@pytest.mark.parametrize("status, state", [
    ("delivered", "delivered"), ("unknown", "unknown"),
    ("undelivered", sending.FAILING), ("expired", sending.FAILING), ("rejected", sending.FAILING),
])
def test_a_receipt_of_non_delivery_makes_the_recipient_unreachable(status, state):
    assert sending.after_delivery(status, NOW)["state"] == state


def test_policy_reads_config_values_of_any_yaml_type():
    policy = settings.load(SendPolicy, {"ANSWER_TIMEOUT": "0.5", "MAX_ATTEMPTS": 3, "BACKOFF_MAX": ""})
    assert (policy.answer_timeout, policy.max_attempts, policy.backoff_max) == (0.5, 3, 300.0)


def test_an_overdue_receipt_is_asked_for_again_then_the_sms_is_left_unconfirmed():
    policy = SendPolicy(receipt_window=60, receipt_asks=2)
    sent = {"state": sending.SENT, "attempt": 1}
    first = sending.due_step(sent, NOW, policy)
    assert first == {"receipt_asks": 1, "next_attempt_at": NOW + timedelta(seconds=60)}
    assert sending.due_step(sent | first, NOW, policy)["receipt_asks"] == 2
    assert sending.due_step(sent | {"receipt_asks": 2}, NOW, policy)["state"] == sending.UNCONFIRMED


# ---- a duty desk's digest -------------------------------------------------------------------------

def held_escalation(number: str, priority: str, village: str, minute: int) -> dict:
    return {"_id": f"sms-{number}", "priority": priority, "created_at": NOW + timedelta(minutes=minute),
            "digest_item": domain.digest_item({"number": number, "priority": priority, "village_name": village})}


def test_a_digest_names_p1_first_and_fits_one_segment_counting_the_rest():
    held = [held_escalation(f"A{i:05d}", "P3" if i % 3 else "P1", "Kebon Sirih Timur", i) for i in range(80)]
    digest = domain.duty_desk_digest_sms(DUTY_DESK["phone"], held)
    assert digest["segments"] == 1 and digest["encoding"] == sms.GSM7 and digest["priority"] == "P1"
    assert digest["text"].startswith("SIAGA ESKALASI 80 laporan lagi tanpa petugas: #A00000 P1 Kebon Sirih Timur")
    shown = digest["text"].count("#")
    assert f"+{80 - shown} lainnya" in digest["text"] and digest["grouped"][0] == "sms-A00000"


def test_a_small_digest_names_every_escalation_and_the_same_set_is_the_same_sms():
    held = [held_escalation("B7C2D1", "P2", "Menteng", 1), held_escalation("A4E9F0", "P1", "Gondangdia", 2)]
    digest = domain.duty_desk_digest_sms(DUTY_DESK["phone"], held)
    assert digest["text"] == ("SIAGA ESKALASI 2 laporan lagi tanpa petugas: #A4E9F0 P1 Gondangdia, "
                              "#B7C2D1 P2 Menteng. Lihat konsol piket.")
    assert domain.duty_desk_digest_sms(DUTY_DESK["phone"], held[::-1])["sms_id"] == digest["sms_id"]
