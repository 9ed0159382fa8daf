"""Settings of the commands that run Siaga (demo, cli, broker users), and the names one instance owns.

    SIAGA_INSTANCE=demo2 make demo     # a second Siaga beside the first, on the same broker

Several Siagas can share one RabbitMQ and one MongoDB: each instance has its own vhost (on the
local broker, unless AMQP_URI names one), its own broker users `<instance>-<party>`, its own
databases `<instance>_<service>` and its own files under `var/<instance>/`, so starting one never
resets another's passwords, empties its databases or takes its messages.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Mapping, MutableMapping
from urllib.parse import quote

from shared.config import PROJECT_ROOT
from shared.contract import SERVICES  # noqa: F401  (re-exported: the commands name services from here)
from shared.settings import load, setting

LOCAL_BROKER = "amqp://guest:guest@127.0.0.1:5672/"
# Services with an HTTP side, and the variable their config.yml reads the address from.
HTTP_VARIABLES = {"reports": "REPORTS_HTTP_ADDRESS", "console": "CONSOLE_HTTP_ADDRESS"}
INSTANCE_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


def instance_name(raw: str) -> str:
    """A name that is valid as a vhost, in a broker user's name and in a database's name."""
    name = str(raw).strip().lower()
    if not INSTANCE_NAME.fullmatch(name):
        raise ValueError("an instance name is a letter followed by at most 31 letters, digits or '-'")
    return name


def gateway_choice(raw: str) -> str:
    choice = str(raw).strip().lower()
    if choice not in ("auto", "kannel", "simulator"):
        raise ValueError("the demo's SMS gateway is kannel, simulator or auto")
    return choice


def database_variable(service: str) -> str:
    """The variable a service's config.yml reads its database name from."""
    return f"{service.upper()}_MONGO_DATABASE"


@dataclass(frozen=True)
class SiagaSettings:
    SECTION: ClassVar[str] = "environment"
    instance: str = setting("siaga", "names this Siaga's vhost, broker users, databases and var/ folder",
                            key="SIAGA_INSTANCE", parse=instance_name)
    amqp_uri: str = setting("", "the broker; unset: the local RabbitMQ (guest) on the instance's own vhost",
                            key="AMQP_URI")
    mongo_uri: str = setting("", "a real MongoDB; unset: the embedded server, started for the run",
                             key="MONGO_URI")
    reports_http_address: str = setting("", "Open311's host:port; unset: 127.0.0.1:8311 in the demo "
                                        "while free, else a free port", key=HTTP_VARIABLES["reports"])
    console_http_address: str = setting("", "the console's host:port; unset: 127.0.0.1:8080 in the demo "
                                        "while free, else a free port", key=HTTP_VARIABLES["console"])
    demo_exit: bool = setting(False, "the demo exits after its table", key="SIAGA_DEMO_EXIT")
    demo_gateway: str = setting("auto", "the demo's SMS gateway: kannel, simulator, or auto (Kannel when "
                                "installed)", key="SIAGA_DEMO_GATEWAY", parse=gateway_choice)

    @property
    def demo_uses_kannel(self) -> bool:
        from siaga import kannel

        return self.demo_gateway == "kannel" or (self.demo_gateway == "auto" and kannel.installed())

    @property
    def broker_uri(self) -> str:
        return self.amqp_uri or f"{LOCAL_BROKER}{quote(self.instance, safe='')}"

    def user_name(self, party: str) -> str:
        return f"{self.instance}-{party}"

    def database_name(self, service: str) -> str:
        return f"{self.instance}_{service}"

    @property
    def var_dir(self) -> Path:
        return PROJECT_ROOT / "var" / self.instance

    @property
    def http_addresses(self) -> dict[str, str]:
        """The addresses the user set; a service not named here gets one chosen for the run."""
        given = {"reports": self.reports_http_address, "console": self.console_http_address}
        return {service: address for service, address in given.items() if address}

    def database_environment(self) -> dict[str, str]:
        """What each service's config.yml reads its database name from, for this instance."""
        return {database_variable(service): self.database_name(service) for service in SERVICES}


def siaga_settings(environ: Mapping[str, str] = os.environ) -> SiagaSettings:
    return load(SiagaSettings, environ)


def use_instance(environ: MutableMapping[str, str] = os.environ) -> SiagaSettings:
    """This instance's settings, its database names put where the services' settings are read from
    (commands load rosters and logins in-process through the services' own code); a database name
    the user set wins."""
    settings = siaga_settings(environ)
    for variable, name in settings.database_environment().items():
        if not environ.get(variable):
            environ[variable] = name
    return settings
