"""The console's settings (config.yml `CONSOLE`), each default written here once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shared.settings import setting


@dataclass(frozen=True)
class ConsoleSettings:
    SECTION: ClassVar[str] = "CONSOLE"
    session_hours: float = setting(12.0, "how long a login lasts (hours): one duty shift")
    cookie_secure: bool = setting(False, "send the session cookie only over HTTPS (true behind a TLS proxy)")
    max_failed_logins: int = setting(5, "failed logins in a row before the account locks for LOCK_MINUTES")
    lock_minutes: float = setting(15.0, "how long a locked account stays locked (minutes)")
    closed_visible_minutes: float = setting(120.0, "how long a closed report stays on the board (minutes)")
    feed_poll_seconds: float = setting(0.5, "how often the live board looks for changes in the console database")
    rpc_timeout_seconds: float = setting(10.0, "how long an action waits for dispatch or reports to answer")


DEFAULTS = ConsoleSettings()
