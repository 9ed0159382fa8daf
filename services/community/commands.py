"""What follows a community SMS command word, read tolerant of case, spacing and common slips. Pure.

    SAMBANG RW05 PASAR warga keluhkan parkir liar            a visit, in the officer's own village
    SAMBANG 31.71.06.1002 RW 4 sekolah ... LAPOR gangguan ..  in another village of his Polsek, reported
    LAPOR maling ayam di pos 3                                a Siskamling post leader's report
    DAFTAR 31.71.06.1001 RW 5      /  BERHENTI               a resident's consent to alerts, and its end

The command word itself is `shared.sms_commands`' (one table for every service).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from services.community.exceptions import Unclear
from shared import wilayah
from shared.categories import CATEGORIES, categorise
from shared.sms_commands import closest

CONCERN_LIMIT = 500
DESCRIPTION_LIMIT = 500

# What officers write for each kind of place (PLACE_KINDS in the contract), with their common spellings.
PLACE_WORDS: dict[str, str] = {
    **dict.fromkeys(("PASAR", "PSR", "WARUNG", "TOKO", "MALL", "PERTOKOAN"), "pasar"),
    **dict.fromkeys(("SEKOLAH", "SKL", "SD", "SMP", "SMA", "SMK", "MADRASAH", "PESANTREN", "KAMPUS"), "sekolah"),
    **dict.fromkeys(("IBADAH", "MASJID", "MESJID", "MUSHOLA", "MUSHOLLA", "MUSALA", "SURAU", "GEREJA", "PURA",
                     "VIHARA", "WIHARA", "KLENTENG", "KELENTENG"), "ibadah"),
    **dict.fromkeys(("PERMUKIMAN", "PEMUKIMAN", "PERUMAHAN", "RUMAH", "KAMPUNG", "WARGA", "RT"), "permukiman"),
    **dict.fromkeys(("KANTOR", "BALAI", "KELURAHAN", "PUSKESMAS", "POSYANDU"), "kantor"),
    **dict.fromkeys(("LAINNYA", "LAIN", "LAINYA", "LAIN2", "JALAN", "TAMAN"), "lainnya"),
}
REPORT_WORDS = {"LAPOR": "LAPOR", "LAPORKAN": "LAPOR", "LPR": "LAPOR"}
CATEGORY_WORDS: dict[str, str] = {word.upper(): c.code for c in CATEGORIES.values()
                                  for word in (c.code, *c.synonyms) if " " not in word}

_VILLAGE = re.compile(r"^(\d{2})[.\s]?(\d{2})[.\s]?(\d{2})[.\s]?(\d{4})(?![\d])")
_RW = re.compile(r"^(?:RW|R\.W)[\s.:/-]*0*(\d{1,3})(?!\d)", re.IGNORECASE)
_NUMBER = re.compile(r"^0*(\d{1,3})(?!\d)")
_WORD = re.compile(r"^\S+")


@dataclass(frozen=True)
class Area:
    """Where a command points: a village code (None: the sender's own) and an RW (None: none named)."""

    village_code: str | None = None
    rw: int | None = None


@dataclass(frozen=True)
class VisitCommand:
    area: Area
    place_kind: str
    concerns: str
    report: bool = False
    category: str | None = None  # when reported: the category named after LAPOR, else guessed
    description: str = ""


@dataclass(frozen=True)
class PostReport:
    category: str
    description: str


@dataclass(frozen=True)
class Subscription:
    area: Area


def read_area(text: str, need_village: bool = False) -> tuple[Area, str]:
    """A village code (`31.71.06.1001`, `3171061001`, `31 71 06 1001`) and/or an RW (`RW05`, `rw 5`, `RW.05`,
    or a bare number after a village code), and the rest of the text."""
    text = text.strip()
    village = None
    if match := _VILLAGE.match(text):
        village, text = ".".join(match.groups()), text[match.end():].lstrip(" /.-,")
        if not wilayah.village_exists(village):
            raise Unclear("kode_kelurahan")
    elif need_village:
        raise Unclear("kode_kelurahan")
    rw = None
    if match := _RW.match(text):
        rw, text = int(match.group(1)), text[match.end():]
    elif village and (match := _NUMBER.match(text)):
        rw, text = int(match.group(1)), text[match.end():]
    if rw == 0:
        raise Unclear("rw")
    return Area(village, rw), text.strip(" ,.:;-")


def place_kind(word: str) -> str | None:
    return closest(word.strip(".,:;"), PLACE_WORDS)


def read_visit(rest: str) -> VisitCommand:
    """`RW05 PASAR warga keluhkan parkir liar [LAPOR [kategori] uraian]`; a missing place kind is `lainnya`."""
    area, text = read_area(rest)
    if area.village_code is None and area.rw is None and not text:
        raise Unclear("rw")
    kind = "lainnya"
    if match := _WORD.match(text):
        if found := place_kind(match.group()):
            kind, text = found, text[match.end():].strip()
    before, report, after = _split_on_report(text)
    category = None
    if report:  # the category word is dropped from the concerns unless nothing else was said
        category, remainder = read_category(after)
        after = remainder if (before or remainder) and category != "other" else after
    concerns = " ".join(part for part in (before, after) if part)
    if report and not concerns:
        raise Unclear("uraian")
    return VisitCommand(area, kind, concerns[:CONCERN_LIMIT], report, category, concerns[:DESCRIPTION_LIMIT])


def _split_on_report(text: str) -> tuple[str, bool, str]:
    words = text.split()
    for index, word in enumerate(words):
        if closest(word.strip(".,:;!").upper(), REPORT_WORDS) and (index == 0 or not word.islower() or
                                                                   word.upper() in REPORT_WORDS):
            return " ".join(words[:index]), True, " ".join(words[index + 1:])
    return text, False, ""


def read_category(text: str) -> tuple[str, str]:
    """The category the first word (or two) names, tolerant of one slip; else `other`, the text kept whole."""
    words = text.split()
    if len(words) >= 2:
        two = categorise(f"{words[0]} {words[1]}")
        if two.code != "other" or f"{words[0]} {words[1]}".lower() in ("lain-lain",):
            return two.code, " ".join(words[2:])
    if words:
        code = closest(words[0].strip(".,:;"), CATEGORY_WORDS)
        if code:
            return code, " ".join(words[1:])
    return "other", text.strip()


def read_post_report(rest: str) -> PostReport:
    """`LAPOR <kategori> <uraian>`: the whole text is the description (the category word too: `maling ayam`);
    an unknown first word makes the category `other`."""
    category, _ = read_category(rest)
    if not rest.strip():
        raise Unclear("uraian")
    return PostReport(category, rest.strip()[:DESCRIPTION_LIMIT])


def read_subscription(rest: str) -> Subscription:
    """`DAFTAR <kode kelurahan> [RW]`: the village code is required, the RW optional."""
    area, _ = read_area(rest, need_village=True)
    return Subscription(area)
