"""Every SMS community sends, in Bahasa Indonesia, each one GSM-7 segment (a unit test renders every one with
long values), and the short names people read for places and areas. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from shared import sms, wilayah


@dataclass(frozen=True)
class Template:
    name: str
    role: str  # officer or citizen (residents and post leaders), as notify's sms_requested says it
    text: str
    shrinkable: tuple[str, ...] = ()


VISIT_RECORDED = Template(
    "visit_recorded_reply", "officer",
    "SIAGA: sambang #{number} tercatat: {place}, {area}, {time}. Keluhan: {concerns}",
    shrinkable=("concerns", "area"))
VISIT_REPORTED = Template(
    "visit_reported_reply", "officer",
    "SIAGA: sambang #{number} tercatat ({place}, {area}) dan keluhan dilaporkan sbg {category}. "
    "Petugas wilayah akan ditugaskan.",
    shrinkable=("area",))
VISIT_HELP = Template(
    "visit_help", "officer",
    "SIAGA: SAMBANG RW<no> <tempat> <keluhan>, mis. SAMBANG RW05 PASAR parkir liar. "
    "Tempat: pasar/sekolah/ibadah/permukiman/kantor/lainnya. +LAPOR=laporan")
VISIT_NOT_YOURS = Template(
    "visit_not_your_area", "officer",
    "SIAGA: {area} bukan wilayah Polsek Anda. Sebut RW di kelurahan Anda (SAMBANG RW05 PASAR ...) "
    "atau kode kelurahan di Polsek Anda.",
    shrinkable=("area",))
OFFICERS_ONLY = Template(
    "officers_only", "citizen",
    "SAMBANG hanya untuk petugas Polri yang terdaftar di SIAGA. Info keamanan: DAFTAR <kode kelurahan> <RW>. "
    "Darurat: 110")
POST_HELP = Template(
    "post_report_help", "citizen",
    "SIAGA pos ronda: LAPOR <kategori> <uraian>, mis. LAPOR maling motor dicuri di gang 3. Kategori: maling, "
    "begal, tawuran, kebakaran, banjir, laka, ribut")
NOT_A_POST = Template(
    "not_a_post", "citizen",
    "Nomor ini belum terdaftar sebagai pos ronda (Siskamling) di SIAGA; hubungi Polsek untuk mendaftar. "
    "Darurat: telepon 110. -Polri")
SUBSCRIBED = Template(
    "subscribed", "citizen",
    "Anda setuju menerima info keamanan SIAGA Polri utk {area} lewat SMS. Berhenti kapan saja: kirim BERHENTI. "
    "-{polsek}",
    shrinkable=("polsek", "area"))
SUBSCRIBE_HELP = Template(
    "subscribe_help", "citizen",
    "Daftar info keamanan SIAGA: kirim DAFTAR <kode kelurahan> <RW>, mis. DAFTAR 31.71.06.1001 RW05. "
    "Berhenti: kirim BERHENTI. -Polri")
UNSUBSCRIBED = Template(
    "unsubscribed", "citizen",
    "Anda berhenti menerima info keamanan SIAGA Polri; catatan persetujuan Anda disimpan sesuai UU PDP. "
    "Daftar lagi: DAFTAR <kode kelurahan>")
NOT_SUBSCRIBED = Template(
    "not_subscribed", "citizen",
    "Nomor ini tidak terdaftar menerima info keamanan SIAGA. Daftar: DAFTAR <kode kelurahan> <RW>. -Polri")
HELP = Template(
    "community_help", "citizen",
    "SIAGA Polri. Info keamanan: DAFTAR <kode kelurahan> <RW>, berhenti: BERHENTI. Pos ronda: LAPOR <kategori> "
    "<uraian>. Darurat: 110")
# The alert itself: the operator's text is never shortened; an alert that does not fit is refused.
ALERT = Template("community_alert", "citizen", "INFO {polsek} utk {area}: {text} Stop: BERHENTI")

TEMPLATES: dict[str, Template] = {t.name: t for t in (
    VISIT_RECORDED, VISIT_REPORTED, VISIT_HELP, VISIT_NOT_YOURS, OFFICERS_ONLY, POST_HELP, NOT_A_POST,
    SUBSCRIBED, SUBSCRIBE_HELP, UNSUBSCRIBED, NOT_SUBSCRIBED, HELP, ALERT)}

PLACE_NAMES = {"pasar": "pasar", "sekolah": "sekolah", "ibadah": "tempat ibadah", "permukiman": "permukiman",
               "kantor": "kantor", "lainnya": "lainnya"}
CATEGORY_NAMES = {
    "traffic_accident": "laka lantas", "theft": "pencurian", "robbery": "perampokan", "domestic_violence": "KDRT",
    "brawl": "tawuran", "disturbance": "gangguan", "fire": "kebakaran", "disaster": "bencana",
    "missing_person": "orang hilang", "other": "lainnya",
}


def render(template: Template, **values: Any) -> str:
    return sms.fit(template.text, template.shrinkable, **values)


def area_text(village_code: str | None, rw: int | None = None, district: str | None = None) -> str:
    """`RW 05 Kel. Menteng`, `Kel. Menteng`, `Kec. Menteng`: what a resident calls the area."""
    if village_code is None:
        return f"Kec. {wilayah.names().get(district or '', district or '')}"
    name = wilayah.village_name(village_code) or village_code
    kind = "Desa" if village_code.rsplit(".", 1)[-1].startswith("2") else "Kel."
    return f"RW {rw:02d} {kind} {name}" if rw else f"{kind} {name}"


def short_polsek(district: str) -> str:
    return wilayah.polsek_name(district)


def local_time(at: datetime, code: str) -> str:
    zone, hours = wilayah.time_zone(code)
    aware = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return f"{aware.astimezone(timezone(timedelta(hours=hours))):%H:%M} {zone}"
