"""Load a roster file (JSON list or CSV) into dispatch's database.

    python -m services.dispatch.roster services/dispatch/demo_roster.json

Every entry is validated first; a file with any bad entry loads nothing and lists every reason.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from services.dispatch.schemas import OfficerSchema
from services.dispatch.storage import DispatchStore
from shared.config import service_config
from shared.mongo import connect
from shared.phones import normalise_phone

LIST_COLUMNS = ("areas", "skills")


class RosterError(Exception):
    def __init__(self, reasons: dict[int, Any]):
        super().__init__("; ".join(f"entry {line}: {why}" for line, why in reasons.items()))
        self.reasons = reasons


def read_entries(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return [
                {key: (value.split(";") if key in LIST_COLUMNS and value else [] if key in LIST_COLUMNS else value)
                 for key, value in row.items()}
                for row in csv.DictReader(handle)
            ]
    return json.loads(path.read_text(encoding="utf-8"))


def parse_roster(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validated officer documents keyed by NRP, phones in E.164."""
    schema, officers, reasons = OfficerSchema(), [], {}
    for line, entry in enumerate(entries, start=1):
        try:
            officer = schema.load(entry)
            officer["phone"] = normalise_phone(officer["phone"])
        except ValidationError as exc:
            reasons[line] = exc.messages
            continue
        except ValueError as exc:
            reasons[line] = {"phone": str(exc)}
            continue
        officer["_id"] = officer.pop("nrp")
        officer["assignment_id"] = None
        officers.append(officer)
    if reasons:
        raise RosterError(reasons)
    return officers


def load_roster_file(path: Path, mongo_uri: str | None = None) -> int:
    config = service_config("dispatch")
    client = connect(mongo_uri or config["MONGO_URI"])
    try:
        store = DispatchStore(client[config["MONGO_DATABASE"]])
        store.ensure_indexes()
        return store.replace_roster(parse_roster(read_entries(path)))
    finally:
        client.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    try:
        count = load_roster_file(Path(argv[0]))
    except RosterError as exc:
        print(f"roster not loaded: {exc}", file=sys.stderr)
        return 1
    print(f"loaded {count} officers from {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
