"""Which assignment an officer's SMS reply means, or why it means none: one rule for two views.

notify matches a reply first against what it sent to the phone (its own records: the fast path);
when that finds no open assignment it asks dispatch, which holds the assignments, to match the
same reply against the truth. Both must read a reply alike, so the rule lives here: an officer
whose assignment SMS record notify lost is still heard, and one repeating `SELESAI` after the
report was closed is told it is done rather than "not yours".

A candidate is a dict with `number_key` (the report number, canonical), `number` (as shown) and
`open` (the assignment can still be acted on); `ended` says how a closed one ended.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

# Letters typed for the digits they look like; report numbers are compared after this on both sides.
_LOOKALIKE_DIGITS = str.maketrans({"O": "0", "I": "1", "L": "1"})

# Why a reply acts on nothing, each answered with its own short SMS.
NO_CODE = "no_code"  # no reply code: the officer gets the codes and his open tasks
NOTHING_OPEN = "nothing_open"  # a code without a number, and no open task
WHICH = "which"  # a code without a number, and several open tasks
NOT_YOURS = "not_yours"  # a number that is none of the phone's open tasks
FINISHED = "finished"  # a number of the phone's task that was completed: acknowledged as done
STRANGER = "stranger"  # the phone is no officer's (dispatch's answer only)
REFUSALS = (NO_CODE, NOTHING_OPEN, WHICH, NOT_YOURS, FINISHED, STRANGER)


@dataclass(frozen=True)
class Match:
    assignment: dict[str, Any] | None = None  # the open assignment the reply acts on
    refusal: str | None = None  # otherwise why not (one of REFUSALS)


def canonical_number(number: str) -> str:
    """Upper case, no separators, look-alike letters as digits: `c0ffee`, `C0-FFEE`, `COFFEE` match."""
    return re.sub(r"[^0-9A-Z]", "", number.upper()).translate(_LOOKALIKE_DIGITS)


def match_reply(action: str | None, number_key: str | None, candidates: Sequence[dict[str, Any]]) -> Match:
    """The open assignment a reply acts on: the one it names, or the only one open when it names none."""
    open_ones = [c for c in candidates if c["open"]]
    if action is None:
        return Match(refusal=NO_CODE)
    if number_key is None:
        if len(open_ones) == 1:
            return Match(assignment=open_ones[0])
        return Match(refusal=WHICH if open_ones else NOTHING_OPEN)
    named = [c for c in candidates if c["number_key"] == number_key]
    match = next((c for c in named if c["open"]), None)
    if match is not None:
        return Match(assignment=match)
    if any(c.get("ended") == "completed" for c in named):
        return Match(refusal=FINISHED)
    return Match(refusal=NOT_YOURS)


def open_numbers(candidates: Sequence[dict[str, Any]]) -> list[str]:
    """The numbers of the open tasks, newest first, once each: what a help SMS lists."""
    return list(dict.fromkeys(c["number"] for c in candidates if c["open"]))
