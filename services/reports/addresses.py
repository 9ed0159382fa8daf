"""An address in words → its village: the names of kelurahan/desa, kecamatan and kota/kabupaten of
wilayah.csv, in the provinces this process serves. Pure, over an index built once.

Tolerant of what people type: case, punctuation, "Kel."/"Kelurahan"/"Desa", "Kec."/"Kecamatan",
"Kota"/"Kab."/"Kabupaten"/"Adm.", and the Jakarta shorthands (Jakpus, Jaksel, Jaktim, Jakbar, Jakut).
A marker binds the name after it: "Kec. Menteng" is the kecamatan only, "Kel. Menteng" the kelurahan.
The longest village name wins over a shorter one inside it (Menteng Dalam over Menteng); names of a
kecamatan or kota in the text keep only the villages inside them, and a name that is both a kelurahan and
its kecamatan ("Cikini, Menteng") is the kecamatan when another of its kelurahan is named. One village left
is the match; several, or none (then the districts named, else the nearest spellings), are candidates.
Street names are never matched: there is no street register here.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

from shared import wilayah

SHORTHANDS = {"jakpus": "jakarta pusat", "jaksel": "jakarta selatan", "jaktim": "jakarta timur",
              "jakbar": "jakarta barat", "jakut": "jakarta utara"}
VILLAGE_MARKERS = {"kel", "kelurahan", "desa", "ds", "gampong", "nagari"}
DISTRICT_MARKERS = {"kec", "kecamatan", "distrik"}
REGENCY_MARKERS = {"kota", "kab", "kabupaten", "kotamadya", "kodya"}
NOISE = {"adm", "administrasi", "jl", "jln", "jalan", "gg", "gang", "no", "rt", "rw", "dki", "provinsi", "prov"}
MARK_VILLAGE, MARK_DISTRICT, MARK_REGENCY = "<kel>", "<kec>", "<kota>"
MAX_WORDS = 5
MAX_CANDIDATES = 10
MAX_GRAMS = 30


def words(text: str) -> list[str]:
    """Lower-case words, shorthands expanded, markers as tokens of their own, digits and noise dropped."""
    tokens = []
    for word in re.findall(r"[a-z]+", text.lower().replace("'", "")):
        if word in SHORTHANDS:
            tokens += SHORTHANDS[word].split()
        elif word in VILLAGE_MARKERS:
            tokens.append(MARK_VILLAGE)
        elif word in DISTRICT_MARKERS:
            tokens.append(MARK_DISTRICT)
        elif word in REGENCY_MARKERS:
            tokens.append(MARK_REGENCY)
        elif word not in NOISE:
            tokens.append(word)
    return tokens


def name_key(name: str) -> str:
    return " ".join(token for token in words(name) if not token.startswith("<"))


@dataclass(frozen=True)
class Gazetteer:
    villages: dict[str, tuple[str, ...]]  # name key → village codes
    districts: dict[str, tuple[str, ...]]
    regencies: dict[str, tuple[str, ...]]
    by_initial: dict[str, tuple[str, ...]] = field(default_factory=dict)  # first letter → village name keys


@lru_cache(maxsize=4)
def gazetteer(provinces: tuple[str, ...]) -> Gazetteer:
    """The names of the served provinces' areas ("*": all), keyed as `words` reads them."""
    tables: tuple[dict, dict, dict] = ({}, {}, {})
    for code, name in wilayah.names().items():
        if "*" not in provinces and code[:2] not in provinces:
            continue
        level = {13: 0, 8: 1, 5: 2}.get(len(code))
        if level is not None:
            tables[level].setdefault(name_key(name), []).append(code)
    initials: dict[str, list[str]] = {}
    for key in tables[0]:
        initials.setdefault(key[:1], []).append(key)
    return Gazetteer(*({key: tuple(codes) for key, codes in table.items()} for table in tables),
                     by_initial={letter: tuple(keys) for letter, keys in initials.items()})


@dataclass(frozen=True)
class Matched:
    """`village_code` when exactly one village fits; else `candidates` (codes) for a person to choose."""

    village_code: str | None = None
    candidates: tuple[str, ...] = field(default_factory=tuple)


def match(text: str, provinces: Iterable[str]) -> Matched:
    book = gazetteer(tuple(provinces))
    tokens = words(text)
    villages, districts, regencies = _found(tokens, book)
    for codes, scope in ((districts, 8), (regencies, 5)):
        if codes and villages:
            inside = {code for code in villages if code[:scope] in codes}
            if not inside:  # the kecamatan or kota named holds none of them: a person decides
                return Matched(candidates=tuple(sorted(villages))[:MAX_CANDIDATES])
            villages = inside
    if len(villages) == 1:
        return Matched(village_code=next(iter(villages)))
    if villages:
        return Matched(candidates=tuple(sorted(villages))[:MAX_CANDIDATES])
    if districts or regencies:
        scope = districts or regencies
        return Matched(candidates=tuple(sorted(code for codes in book.villages.values() for code in codes
                                               if code[:8] in scope or code[:5] in scope))[:MAX_CANDIDATES])
    return Matched(candidates=_near_spellings(tokens, book))


def _found(tokens: list[str], book: Gazetteer) -> tuple[set[str], set[str], set[str]]:
    """Villages, districts and regencies named, each name bound by the marker before it (if any)."""
    spans: list[tuple[int, int, str, tuple[str, ...]]] = []  # (start, end, level, codes)
    for start in range(len(tokens)):
        marker = tokens[start - 1] if start and tokens[start - 1].startswith("<") else None
        for end in range(start + 1, min(start + MAX_WORDS, len(tokens)) + 1):
            key = " ".join(tokens[start:end])
            if "<" in key:
                break
            for level, table, own in (("village", book.villages, MARK_VILLAGE),
                                      ("district", book.districts, MARK_DISTRICT),
                                      ("regency", book.regencies, MARK_REGENCY)):
                if key in table and (marker is None or marker == own):
                    spans.append((start, end, level, table[key]))
    villages = [span for span in spans if span[2] == "village"]
    longest = [span for span in villages if not any(
        other[0] <= span[0] and span[1] <= other[1] and other[1] - other[0] > span[1] - span[0] for other in villages)]
    # a name inside a longer village name is not a name of its own ("Menteng" in "Menteng Dalam")
    others = [span for span in spans if span[2] != "village" and not any(
        v[0] <= span[0] and span[1] <= v[1] and v[1] - v[0] > span[1] - span[0] for v in longest)]
    picked: dict[str, set[str]] = {"village": set(), "district": set(), "regency": set()}
    for span in longest + others:
        picked[span[2]].update(span[3])
    # "Cikini, Menteng": Menteng is a kelurahan and its kecamatan; with Cikini of that kecamatan named too,
    # it is read as the kecamatan.
    for start, end, _, codes in longest:
        districts = {district for s_, e_, level, found in spans if (s_, e_, level) == (start, end, "district")
                     for district in found}
        if any(other[:8] in districts for other in picked["village"] - set(codes)):
            picked["village"] -= set(codes)
    return picked["village"], picked["district"], picked["regency"]


def _near_spellings(tokens: list[str], book: Gazetteer) -> tuple[str, ...]:
    """Names spelt nearly like a few words of the text, among names of the same first letter (a bounded
    search, whatever the text's length or the number of provinces served)."""
    grams = sorted({" ".join(tokens[i:i + n]) for n in (1, 2, 3) for i in range(len(tokens) - n + 1)
                    if not any(t.startswith("<") for t in tokens[i:i + n])})[:MAX_GRAMS]
    close = {name for gram in grams if len(gram) >= 4
             for name in difflib.get_close_matches(gram, book.by_initial.get(gram[:1], ()), 3, 0.8)}
    return tuple(sorted(code for name in close for code in book.villages[name]))[:MAX_CANDIDATES]


def describe(code: str) -> str:
    """"Kel. Gondangdia, Kec. Menteng, Kota Administrasi Jakarta Pusat (31.71.06.1004)": what a person picks from."""
    names = wilayah.names()
    kind = "Kel." if code[9] == "1" else "Desa"
    return (f"{kind} {names.get(code, code)}, Kec. {names.get(code[:8], code[:8])}, "
            f"{names.get(code[:5], code[:5])} ({code})")
