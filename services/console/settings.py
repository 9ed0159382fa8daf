"""The console's settings (config.yml `CONSOLE`), each default written here once."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar

from shared.settings import as_tuple, setting


def networks(raw) -> tuple[str, ...]:
    """Addresses or CIDR networks, checked when the settings are read rather than at the first request."""
    values = as_tuple(raw)
    for value in values:
        ipaddress.ip_network(value, strict=False)
    return values



@dataclass(frozen=True)
class ConsoleSettings:
    SECTION: ClassVar[str] = "CONSOLE"
    session_hours: float = setting(12.0, "how long a login lasts (hours): one duty shift")
    cookie_secure: bool = setting(False, "send the session cookie only over HTTPS (true behind a TLS proxy)")
    max_failed_logins: int = setting(5, "failed logins for one account from one client within LOCK_MINUTES; past "
                                        "them that client is refused that account, even the right password")
    lock_minutes: float = setting(15.0, "the window (minutes, from the first failure) of MAX_FAILED_LOGINS and "
                                        "CLIENT_FAILED_LOGINS")
    client_failed_logins: int = setting(20, "failed logins from one client (an IPv6 /64) for any names within "
                                            "LOCK_MINUTES; past them it is refused before any account is counted")
    account_failed_logins: int = setting(50, "failed logins for one account from all clients within "
                                             "ACCOUNT_LOCK_MINUTES; past them it is refused to everyone")
    account_lock_minutes: float = setting(5.0, "the window (minutes, from the first failure) of "
                                               "ACCOUNT_FAILED_LOGINS: short, as strangers can fill it")
    device_days: float = setting(90.0, "how long a browser where an operator logged in is known as his (days): "
                                       "there the strangers' account-wide count does not refuse him")
    trusted_proxies: tuple = setting((), "addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For "
                                         "names the client; none by default (the connection's address counts)",
                                  parse=networks)
    closed_visible_minutes: float = setting(120.0, "how long a closed report stays on the board (minutes)")
    feed_poll_seconds: float = setting(0.5, "how often the live board looks for changes in the console database")
    rpc_timeout_seconds: float = setting(10.0, "how long an action waits for dispatch or reports to answer")


DEFAULTS = ConsoleSettings()
