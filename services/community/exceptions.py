"""Refusals a caller of community (a console, an SMS sender) can see, each with a reason a person can read.

Reasons are in Bahasa Indonesia: duty officers read them on the console. Their names are listed in
`shared.refusals.COMMUNITY_REFUSALS`, by which the console recognises them over RPC."""
from __future__ import annotations

from shared import wilayah


class CommunityError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Unclear(CommunityError):
    """A command's words could not be read; `hint` names what was missing (rw, tempat, uraian, kode_kelurahan)."""

    WHAT = {"rw": "nomor RW", "tempat": "jenis tempat", "uraian": "uraian", "kode_kelurahan": "kode kelurahan"}

    def __init__(self, hint: str):
        super().__init__(f"{self.WHAT.get(hint, hint).capitalize()} tidak terbaca.")
        self.hint = hint


class NotYourArea(CommunityError):
    def __init__(self, village: str, rw: int | None = None):
        name = wilayah.village_name(village) or village
        super().__init__(f"{name} ({village}) bukan wilayah Polsek ini.")
        self.village, self.rw = village, rw


class OfficerUnknown(CommunityError):
    pass


class InvalidInput(CommunityError):
    pass


class NotFound(CommunityError):
    pass


class AlertRefused(CommunityError):
    """An alert that cannot be sent as it is (more than one GSM-7 segment, no recipients, expired): why."""


class AlertClosed(CommunityError):
    """An alert already cancelled or expired."""
