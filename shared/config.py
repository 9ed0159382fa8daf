"""Reads a service's config.yml the way `nameko run` does (${VAR:default} from the environment).

Commands beside a service (roster import, demo) use this so that every setting has one home.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from nameko.cli.main import setup_yaml_parser

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def config_path(service: str) -> Path:
    return PROJECT_ROOT / "services" / service / "config.yml"


def service_config(service: str) -> dict[str, Any]:
    setup_yaml_parser()
    with config_path(service).open() as handle:
        return yaml.safe_load(handle)
