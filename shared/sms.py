"""SMS encoding: GSM-7 when every character allows it, else UCS-2; segment counting (every service that writes SMS).

A single curly quote turns a message into UCS-2 and triples its cost, so characters with a
GSM-7 look-alike are transliterated first.
"""
from __future__ import annotations

import math
import unicodedata
from functools import lru_cache

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM7 = "GSM-7"
UCS2 = "UCS-2"
_LOOKALIKES = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"',
    "–": "-", "—": "-", "−": "-", "…": "...", "\u00a0": " ", "•": "*", "·": ".",
})


def gsm7_septets(text: str) -> int | None:
    """Septets the text needs in GSM-7 (extension characters take two), or None if it cannot be."""
    total = 0
    for char in text:
        septets = _char_septets(char)
        if septets is None:
            return None
        total += septets
    return total


@lru_cache(maxsize=4096)
def _char_septets(char: str) -> int | None:
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def transliterate(text: str) -> str:
    """Replace characters that would force UCS-2 by GSM-7 look-alikes, where one exists."""
    text = text.translate(_LOOKALIKES)
    out = []
    for char in text:
        if gsm7_septets(char) is not None:
            out.append(char)
            continue
        stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(stripped if stripped and gsm7_septets(stripped) is not None else char)
    return "".join(out)


def gsm7_text(text: str) -> str:
    """Free text made safe for GSM-7: look-alikes transliterated, what has none (emoji) left out.

    What a citizen typed must never turn an officer's SMS into UCS-2 (70 characters a part).
    """
    kept = "".join(char for char in transliterate(text) if gsm7_septets(char) is not None)
    return " ".join(kept.split())


def encode_info(text: str) -> tuple[str, int, int]:
    """(encoding, length in that encoding's units, segments)."""
    septets = gsm7_septets(text)
    if septets is not None:
        return GSM7, septets, 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return UCS2, units, 1 if units <= 70 else math.ceil(units / 67)


def single_segment_limit(encoding: str) -> int:
    return 160 if encoding == GSM7 else 70


# ---------------------------------------------------------------------------------------------
# A text fitted into one segment

ELLIPSIS = "..."
WORD_CUT_SLACK = 12  # characters given up to end a shortened text on a whole word


class DoesNotFit(ValueError):
    """Even with every shrinkable field emptied the text needs more than one segment: a template bug."""


def fit(template: str, shrinkable: tuple[str, ...] = (), **values: object) -> str:
    """`template` filled as GSM-7 text in one segment, its `shrinkable` fields shortened in order ("...")."""
    filled = {key: gsm7_text(str(value)) for key, value in values.items()}
    text = fill(template, filled)
    for field in shrinkable:
        while (excess := overflow(text)) > 0 and filled[field]:
            filled[field] = shorten(filled[field], excess)
            text = fill(template, filled)
    if overflow(text) > 0:
        raise DoesNotFit(f"{text!r} needs more than one segment")
    return text


def fit_attempt(template: str, **values: object) -> str:
    """The text as filled before any shortening: what a refusal shows."""
    return fill(template, {key: gsm7_text(str(value)) for key, value in values.items()})


def fill(template: str, values: dict[str, str]) -> str:
    """A field emptied by shortening leaves no doubled space, dot or comma behind."""
    return " ".join(template.format(**values).split()).replace("....", "...").replace(" .", ".").replace(" ,", ",")


def overflow(text: str) -> int:
    """Characters past one segment (negative: room left)."""
    encoding, length, _ = encode_info(text)
    return length - single_segment_limit(encoding)


def shorten(value: str, by: int) -> str:
    """`value` at least `by` characters shorter, ending in "..." after a whole word where one is near."""
    keep = len(value) - by - len(ELLIPSIS)
    if keep <= len(ELLIPSIS):
        return ""
    cut = value[:keep]
    space = cut.rfind(" ")
    if space > len(ELLIPSIS) and keep - space <= WORD_CUT_SLACK and not value[keep:keep + 1].isspace():
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + ELLIPSIS
