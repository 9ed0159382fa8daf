"""Why an incident was refused, in English and Bahasa Indonesia: a person reads these.

Intake's own checks build their reasons here; marshmallow's messages (schema violations, from the
dead letter or an Open311 form) are translated by pattern, with a plain fallback that still says
which field is wrong.
"""
from __future__ import annotations

import re
from typing import Any

Explanation = dict[str, str]  # {"en": ..., "id": ...}


def explain(en: str, id: str) -> Explanation:
    return {"en": en, "id": id}


def unknown_village(code: str) -> Explanation:
    return explain(f"{code} is not a Kemendagri village code",
                   f"{code} bukan kode desa/kelurahan Kemendagri")


def invalid_phone(detail: str) -> Explanation:
    return explain(f"not a valid Indonesian phone number ({detail})", "nomor telepon tidak valid")


def in_the_future(minutes: int) -> Explanation:
    return explain(f"is in the future (more than {minutes} min after it was received)",
                   f"waktu kejadian di masa depan (lebih dari {minutes} menit setelah laporan diterima)")


def no_village_near(within_m: float) -> Explanation:
    return explain(f"no village of the provinces served here lies within {within_m:.0f} m of lat/lon: "
                   "give a village_code",
                   f"tidak ada desa/kelurahan wilayah layanan dalam {within_m:.0f} m dari titik lat/lon: "
                   "isi kode desa")


def address_not_matched(text: str, candidates: list[str]) -> Explanation:
    """`candidates`: how each village a person may mean reads ("Kel. X, Kec. Y, Kota Z (code)")."""
    if not candidates:
        return explain("names no kelurahan/desa of the provinces served here: give a village_code or lat/lon",
                       "tidak menyebut kelurahan/desa wilayah layanan: isi kode desa atau lat/lon")
    listed = "; ".join(candidates)
    return explain(f"could be several villages, give the village_code of one: {listed}",
                   f"bisa beberapa kelurahan/desa, isi kode salah satunya: {listed}")


def open311_needs_place() -> Explanation:
    return explain("give lat and long, address_id (a village code) or address_string",
                   "isi lat dan long, address_id (kode desa) atau address_string")


# marshmallow's default messages and this service's own schema messages → Bahasa Indonesia.
_PATTERNS: list[tuple[re.Pattern, str]] = [(re.compile(p), t) for p, t in (
    (r"^Missing data for required field\.$", "wajib diisi"),
    (r"^Field may not be null\.$", "tidak boleh kosong"),
    (r"^Unknown field\.$", "kolom tidak dikenal"),
    (r"^Not a valid string\.$", "harus berupa teks"),
    (r"^Not a valid (number|integer)\.$", "harus berupa angka"),
    (r"^Not a valid boolean\.$", "harus true atau false"),
    (r"^Not a valid (aware )?datetime\.$", "bukan tanggal dan waktu yang sah (ISO 8601 dengan zona waktu)"),
    (r"^Not a valid URL\.$", "bukan URL yang sah"),
    (r"^Not a valid email address\.$", "bukan alamat email yang sah"),
    (r"^Not a valid (mapping type|list)\.$|^Invalid input type\.$|^Invalid type\.$", "jenis data tidak sesuai"),
    (r"^Must be one of: (.*)\.$", r"harus salah satu dari: \1"),
    (r"^Must be equal to (.*)\.$", r"harus sama dengan \1"),
    (r"^Shorter than minimum length 1\.$", "tidak boleh kosong"),
    (r"^Shorter than minimum length (\d+)\.$", r"minimal \1 karakter"),
    (r"^Longer than maximum length (\d+)\.$", r"maksimal \1 karakter/isian"),
    (r"^Length must be between (\d+) and (\d+)\.$", r"panjang harus antara \1 dan \2"),
    (r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$", r"harus antara \1 dan \2"),
    (r"^String does not match expected pattern\.$", "formatnya tidak sesuai"),
    (r"^must look like PP\.KK\.CC\.DDDD$", "harus berformat PP.KK.CC.DDDD"),
    (r"^lat and lon come together$", "lat dan lon harus diisi bersama"),
    (r"^give a village_code, both lat and lon, or an address$", "isi village_code, lat dan lon, atau alamat"),
    (r"^lies outside Indonesia \(latitude (.*)\)$", r"di luar wilayah Indonesia (lintang \1)"),
    (r"^lies outside Indonesia \(longitude (.*)\)$", r"di luar wilayah Indonesia (bujur \1)"),
    (r"^an NRP is 8 to 18 digits$", "NRP terdiri dari 8 sampai 18 angka"),
    (r"^expected application/json", "harus berformat JSON (application/json)"),
    (r"^not valid JSON", "bukan JSON yang sah"),
    (r"^expected a JSON object", "harus berupa objek JSON"),
    (r"^failed \d+ times", "gagal diproses berulang kali; petugas teknis sudah diberi tahu"),
)]


def to_indonesian(message: str) -> str:
    for pattern, template in _PATTERNS:
        if pattern.search(message):
            return pattern.sub(template, message) if "\\" in template else template
    return f"data tidak valid ({message})"


def flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested {field: [msgs] | {sub: ...}} → {"a.b": "msg; msg"}."""
    if isinstance(messages, dict):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten(value, path))
        return flat
    if isinstance(messages, (list, tuple)):
        if all(isinstance(item, str) for item in messages):
            return {prefix or "_schema": "; ".join(messages)}
        flat = {}
        for item in messages:
            flat.update(flatten(item, prefix))
        return flat
    return {prefix or "_schema": str(messages)}


def explain_messages(messages: Any, prefix: str = "") -> dict[str, Explanation]:
    """Every marshmallow message, flat and in both languages."""
    return {
        field: explain(text, "; ".join(to_indonesian(part) for part in text.split("; ")))
        for field, text in flatten(messages, prefix).items()
    }


def explain_dead_letter(reasons: dict[str, Any]) -> dict[str, Explanation]:
    """A dead letter's reasons; `data.` is dropped so paths match intake's own (location.lat)."""
    explained: dict[str, Explanation] = {}
    for key, value in reasons.items():
        explained.update(explain_messages(value, "" if key == "data" else key))
    return explained
