"""The README's settings table, made from where each setting lives: the settings dataclasses (their
default and meaning) and each service's config.yml (which environment variable sets it).

    python -m siaga.settings_table          # print the table
    python -m siaga.settings_table --write  # put it into README.md between its markers

A unit test fails when README.md's table is not the one this prints, so a setting added to a
dataclass or a config.yml cannot be left out of the README.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
from datetime import timedelta
from typing import Any, Iterator

import yaml

from services.community.settings import CommunitySettings
from services.console.settings import ConsoleSettings
from services.dispatch.settings import Settings as DispatchSettings
from services.notify.settings import SendPolicy
from services.reports.settings import IntakeSettings, Open311Settings, SweepSettings
from shared.archive import ArchiveSettings
from shared.boundaries import PlaceSettings
from shared.config import PROJECT_ROOT, config_path
from shared.metrics import MetricsSettings
from shared.outage import OutageSettings
from shared.settings import config_key
from shared.sms_pricing import SmsPrices
from shared.webserver import WebServerSettings
from siaga.kannel_bridge import BridgeSettings
from siaga.settings import SERVICES, SiagaSettings

README = PROJECT_ROOT / "README.md"
BEGIN, END = "<!-- settings table: python -m siaga.settings_table --write -->", "<!-- end of settings table -->"
SECTIONS = {"reports": (IntakeSettings, Open311Settings, SweepSettings, ArchiveSettings, PlaceSettings,
                        WebServerSettings, OutageSettings, MetricsSettings),
            "dispatch": (DispatchSettings, ArchiveSettings, PlaceSettings, OutageSettings, MetricsSettings),
            "notify": (SendPolicy, SmsPrices, ArchiveSettings, OutageSettings, MetricsSettings),
            "console": (ConsoleSettings, PlaceSettings, WebServerSettings, OutageSettings, MetricsSettings),
            "community": (CommunitySettings, SmsPrices, OutageSettings, MetricsSettings)}
# What nameko itself reads from each config.yml (not a section of ours): their defaults live there.
NAMEKO_KEYS = {
    "MONGO_DATABASE": "the service's own database",
    "max_workers": "nameko workers (messages handled at once)",
    "WEB_SERVER_ADDRESS": "host:port of its web server (the demo picks its own unless this is set)",
}
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+):?([^}]*)\}")


def rows() -> Iterator[tuple[str, str, str]]:
    """(variables, default, meaning) for every setting, the commands' first, then each service's."""
    for field in dataclasses.fields(SiagaSettings):
        yield f"`{config_key(field)}`", _shown(getattr(SiagaSettings(), field.name)), field.metadata["doc"]
    for field in dataclasses.fields(BridgeSettings):
        yield (f"`{config_key(field)}`", _shown(getattr(BridgeSettings(), field.name)),
               f"Kannel bridge: {field.metadata['doc']}")
    yield "`SIAGA_<PARTY>_AMQP_PASSWORD`", "generated", "a party's broker password (`python -m siaga.broker_users`)"
    yield "`LOG_LEVEL`", "`INFO`", "every service's log level"
    yield ("`LOG_FORMAT`", "`plain`", "every service's log lines: plain (for people) or json (one object per line, "
           "for a log collector); phones masked in both")
    for service in SERVICES:
        raw = yaml.load(config_path(service).read_text(), Loader=yaml.BaseLoader)  # ${VAR:} as written
        for key, meaning in NAMEKO_KEYS.items():
            if key in raw:
                variable, default = VARIABLE.fullmatch(raw[key]).groups()
                yield f"`{variable}`", _shown(default), f"{service}: {meaning}"
        for settings_class in SECTIONS[service]:
            yield from _section_rows(service, settings_class, raw.get(settings_class.SECTION) or {})


def _section_rows(service: str, settings_class: type, section: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    defaults = settings_class()
    for field in dataclasses.fields(settings_class):
        value, default = section.get(config_key(field)), getattr(defaults, field.name)
        if isinstance(value, dict):  # one variable per key of a mapping setting
            variables = [VARIABLE.fullmatch(v).group(1) for v in value.values()]
            default = ", ".join(_shown(default[k]) for k in value)
        elif isinstance(value, str) and VARIABLE.fullmatch(value):
            variables = [VARIABLE.fullmatch(value).group(1)]
        else:
            variables = []  # set in config.yml itself (a structured value), not by a variable
        shown = ", ".join(f"`{v}`" for v in variables) or f"config.yml `{settings_class.SECTION}.{config_key(field)}`"
        yield shown, default if isinstance(value, dict) else _shown(default), f"{service}: {field.metadata['doc']}"


def _shown(value: Any) -> str:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if value in ("", None, (), {}):
        return "*(unset)*"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (tuple, list)):
        value = ",".join(map(str, value))
    if isinstance(value, dict):
        return "see settings.py"
    return f"`{value}`"


def table() -> str:
    """One row per variable: the first place that names it (the demo's address rules before nameko's)."""
    lines, seen = ["| variable | default | what |", "|---|---|---|"], set()
    for variables, default, meaning in rows():
        if variables not in seen:
            seen.add(variables)
            lines.append(f"| {variables} | {default} | {meaning} |")
    return "\n".join(lines)


def with_table(readme: str) -> str:
    """README.md's text with the table between its markers replaced by the current one."""
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + "\n" + table() + "\n" + readme[end:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    if parser.parse_args().write:
        README.write_text(with_table(README.read_text()))
    else:
        print(table())


if __name__ == "__main__":
    main()
