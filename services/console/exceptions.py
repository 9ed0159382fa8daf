"""Errors a console user (or its browser) can see, each with a reason a person can read and an HTTP status.

Reasons are in Bahasa Indonesia: the people reading them are duty officers. A refusal that comes
from dispatch keeps dispatch's own reason (`DispatchRefused.reason`)."""
from __future__ import annotations


class ConsoleError(Exception):
    """Base: `reason` is shown to the operator; `status` is the HTTP status the browser receives."""

    status = 400

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NotLoggedIn(ConsoleError):
    status = 401

    def __init__(self, reason: str = "Sesi tidak ada atau sudah berakhir: silakan masuk lagi."):
        super().__init__(reason)


class LoginFailed(ConsoleError):
    status = 401

    def __init__(self, reason: str = "Nama pengguna atau kata sandi salah."):
        super().__init__(reason)


class AccountLocked(ConsoleError):
    """Too many failed logins from this client, for this account, or for this account from everywhere:
    one answer for all three, and for names that exist or not, so it tells an outsider nothing."""

    status = 429

    def __init__(self, reason: str = "Terlalu banyak percobaan masuk yang gagal. Tunggu beberapa menit, lalu "
                                     "coba lagi; bila mendesak, hubungi teknisi jaga."):
        super().__init__(reason)


class Forbidden(ConsoleError):
    """Another Polsek's report or officer, or a request without the session's CSRF token."""

    status = 403


class NotFound(ConsoleError):
    status = 404


class InvalidRequest(ConsoleError):
    status = 400


class DispatchRefused(ConsoleError):
    """dispatch said no (e.g. the assignment already expired); the reason is dispatch's own."""

    status = 409


class DispatchUnavailable(ConsoleError):
    status = 503

    def __init__(self, reason: str = "Layanan dispatch tidak menjawab. Coba lagi sebentar; "
                                     "bila tetap gagal, hubungi teknisi jaga."):
        super().__init__(reason)


class ReportsRefused(ConsoleError):
    """reports said no (e.g. the report was already resolved); the reason is reports' own."""

    status = 409


class ReportsUnavailable(ConsoleError):
    status = 503


class CommunityRefused(ConsoleError):
    """community said no (e.g. an alert longer than one SMS); the reason is community's own."""

    status = 409


class CommunityUnavailable(ConsoleError):
    status = 503


class NotifyUnavailable(ConsoleError):
    status = 503


class BoardConflict(Exception):
    """The same report's board entry kept changing under a handler; the event is retried (bounded)."""
