"""Incident categories: reference data every service reads (priority, skills, Indonesian name)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    code: str
    name_id: str  # Indonesian name, as a 110 operator says it
    priority: str
    skills: tuple[str, ...]
    synonyms: tuple[str, ...] = ()


CATEGORIES: dict[str, Category] = {c.code: c for c in (
    Category("traffic_accident", "kecelakaan lalu lintas", "P1", ("first_aid", "traffic"),
             ("laka", "laka lantas", "lakalantas", "kecelakaan", "tabrakan")),
    Category("theft", "pencurian", "P3", ("investigation",),
             ("pencurian", "curanmor", "curat", "curas", "maling", "copet")),
    Category("robbery", "perampokan", "P1", ("armed_response",), ("perampokan", "begal", "rampok", "jambret")),
    Category("domestic_violence", "KDRT", "P1", ("ppa",), ("kdrt", "kekerasan dalam rumah tangga")),
    Category("brawl", "tawuran/perkelahian", "P1", ("crowd_control",), ("tawuran", "perkelahian", "berkelahi")),
    Category("disturbance", "keributan/gangguan ketertiban", "P3", (),
             ("keributan", "gangguan", "gangguan ketertiban", "ribut")),
    Category("fire", "kebakaran", "P1", ("first_aid",), ("kebakaran", "api", "terbakar")),
    Category("disaster", "banjir/bencana", "P2", ("first_aid",), ("banjir", "bencana", "longsor", "gempa")),
    Category("missing_person", "orang hilang", "P2", ("investigation",), ("orang hilang", "hilang", "anak hilang")),
    Category("other", "lainnya", "P4", (), ("lainnya", "lain-lain")),
)}

_BY_WORD = {word: c for c in CATEGORIES.values() for word in (c.code, *c.synonyms)}


def categorise(raw: str) -> Category:
    """A code or a Bahasa synonym; anything unknown is `other`, never a rejection."""
    key = " ".join(raw.lower().replace("_", " ").split())
    return _BY_WORD.get(key) or _BY_WORD.get(key.replace(" ", "_")) or CATEGORIES["other"]
