"""Kemendagri area codes and names (shared/data/wilayah.csv), the reference data every service reads.

Published data, not a shared table: each service loads the same file into memory once.
"""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "wilayah.csv"
# The Polsek of a district under its own name where it differs from "Polsek <kecamatan>" (Polda Metro Jaya's
# "Polsek Metro …"): what Open311's agency_responsible and texts show, as the roster names it.
POLSEK_FILE = Path(__file__).parent / "data" / "polsek.csv"
VILLAGE_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")

# Province code → (zone name, UTC offset hours). WITA and WIT provinces; the rest are WIB.
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96", "97"}


@lru_cache(maxsize=1)
def names() -> dict[str, str]:
    with DATA_FILE.open(newline="", encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def village_exists(code: str) -> bool:
    return bool(VILLAGE_CODE.match(code)) and code in names()


def village_name(code: str) -> str | None:
    return names().get(code)


@lru_cache(maxsize=1)
def _polsek_names() -> dict[str, str]:
    with POLSEK_FILE.open(newline="", encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def polsek_name(district: str) -> str:
    """"Polsek Metro Menteng" for 31.71.06: the name in polsek.csv, else "Polsek <kecamatan>"."""
    return _polsek_names().get(district) or f"Polsek {names().get(district, district)}"


def district_code(village_code: str) -> str:
    return village_code.rsplit(".", 1)[0]


def time_zone(code: str) -> tuple[str, int]:
    """Local zone of an area by its province: WIB (UTC+7), WITA (+8) or WIT (+9)."""
    province = code[:2]
    if province in _WIT:
        return "WIT", 9
    if province in _WITA:
        return "WITA", 8
    return "WIB", 7
