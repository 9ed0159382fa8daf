"""Settings, read one way in every service: a frozen dataclass per config.yml section.

A field is one setting. Its key in the section is the field's name in upper case (`key=` when it
differs), its default is the field's default: written here once. config.yml names each setting's
environment variable without a default (`MAX_TRIES: ${DISPATCH_MAX_TRIES:}`), so an unset variable
reads as empty and the dataclass default applies. A value is parsed by the type of its default
(`parse=` for anything else), so "3" from the environment is the int 3 and "false" is False.

    @dataclass(frozen=True)
    class DispatchSettings:
        SECTION: ClassVar[str] = "DISPATCH"
        max_tries: int = setting(3, "officers tried before the duty desk is engaged")

A service hands them to its workers with `SettingsProvider(DispatchSettings)`; a command beside it
calls `read(DispatchSettings, service_config("dispatch"))`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, TypeVar

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

T = TypeVar("T")
TRUE_WORDS = ("1", "true", "yes", "on")


def setting(default: Any, doc: str = "", *, key: str | None = None,
            parse: Callable[[Any], Any] | None = None) -> Any:
    """A dataclass field that is a setting: its one default, what it means, and how to parse it."""
    metadata = {"doc": doc, "key": key, "parse": parse}
    if isinstance(default, (dict, list, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def config_key(field: dataclasses.Field) -> str:
    return field.metadata.get("key") or field.name.upper()


def load(settings_class: type[T], section: Mapping[str, Any] | None) -> T:
    """The settings of one section; an absent, empty or null value keeps the default."""
    section = section or {}
    defaults = settings_class()
    values = {}
    for field in dataclasses.fields(settings_class):
        raw = section.get(config_key(field))
        if raw is None or raw == "":
            continue
        parse = field.metadata.get("parse") or parser_for(getattr(defaults, field.name))
        try:
            values[field.name] = parse(raw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"setting {section_name(settings_class)}.{config_key(field)}={raw!r}: {exc}") from exc
    return dataclasses.replace(defaults, **values)


def read(settings_class: type[T], config: Mapping[str, Any]) -> T:
    """The settings of a service's whole config (as nameko hands it to a container)."""
    return load(settings_class, config.get(section_name(settings_class)))


def section_name(settings_class: type) -> str:
    return getattr(settings_class, "SECTION")


def parser_for(default: Any) -> Callable[[Any], Any]:
    """Parse a configured value like the default it replaces."""
    if isinstance(default, bool):
        return lambda raw: raw if isinstance(raw, bool) else str(raw).strip().lower() in TRUE_WORDS
    if isinstance(default, (int, float, str)):
        return type(default)
    if isinstance(default, tuple):
        return as_tuple
    if isinstance(default, dict):
        return lambda raw: merged(default, raw)
    return lambda raw: raw


def as_tuple(raw: Any) -> tuple:
    """A list from YAML, or "a,b,c" from the environment."""
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return tuple(raw)


def merged(defaults: dict, raw: Mapping[str, Any] | str) -> dict:
    """A mapping setting: the keys given replace the defaults' (parsed like them), the others stay.
    From the environment, "key=value,key=value" (e.g. SMS_PRICE_PER_SEGMENT="telkomsel=400,+62896=280")."""
    if isinstance(raw, str):
        raw = dict(pair.split("=", 1) for pair in (part.strip() for part in raw.split(",")) if "=" in pair)
    result = dict(defaults)
    for key, value in (raw or {}).items():
        if value is None or value == "":
            continue
        result[key] = parser_for(defaults[key])(value) if key in defaults else value
    return result


def describe(settings_class: type) -> list[tuple[str, Any, str]]:
    """(key, default, meaning) of every setting: what the README's table and `--help` show."""
    defaults = settings_class()
    return [(config_key(field), getattr(defaults, field.name), field.metadata.get("doc", ""))
            for field in dataclasses.fields(settings_class)]


class SettingsProvider(DependencyProvider):
    """Hands every worker the service's settings, read once per container."""

    def __init__(self, settings_class: type):
        self.settings_class = settings_class

    def setup(self):
        self.settings = read(self.settings_class, self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings


class SettingsTimer(Timer):
    """nameko's timer, its interval a setting rather than a number fixed in code.

    While the database or broker is away (shared/outage.py) a tick does nothing: it would only fail."""

    def __init__(self, settings_class: type, attribute: str, **kwargs):
        from shared.outage import OutageGate

        self.settings_class, self.attribute = settings_class, attribute
        self.gate = OutageGate()
        super().__init__(interval=getattr(settings_class(), attribute), **kwargs)

    def setup(self):
        self.interval = getattr(read(self.settings_class, self.container.config), self.attribute)
        super().setup()

    def handle_timer_tick(self):
        if self.gate.is_open:
            super().handle_timer_tick()
        else:
            self.worker_complete.send()

    def handle_result(self, worker_ctx, result, exc_info):
        from shared.outage import is_outage

        if exc_info is not None and is_outage(exc_info[1]):
            self.gate.close(exc_info[1])
        return super().handle_result(worker_ctx, result, exc_info)


every = SettingsTimer.decorator
