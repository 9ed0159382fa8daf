"""community's settings (config.yml `COMMUNITY`), each default written here once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shared.settings import setting


@dataclass(frozen=True)
class CommunitySettings:
    SECTION: ClassVar[str] = "COMMUNITY"
    stale_days: int = setting(14, "an RW not visited for this many days stands out on the coverage board")
    alert_sms_per_second: float = setting(5.0, "alert SMS handed to notify per second, at most: the gateway's "
                                               "throughput (Kannel's smsc `throughput`), so a cancelled or expired "
                                               "alert still has recipients left to spare")
    alert_tick_seconds: float = setting(1.0, "how often the alert sender hands the next SMS to notify (seconds)")
    alert_max_hours: float = setting(72.0, "the longest an alert may stay in force (hours)")
    help_interval: float = setting(600.0, "at most one help SMS per sender and kind in this many seconds")
    rpc_timeout_seconds: float = setting(10.0, "how long a call to dispatch (the roster) may take")
    cap_sender_domain: str = setting("siaga.polri.go.id", "the domain of a CAP alert's sender "
                                                          "(polsek-<code>@<domain>)")
