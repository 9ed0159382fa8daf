"""Load a roster file (JSON list or CSV) into dispatch's database.

    python -m services.dispatch.roster services/dispatch/demo_roster.json

Every entry is validated first; a file with any bad entry loads nothing and lists every reason.
CSV columns are the JSON fields; `areas`, `skills` and `shifts` hold several values separated by
`;` (e.g. `mon-fri 07:00-15:00;sat 07:00-12:00`), an empty cell means "not given".
Reloading a roster updates names, areas, skills, phones and shifts but never frees an officer
who is on an incident (live status and location are kept).
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from services.dispatch.exceptions import InvalidOfficer
from services.dispatch.schemas import OfficerSchema
from services.dispatch.settings import Settings
from services.dispatch.storage import DispatchStore
from shared.config import service_config
from shared.mongo import connect
from shared.phones import normalise_phone
from shared.settings import read

LIST_COLUMNS = ("areas", "skills", "shifts")


class RosterError(Exception):
    def __init__(self, reasons: dict[int, Any]):
        super().__init__("; ".join(f"entry {line}: {why}" for line, why in reasons.items()))
        self.reasons = reasons


def read_entries(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return [csv_entry(row) for row in csv.DictReader(handle)]
    return json.loads(path.read_text(encoding="utf-8"))


def csv_entry(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as a JSON entry: lists split on ';', empty cells left out (so defaults apply)."""
    entry: dict[str, Any] = {}
    for key, value in row.items():
        value = (value or "").strip()
        if key in LIST_COLUMNS:
            entry[key] = [part.strip() for part in value.split(";") if part.strip()]
        elif value:
            entry[key] = value
    return entry


def parse_officer(entry: dict[str, Any]) -> dict[str, Any]:
    """One validated officer document keyed by NRP, phone in E.164; InvalidOfficer lists every reason."""
    try:
        officer = OfficerSchema().load(entry)
    except ValidationError as exc:
        raise InvalidOfficer(exc.messages) from None
    try:
        officer["phone"] = normalise_phone(officer["phone"])
    except ValueError as exc:
        raise InvalidOfficer({"phone": str(exc)}) from None
    officer["_id"] = officer.pop("nrp")
    officer["assignment_id"] = None
    return officer


def parse_roster(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validated officer documents; RosterError names every bad entry (1-based) and why."""
    officers, reasons = [], {}
    for line, entry in enumerate(entries, start=1):
        try:
            officers.append(parse_officer(entry))
        except InvalidOfficer as exc:
            reasons[line] = exc.reasons
    if reasons:
        raise RosterError(reasons)
    return officers


def load_roster_file(path: Path, mongo_uri: str | None = None) -> int:
    config = service_config("dispatch")
    client = connect(mongo_uri or config["MONGO_URI"])
    try:
        store = DispatchStore(client[config["MONGO_DATABASE"]], read(Settings, config))
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
