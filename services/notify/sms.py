"""SMS encoding: GSM-7 when every character allows it, else UCS-2; segment counting.

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
