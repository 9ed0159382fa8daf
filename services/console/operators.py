"""Create or update a console operator (a Polsek duty officer or a 110 operator).

    python -m services.console.operators add USERNAME --polsek 31.71.06 [--polsek 31.71.07]
                                             [--name "Aiptu Bambang"] [--password-stdin]
                                             [--role operator|supervisor|auditor]
    python -m services.console.operators list

A supervisor may also reveal an anonymous reporter's contact (for a stated reason, recorded) and read the
record of reveals; an auditor only reads that record (services/console/domain.py, ROLES).
Without --password-stdin a random password is generated and printed once; only its Argon2 hash is
stored. A new password ends the operator's open sessions. The password is never taken as a command
argument (it would stay in the shell history and in `ps`); for scripts, SIAGA_CONSOLE_PASSWORD works too.
Settings (MONGO_URI, CONSOLE_MONGO_DATABASE) come from services/console/config.yml like the service's own.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from services.console import auth, domain
from services.console.storage import ConsoleStore
from shared import wilayah
from shared.config import service_config
from shared.mongo import connect

PASSWORD_ENV = "SIAGA_CONSOLE_PASSWORD"


class OperatorError(ValueError):
    """Bad input for an operator account, said so a person can fix it."""


def check_operator(username: str, polseks: list[str], password: str | None, role: str | None = None) -> None:
    if not domain.USERNAME.match(username):
        raise OperatorError(f"username {username!r}: 3–40 lower-case letters, digits, '.', '_' or '-'")
    if not polseks:
        raise OperatorError("give at least one --polsek (a district code like 31.71.06)")
    for polsek in polseks:
        if not domain.POLSEK_CODE.match(polsek) or polsek not in wilayah.names():
            raise OperatorError(f"polsek {polsek!r} is not a Kemendagri district code (e.g. 31.71.06 = Menteng)")
    if role is not None and role not in domain.ROLES:
        raise OperatorError(f"role {role!r}: one of {', '.join(domain.ROLES)}")
    if password is not None and len(password) < auth.MIN_PASSWORD_LENGTH:
        raise OperatorError(f"the password needs at least {auth.MIN_PASSWORD_LENGTH} characters")


def add_operator(store: ConsoleStore, username: str, polseks: list[str], name: str | None = None,
                 password: str | None = None, reset_password: bool = False, role: str | None = None) -> dict[str, Any]:
    """Create or update an operator; returns what was done and the password when one was generated
    (for a new operator without a password, or with reset_password: the demo's login, printed at each run)."""
    username = username.strip().lower()
    check_operator(username, polseks, password)
    generated = password is None and (reset_password or store.operator(username) is None)
    if generated:
        password = auth.generate_password()
    created = store.save_operator(username, polseks, name or username, password)
    if role is not None:
        store.set_role(username, role)
    return {"username": username, "created": created, "polseks": polseks, "role": role,
            "password": password if generated else None, "password_changed": password is not None}


def open_store(mongo_uri: str | None = None) -> tuple[Any, ConsoleStore]:
    config = service_config("console")
    client = connect(mongo_uri or config["MONGO_URI"])
    store = ConsoleStore(client[config["MONGO_DATABASE"]])
    store.ensure_indexes()
    return client, store


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.console.operators", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create or update an operator")
    add.add_argument("username")
    add.add_argument("--polsek", action="append", required=True, help="district code; repeat for several")
    add.add_argument("--name", help="the name shown on the console")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--new-password", action="store_true", help="generate a new password for an existing operator")
    add.add_argument("--role", choices=domain.ROLES, help="operator (default), supervisor or auditor")
    commands.add_parser("list", help="operators and their Polseks")
    args = parser.parse_args(argv)

    client, store = open_store()
    try:
        if args.command == "list":
            for operator in store.db.operators.find({}, {"password_hash": 0}).sort("_id"):
                print(f"{operator['_id']:<20} {domain.role_of(operator):<11} {', '.join(operator['polseks']):<24} "
                      f"{operator.get('name', '')}")
            return 0
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else os.environ.get(PASSWORD_ENV)
        result = add_operator(store, args.username, args.polsek, args.name, password, args.new_password, args.role)
    except OperatorError as exc:
        print(f"operator not saved: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"{'created' if result['created'] else 'updated'} operator {result['username']} "
          f"for Polsek {', '.join(result['polseks'])}")
    if result["password"]:
        print(f"password (shown once, store it safely): {result['password']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
