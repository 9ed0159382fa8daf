"""Every SMS Siaga sends, in Bahasa Indonesia, in one place.

Tone: a citizen hears from the police (polite `Yth. Bapak/Ibu`, signed `-Polri`, the 110
number when it matters); an officer or a duty desk gets the facts first, in the words used on
duty (`Laka lantas`, `piket`). Every text must fit one GSM-7 segment (160 characters) with the
longest realistic values; `shrinkable` names the fields that give way, free text first, so the
facts a person acts on (report number, category, place, how to answer) are cut last or never.
A test renders every template here with long values and proves the one segment.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.notify.replies import SHOWN_CODES


@dataclass(frozen=True)
class Template:
    name: str
    role: str  # who receives it: officer, reporter, duty_desk, citizen (anyone else who texted in)
    text: str
    shrinkable: tuple[str, ...] = ()  # shortened with "..." in this order until the text fits


OFFICER_ASSIGNMENT = Template(
    "officer_assignment", "officer",
    "SIAGA {priority} #{number} {category} di {place}{address}. {detail} "
    "Balas " + SHOWN_CODES + " {number}",
    shrinkable=("detail", "address", "place"))
OFFICER_REPLY_HELP = Template(
    "officer_reply_help", "officer",
    "SIAGA: balasan tidak dikenali. Tugas aktif: {numbers}. Kirim kode + no., mis. OK {number}. "
    "Kode: OK, TOLAK alasan, JALAN, TIBA, SELESAI hasil.",
    shrinkable=("numbers",))
OFFICER_NO_TASKS = Template(
    "officer_no_tasks", "officer",
    "SIAGA: nomor ini tidak punya tugas aktif. Tugas baru dikirim lewat SMS. Ada kejadian? Hubungi piket "
    "Polsek atau 110.")
OFFICER_REPLY_DONE = Template(
    "officer_reply_done", "officer",
    "SIAGA: laporan no. {number} sudah selesai dan tercatat. Terima kasih, tidak perlu dibalas lagi.")
OFFICER_REPLY_WHICH = Template(
    "officer_reply_which", "officer",
    "SIAGA: Anda punya {count} tugas aktif ({numbers}). Sertakan no. laporan, mis. {code} {number}.",
    shrinkable=("numbers",))
OFFICER_REPLY_NOT_YOURS = Template(
    "officer_reply_not_yours", "officer",
    "SIAGA: laporan no. {number} bukan tugas aktif nomor ini. Periksa nomornya atau hubungi piket Polsek.")
OFFICER_REPORT_CANCELLED = Template(
    "officer_report_cancelled", "officer",
    "SIAGA BATAL #{number}: laporan dibatalkan piket ({cancel_reason}). Tugas Anda selesai, "
    "tidak perlu ke lokasi.",
    shrinkable=("cancel_reason",))
DUTY_DESK_ESCALATION = Template(
    "duty_desk_escalation", "duty_desk",
    "SIAGA ESKALASI {priority} #{number} {category} di {place}{address}. {detail} "
    "Tak ada petugas wilayah, mohon ditangani.",
    shrinkable=("detail", "address", "place"))
DUTY_DESK_DECLINES = Template(
    "duty_desk_declines", "duty_desk",
    "SIAGA ESKALASI {priority} #{number} {category} di {place}{address}. {detail} "
    "{declines} petugas menolak/tak menjawab, mohon ditangani.",
    shrinkable=("detail", "address", "place"))
DUTY_DESK_DIGEST = Template(
    "duty_desk_digest", "duty_desk",
    "SIAGA ESKALASI {count} laporan lagi tanpa petugas: {items}. Lihat konsol piket.")
REPORTER_RECEIVED = Template(
    "reporter_received", "reporter",
    "Yth. Bapak/Ibu, laporan no. {number} ({category}, {place}) kami terima pukul {time}. "
    "Petugas segera ditugaskan. Darurat: 110. -Polri",
    shrinkable=("place",))
REPORTER_DUPLICATE = Template(
    "reporter_duplicate", "reporter",
    "Yth. Bapak/Ibu, laporan Anda kami terima pukul {time}. Kejadian ini sedang ditangani sebagai "
    "laporan no. {original}; kabarnya kami kirim ke nomor ini. -Polri")
REPORTER_EN_ROUTE = Template(
    "reporter_en_route", "reporter",
    "Yth. Bapak/Ibu, petugas {officer} sedang menuju lokasi laporan no. {number} sejak pukul {time}. "
    "Mohon tunggu di tempat yang aman. -Polri",
    shrinkable=("officer",))
REPORTER_RESOLVED = Template(
    "reporter_resolved", "reporter",
    "Yth. Bapak/Ibu, laporan no. {number} telah selesai ditangani petugas pukul {time}. Terima kasih "
    "telah membantu menjaga keamanan lingkungan. -Polri")
REPORTER_REJECTED = Template(
    "reporter_rejected", "reporter",
    "Yth. Bapak/Ibu, maaf, laporan Anda belum dapat kami proses: {reasons} tidak valid. Mohon periksa "
    "dan kirim ulang. Darurat: telepon 110. -Polri",
    shrinkable=("reasons",))
STRANGER_HELP = Template(
    "stranger_help", "citizen",
    "Nomor ini hanya mengirim pemberitahuan SIAGA Polri dan tidak menerima laporan. Untuk keadaan "
    "darurat telepon 110. -Polri")

REPORTER_CLOSED_BY_DESK = Template(
    "reporter_closed_by_desk", "reporter",
    "Yth. Bapak/Ibu, laporan no. {number} ditutup piket Polsek pukul {time}: {outcome}. Info: telepon 110. -Polri",
    shrinkable=("outcome",))

TEMPLATES: dict[str, Template] = {t.name: t for t in (
    OFFICER_ASSIGNMENT, OFFICER_REPLY_HELP, OFFICER_NO_TASKS, OFFICER_REPLY_DONE, OFFICER_REPLY_WHICH,
    OFFICER_REPLY_NOT_YOURS, OFFICER_REPORT_CANCELLED,
    DUTY_DESK_ESCALATION, DUTY_DESK_DECLINES, DUTY_DESK_DIGEST,
    REPORTER_RECEIVED, REPORTER_DUPLICATE, REPORTER_EN_ROUTE, REPORTER_RESOLVED, REPORTER_REJECTED,
    REPORTER_CLOSED_BY_DESK, STRANGER_HELP,
)}

# Short names on duty for officer and duty-desk texts; citizens read the full Indonesian name.
DUTY_CATEGORY_NAMES = {
    "traffic_accident": "Laka lantas", "theft": "Pencurian", "robbery": "Perampokan",
    "domestic_violence": "KDRT", "brawl": "Tawuran/perkelahian", "disturbance": "Gangguan ketertiban",
    "fire": "Kebakaran", "disaster": "Bencana/banjir", "missing_person": "Orang hilang", "other": "Lainnya",
}

# What a citizen calls each category, kept short enough to leave room for the place.
CITIZEN_CATEGORY_NAMES = {
    "traffic_accident": "kecelakaan lalu lintas", "theft": "pencurian", "robbery": "perampokan",
    "domestic_violence": "KDRT", "brawl": "tawuran/perkelahian", "disturbance": "gangguan ketertiban",
    "fire": "kebakaran", "disaster": "banjir/bencana", "missing_person": "orang hilang", "other": "kejadian lain",
}

# Field of a rejected incident → what a citizen calls it.
REJECTION_FIELDS = {
    "location": "lokasi", "reporter": "nomor telepon", "category": "jenis kejadian",
    "description": "keterangan", "occurred_at": "waktu kejadian",
}
REJECTION_OTHER = "isi laporan"
