"""One MongoDB user per service, allowed to read and write its own database and nothing else.

    MONGO_URI='mongodb://root:…@mongo:27017/?authSource=admin' python -m siaga.mongo_users

Run as an administrator of a MongoDB that requires a login; docker-compose's `mongo-users` job runs it
before any service starts. Each service's user `<instance>-<service>` (`siaga-reports`) is kept in the
service's database `<instance>_<service>` with the one role readWrite on it, so a service connects with
`mongodb://siaga-reports:…@mongo:27017/siaga_reports?authSource=siaga_reports`. Its password comes from
`SIAGA_<SERVICE>_MONGO_PASSWORD`. A user that exists gets its password and its one role again: running
this after changing a password rotates it, and a role granted by hand is taken back. Nothing is changed
unless every password is there. The embedded server of local runs (no MONGO_URI) needs no login and none of this.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Mapping

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from shared.mongo import connect
from siaga.settings import SERVICES, SiagaSettings, siaga_settings

ROLE = "readWrite"
MIN_PASSWORD_LENGTH = 16
# A password goes into the service's MONGO_URI as it is: only characters a URI carries unescaped.
URI_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


class MongoUsersError(ValueError):
    """What is wrong with the passwords given, by variable name; never the values."""


@dataclass(frozen=True)
class ServiceUser:
    service: str
    name: str
    database: str

    @property
    def roles(self) -> list[dict[str, str]]:
        return [{"role": ROLE, "db": self.database}]

    @property
    def password_variable(self) -> str:
        return f"SIAGA_{self.service.upper()}_MONGO_PASSWORD"


def service_users(settings: SiagaSettings) -> list[ServiceUser]:
    """The user of each service of this instance, named like its broker user and its database."""
    return [ServiceUser(service, settings.user_name(service), settings.database_name(service)) for service in SERVICES]


def service_passwords(users: list[ServiceUser], environ: Mapping[str, str]) -> dict[str, str]:
    """Each user's password from its variable; all of them, or MongoUsersError naming what is wrong."""
    problems = []
    for user in users:
        password = environ.get(user.password_variable, "")
        if not password:
            problems.append(f"{user.password_variable} is not set")
        elif len(password) < MIN_PASSWORD_LENGTH or not URI_SAFE.fullmatch(password):
            problems.append(f"{user.password_variable} needs at least {MIN_PASSWORD_LENGTH} letters, digits, "
                            "'-', '.', '_' or '~' (it goes into a URI; e.g. `openssl rand -hex 24`)")
    if problems:
        raise MongoUsersError("; ".join(problems))
    return {user.name: environ[user.password_variable] for user in users}


def ensure_users(client: MongoClient, users: list[ServiceUser], passwords: Mapping[str, str]) -> dict[str, str]:
    """Create each user, or give an existing one its password and its one role again; what was done, by user."""
    done = {}
    for user in users:
        database = client[user.database]
        exists = database.command("usersInfo", user.name)["users"]
        command = "updateUser" if exists else "createUser"
        database.command(command, user.name, pwd=passwords[user.name], roles=user.roles)
        done[user.name] = "updated" if exists else "created"
    return done


def main(environ: Mapping[str, str] = os.environ) -> int:
    settings = siaga_settings(environ)
    if not settings.mongo_uri:
        print("set MONGO_URI to an administrator's login on the MongoDB (the embedded server needs no users)",
              file=sys.stderr)
        return 2
    users = service_users(settings)
    try:
        passwords = service_passwords(users, environ)
    except MongoUsersError as error:
        print(f"no MongoDB user changed: {error}", file=sys.stderr)
        return 1
    client = connect(settings.mongo_uri)
    try:
        done = ensure_users(client, users, passwords)
    except PyMongoError as error:  # the server's reason (unreachable, wrong root login); never a password
        print(f"MongoDB users not set: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    for user in users:
        print(f"{user.name}: {done[user.name]}, {ROLE} on {user.database} only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
