"""The SMS command words people type to Siaga, and which service answers each: one table for all.

Inbound SMS reach every service that consumes `sms_received`; a service acts only on the texts whose
first word it owns here (notify answers everything else: officers' replies and the help for strangers),
so two services never answer one SMS. The first word is read tolerant of case, spacing, punctuation, a
number glued on (`SAMBANGRW05`) and one slip of the finger (`SAMBNG`, `DAFATR`, `BERHNETI`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Canonical word → (owning service, the words people also type for it). Shown to people: the canonical.
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "SAMBANG": ("community", ("SAMBANGI", "KUNJUNGAN", "DIALOGIS", "SMBG")),
    "LAPOR": ("community", ("LAPORAN", "LAPORKAN", "LPR")),
    "DAFTAR": ("community", ("REG", "REGISTRASI", "GABUNG")),
    "BERHENTI": ("community", ("STOP", "UNREG", "KELUAR", "BERHENTIKAN")),
    "BANTUAN": ("community", ("HELP", "INFO", "MENU")),
}
_EXACT = {word: canonical for canonical, (_, others) in COMMANDS.items() for word in (canonical, *others)}
_TOKEN = re.compile(r"[^\s.,:;#!?/()*=_\-]+")
FUZZY_MIN_LENGTH = 5  # shorter words are too close to other words for a slip to be guessed


@dataclass(frozen=True)
class Command:
    word: str  # the canonical command word
    rest: str  # what follows it, spaces collapsed


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein (adjacent swaps count one), stopping early past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous, current = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        before, previous, current = previous, current, [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
    return current[-1]


def closest(word: str, choices: dict[str, str], min_length: int = FUZZY_MIN_LENGTH) -> str | None:
    """The value of the one choice `word` equals, or is one slip away from (two for long words); None
    when none is that close, or two are equally close."""
    word = word.upper()
    if word in choices:
        return choices[word]
    if len(word) < min_length - 1:
        return None
    found: dict[str, int] = {}
    for candidate, value in choices.items():
        if len(candidate) < min_length:
            continue
        limit = 2 if len(candidate) >= 8 else 1
        distance = edit_distance(word, candidate, limit)
        if distance <= limit:
            found[value] = min(found.get(value, distance), distance)
    if not found:
        return None
    best = min(found.values())
    winners = [value for value, distance in found.items() if distance == best]
    return winners[0] if len(winners) == 1 else None


def parse(text: str) -> Command | None:
    """The command an SMS starts with, and the rest of it; None when its first word is no command."""
    match = _TOKEN.search(text or "")
    if match is None:
        return None
    token = match.group()
    word = closest(token, _EXACT)
    rest = text[match.end():]
    if word is None:  # a number glued on: SAMBANGRW05, DAFTAR3171061001
        glued = re.match(r"([A-Za-z]+?)((?:RW|rw|Rw)?\d.*)$", token)
        if glued and glued.group(1).upper() in _EXACT:
            word, rest = _EXACT[glued.group(1).upper()], glued.group(2) + rest
    if word is None:
        return None
    return Command(word, " ".join(rest.split()).strip(".,:;!?#*-_ "))


def owner(text: str) -> str | None:
    """The service that answers this SMS, when its first word is a command of the table; else None."""
    command = parse(text)
    return COMMANDS[command.word][0] if command else None
