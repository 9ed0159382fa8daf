"""Fixture factories for dispatch: officers, its store, a loaded roster."""
from __future__ import annotations

from typing import Any

from services.dispatch.roster import parse_officer, parse_roster, read_entries
from services.dispatch.settings import Settings
from services.dispatch.storage import DispatchStore
from tests.factories import DEMO_ROSTER

GONDANGDIA = {"lat": -6.1875, "lon": 106.8300, "village_code": "31.71.06.1004", "village_name": "Gondangdia",
              "rw": 3, "address": None}
POLISI_RW_MENTENG_RW05 = "90120344"
BHABIN_MENTENG = "75030412"
DUTY_DESK = "70010001"
BHABIN_KEBON_SIRIH = "82040127"
BHABIN_CIKINI = "78070519"
# The Bhabinkamtibmas of the villages bordering Gondangdia (Menteng, Pegangsaan, Cikini, Kebon Sirih).
BHABINS_AROUND_GONDANGDIA = ("75030412", "80110233", "78070519", "82040127")
PATROL_YOGA = "85060788"  # first_aid, traffic, crowd_control
PATROL_FAJAR = "86090812"  # armed_response, crowd_control


def create_officer(nrp: str, **overrides: Any) -> dict:
    """A parsed roster entry (a patrol unit unless told otherwise)."""
    entry = {"nrp": nrp, "name": f"Brigpol Uji {nrp[-3:]}", "rank": "Brigpol", "role": "patrol_unit",
             "polsek": "31.71.06", "areas": [], "skills": ["first_aid", "traffic"], "phone": f"+62811{nrp[-7:]}"}
    return parse_officer(entry | overrides)


def dispatch_store(mongo_client, db_names, settings: Settings | None = None) -> DispatchStore:
    store = DispatchStore(mongo_client[db_names["dispatch"]], settings or Settings())
    store.ensure_indexes()
    return store


def load_demo_roster(store: DispatchStore, *, only: set[str] | None = None, extra: list[dict] = (),
                     shifts: bool = False) -> DispatchStore:
    """The demo roster, every officer on call around the clock unless `shifts`: the demo's shifts
    ("daily 06:00-18:00") would make a test's outcome depend on the hour it runs at."""
    officers = [o if shifts else o | {"shifts": []}
                for o in parse_roster(read_entries(DEMO_ROSTER)) if only is None or o["_id"] in only]
    store.replace_roster([*officers, *extra])
    return store
