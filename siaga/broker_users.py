"""One RabbitMQ user per service (and per outside party), allowed only what it publishes and consumes.

    python -m siaga.broker_users                      # local broker: its management API, else rabbitmqctl
    python -m siaga.broker_users --http http://rabbitmq:15672   # a given management API (docker-compose)

Users are named after the instance (`siaga-reports`; `demo2-reports` with SIAGA_INSTANCE=demo2), so
a second Siaga on the same broker never resets the first one's passwords. Passwords come from the
environment (`SIAGA_<PARTY>_AMQP_PASSWORD`, e.g. SIAGA_REPORTS_AMQP_PASSWORD); a party without one
gets a random password, kept for local runs in var/<instance>/broker-users.json (mode 600, never
committed). The admin credentials that run this, and the vhost, come from AMQP_URI (unset: the
local broker as guest, on the instance's own vhost, created here when missing).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import quote

from kombu import Connection

from shared import topology
from shared.contract import PARTIES
from shared.topology import Grant
from siaga.broker_admin import broker_admin
from siaga.settings import SiagaSettings, siaga_settings


def parties() -> dict[str, Grant]:
    """Every party that talks to the broker and what it may do there: each service, each outside party."""
    grants = {cls.name: topology.service_grant(cls) for cls in topology.siaga_service_classes()}
    return grants | {party.name: topology.party_grant(party) for party in PARTIES.values()}


def passwords(names: list[str], store: Path) -> dict[str, str]:
    kept = json.loads(store.read_text()) if store.exists() else {}
    chosen = {}
    for party in names:
        env = f"SIAGA_{party.upper().replace('-', '_')}_AMQP_PASSWORD"
        chosen[party] = os.environ.get(env) or kept.get(party) or secrets.token_hex(18)
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(chosen, indent=2))
    store.chmod(0o600)
    return chosen


def ensure_vhost(amqp_uri: str, http_api: str | None = None) -> None:
    """The vhost AMQP_URI names, created when missing and opened to the admin user who runs Siaga."""
    admin = Connection(amqp_uri)
    vhost = admin.virtual_host or "/"
    if vhost != "/":  # the broker's own is always there
        broker_admin(amqp_uri, http_api).add_vhost(vhost, admin.userid)


def ensure_users(amqp_uri: str, settings: SiagaSettings, http_api: str | None = None,
                 store: Path | None = None) -> dict[str, str]:
    """Create or update every party's user of this instance; return each party's AMQP URI."""
    admin = Connection(amqp_uri)
    grants = parties()
    chosen = passwords(list(grants), store or settings.var_dir / "broker-users.json")
    users = {settings.user_name(party): (chosen[party], grant) for party, grant in grants.items()}
    broker_admin(amqp_uri, http_api).put_users(admin.virtual_host or "/", users)
    return {party: admin_uri_as(admin, settings.user_name(party), chosen[party]) for party in grants}


def admin_uri_as(admin: Connection, user: str, password: str) -> str:
    vhost = "" if admin.virtual_host in ("/", None) else quote(admin.virtual_host, safe="")
    return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{admin.hostname}:{admin.port or 5672}/{vhost}"


def remove_users(settings: SiagaSettings, amqp_uri: str | None = None) -> None:
    """Every party's user of this instance, and no other instance's."""
    admin = broker_admin(amqp_uri or settings.broker_uri)
    admin.delete_users(admin.users() & {settings.user_name(party) for party in parties()})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--http", help="management API base URL (else the local one, else rabbitmqctl)")
    args = parser.parse_args(argv)
    settings = siaga_settings()
    ensure_vhost(settings.broker_uri, args.http)
    uris = ensure_users(settings.broker_uri, settings, args.http)
    for party in uris:
        print(f"{settings.user_name(party)}: permissions set on vhost {Connection(uris[party]).virtual_host}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
