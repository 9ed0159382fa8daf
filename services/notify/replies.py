"""Officer reply codes and the tolerant parser of what an officer types back.

The codes live here only: the assignment SMS shows the first code of each action and the parser
accepts every listed code, so the text an officer reads and what Siaga understands never drift.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from shared.reply_matching import canonical_number

# action (as in OfficerRepliedSchema) → codes an officer may type; the first is the one shown.
REPLY_CODES: dict[str, tuple[str, ...]] = {
    "acknowledge": ("OK", "SIAP", "TERIMA", "YA"),
    "decline": ("TOLAK", "TIDAK", "MENOLAK"),
    "en_route": ("JALAN", "OTW", "BERANGKAT", "MENUJU"),
    "on_scene": ("TIBA", "SAMPAI", "DILOKASI"),
    "complete": ("SELESAI", "BERES", "SLS"),
}
SHOWN_CODES = "/".join(codes[0] for codes in REPLY_CODES.values())  # OK/TOLAK/JALAN/TIBA/SELESAI
_ACTION_OF = {code: action for action, codes in REPLY_CODES.items() for code in codes}
# Words people put between the code and the number: "OK no. C0FFEE", "TIBA laporan #C0FFEE".
_FILLERS = {"NO", "NOMOR", "NOMER", "NMR", "LAPORAN", "LAP", "TUGAS", "KASUS"}
_TOKEN = re.compile(r"[^\s.,:;#!?/()*=_\-]+")


@dataclass(frozen=True)
class ParsedReply:
    action: str | None  # None: no reply code found
    number: str | None  # the report number as typed (canonical form), if any
    text: str | None  # what followed: a decline reason or an outcome


def looks_like_number(token: str, known: set[str]) -> bool:
    """A report number: one the sender knows, or a short code with a digit in it (words have none)."""
    canonical = canonical_number(token)
    return canonical in known or (4 <= len(canonical) <= 10 and any(c.isdigit() for c in token))


def parse_reply(text: str, known_numbers: set[str] = frozenset()) -> ParsedReply:
    """Read `OK C0FFEE`, `ok c0ffee`, ` Ok,#C0FFEE `, `okC0FFEE`, `TOLAK C0FFEE sedang sakit`, `tiba`.

    `known_numbers` (canonical) are the sender's own report numbers, so a number typed without a
    digit in it (all letters) is still recognised.
    """
    tokens = list(_TOKEN.finditer(text))
    if not tokens:
        return ParsedReply(None, None, None)
    action, glued = _code(tokens[0].group())
    if action is None:
        return ParsedReply(None, None, None)
    rest = [(t.group(), t.start()) for t in tokens[1:]]
    if glued:
        rest.insert(0, (glued, tokens[0].end() - len(glued)))
    while rest and rest[0][0].upper() in _FILLERS:
        rest = rest[1:]
    if len(rest) > 1 and canonical_number(rest[0][0] + rest[1][0]) in known_numbers:  # "C0-FFEE", "C0 FFEE"
        rest = [(rest[0][0] + rest[1][0], rest[0][1])] + rest[2:]
    number = None
    if rest and looks_like_number(rest[0][0], known_numbers):
        number, rest = canonical_number(rest[0][0]), rest[1:]
    remainder = " ".join(text[rest[0][1]:].split())[:500] if rest else ""
    return ParsedReply(action, number, remainder or None)


def _code(token: str) -> tuple[str | None, str]:
    """The action of the first word, also when the number is glued on (`OKC0FFEE`)."""
    word = token.upper()
    if word in _ACTION_OF:
        return _ACTION_OF[word], ""
    for code in sorted(_ACTION_OF, key=len, reverse=True):
        if word.startswith(code) and any(c.isdigit() for c in word[len(code):]):
            return _ACTION_OF[code], token[len(code):]
    return None, ""

