"""Texts: GSM-7 where possible, one segment always, the facts an officer acts on never cut."""
from __future__ import annotations

import pytest

from services.notify import domain, sms
from shared.contract import INCIDENT_REPORTED, load_event
from tests.factories import create_incident

LONG = {
    "report_id": "c0ffee00-0000-5000-8000-000000000000", "number": "C0FFEE", "category": "domestic_violence",
    "priority": "P1", "description": "Terdengar teriakan “tolong” berulang kali dari rumah bercat hijau — "
    "tetangga melihat seorang perempuan berlari keluar sambil menggendong anak kecil " * 3,
    "village_code": "31.71.06.1005", "village_name": "Kebon Sirih Kelurahan Yang Namanya Panjang Sekali", "rw": 12,
    "address": "Jl. Kebon Sirih Timur Dalam Gang Masjid Al-Ikhlas No. 123A",
}
OFFICER = {"nrp": "75030412", "name": "Bripka Agus Setiawan", "rank": "Bripka", "role": "bhabinkamtibmas",
           "phone": "+6281210014412"}


def cause():
    return load_event(create_incident(), INCIDENT_REPORTED)


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


def test_curly_quotes_dashes_and_accents_are_transliterated_to_stay_gsm7():
    assert sms.transliterate("“Cukup” — café… ‘ok’") == '"Cukup" - café... \'ok\''
    assert sms.encode_info(sms.transliterate("Pesan dari Ŝiaga – ‘segera’"))[0] == sms.GSM7


def test_officer_assignment_with_long_values_fits_one_gsm7_segment_and_keeps_the_reply_codes():
    assignment = {"assignment_id": "a1", "officer": OFFICER, "report": LONG}
    message = domain.officer_assignment_sms(assignment, cause())
    assert (message["encoding"], message["segments"]) == (sms.GSM7, 1)
    assert message["text"].endswith("Balas: OK C0FFEE / TOLAK C0FFEE")
    assert "KDRT" in message["text"]


def test_duty_desk_escalation_with_long_values_fits_one_segment():
    escalation = {"report": LONG, "polsek": "31.71.06", "duty_desk": OFFICER | {"role": "duty_desk"},
                  "reason": "no area officer free", "skipped": []}
    message = domain.duty_desk_escalation_sms(escalation, cause())
    assert (message["encoding"], message["segments"]) == (sms.GSM7, 1)
    assert message["text"].startswith("SIAGA ESKALASI P1 #C0FFEE")


def test_escalation_without_a_duty_desk_sends_nothing():
    escalation = {"report": LONG, "polsek": "31.71.06", "duty_desk": None, "reason": "x", "skipped": []}
    assert domain.duty_desk_escalation_sms(escalation, cause()) is None


def test_one_sms_id_per_recipient_and_cause():
    first = cause()
    report = {"priority": "P1", "report_id": "r"}
    assert domain.sms_request(first, "+62811", "t", "officer", report)["sms_id"] == \
        domain.sms_request(first, "+62811", "x", "officer", report)["sms_id"]
    assert domain.sms_request(first, "+62811", "t", "officer", report)["sms_id"] != \
        domain.sms_request(first, "+62812", "t", "officer", report)["sms_id"]
