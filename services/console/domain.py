"""The console's pure rules about people: who may see and act on what, what an action needs from the
operator, when a login locks. No I/O. The board's rules are in `board`.
"""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Mapping, NamedTuple

from services.console.board import polsek_of
from services.console.exceptions import Forbidden, InvalidRequest, NotFound
from services.console.settings import DEFAULTS, ConsoleSettings
from shared import wilayah

# What a console may ask of dispatch for an assignment, and what each needs from the operator.
ACTIONS = {
    "acknowledge": ("acknowledge_assignment", ()),
    "decline": ("decline_assignment", ("reason",)),
    "en_route": ("mark_assignment_en_route", ()),
    "on_scene": ("mark_assignment_on_scene", ()),
    "complete": ("complete_assignment", ("outcome",)),
    "reassign": ("reassign_assignment", ("nrp", "reason")),
}
FIELD_TEXT = {"reason": "alasan", "outcome": "hasil penanganan", "nrp": "petugas pengganti (NRP)"}
NOTE_LIMITS = {"reason": 300, "outcome": 500, "nrp": 18}

# What an operator's role lets them do beyond the board and the actions every duty officer has. A supervisor
# may see an anonymous reporter's contact (for a stated reason, recorded by reports, which keeps it) and read
# the record of such reveals; an auditor reads that record only.
ROLES = ("operator", "supervisor", "auditor")
MAY_REVEAL_CONTACT = frozenset({"supervisor"})
MAY_READ_REVEALS = frozenset({"supervisor", "auditor"})
# Who may record visits, register posts and issue or cancel community alerts: those who act, not an auditor.
MAY_ACT_IN_COMMUNITY = frozenset({"operator", "supervisor"})
REVEAL_REASON_MIN, REVEAL_REASON_MAX = 15, 300  # reports' anonymity.REASON_MIN/MAX: checked there too

POLSEK_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")


def sees(operator: Mapping[str, Any], polsek: str | None) -> bool:
    return polsek is not None and polsek in operator["polseks"]


def check_may_act(operator: Mapping[str, Any], assignment: Mapping[str, Any]) -> None:
    """Only the Polsek whose area the report lies in acts on it (dispatch's own view of the assignment)."""
    polsek = polsek_of(assignment["report"])
    if not sees(operator, polsek):
        raise Forbidden(f"Laporan #{assignment['report']['number']} bukan wilayah Polsek Anda "
                        f"({', '.join(operator['polseks'])}).")


def check_may_send(operator: Mapping[str, Any], officer: Mapping[str, Any]) -> None:
    if not sees(operator, officer.get("polsek")):
        raise Forbidden(f"{officer['name']} bukan personel Polsek Anda.")


def chosen_polsek(operator: Mapping[str, Any], asked: str | None) -> str:
    """The Polsek a roster view shows: the one asked for, if it is the operator's; else their first."""
    if not asked:
        return operator["polseks"][0]
    if asked not in operator["polseks"]:
        raise Forbidden(f"Polsek {asked} bukan wilayah Anda.")
    return asked


def action_call(action: str, body: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    """(dispatch RPC, arguments after the assignment id) for a console action; InvalidRequest says what is missing."""
    if action not in ACTIONS:
        raise InvalidRequest(f"Tindakan {action!r} tidak dikenal.")
    method, needs = ACTIONS[action]
    body = body or {}
    arguments, missing = [], []
    for name in needs:
        value = " ".join(str(body.get(name) or "").split())
        if not value:
            missing.append(FIELD_TEXT[name])
        elif len(value) > NOTE_LIMITS[name]:
            raise InvalidRequest(f"{FIELD_TEXT[name].capitalize()} terlalu panjang (paling banyak "
                                 f"{NOTE_LIMITS[name]} huruf).")
        arguments.append(value)
    if missing:
        raise InvalidRequest(f"Isi {' dan '.join(missing)}.")
    return method, arguments


# How the duty desk may close an escalated report itself (dispatch's desk.OUTCOMES decides; these are the labels).
DESK_OUTCOMES = {"handled_by_desk": "Ditangani SPKT", "referred_to_polres": "Diteruskan ke Polres",
                 "false_report": "Laporan palsu", "no_action_needed": "Tidak perlu tindakan polisi"}


def desk_send(body: Mapping[str, Any] | None) -> tuple[str, str]:
    """(NRP, reason) of the officer the duty desk sends to an escalated report; InvalidRequest if missing."""
    _, (nrp, reason) = action_call("reassign", body)
    return nrp, reason


def desk_close(body: Mapping[str, Any] | None) -> tuple[str, str | None]:
    """(outcome code, note) the duty desk closes an escalated report with; InvalidRequest names the choices."""
    body = body or {}
    outcome = str(body.get("outcome") or "")
    if outcome not in DESK_OUTCOMES:
        raise InvalidRequest(f"Pilih hasil: {', '.join(DESK_OUTCOMES.values())}.")
    note = " ".join(str(body.get("note") or "").split())
    if len(note) > NOTE_LIMITS["reason"]:
        raise InvalidRequest(f"Catatan terlalu panjang (paling banyak {NOTE_LIMITS['reason']} huruf).")
    return outcome, note or None


def check_may_cancel(operator: Mapping[str, Any], entry: Mapping[str, Any] | None) -> None:
    """Only the report's own Polsek cancels it; the board entry (built from events) knows the Polsek."""
    if entry is None or entry.get("report") is None:
        raise NotFound("Laporan tidak ada di papan: periksa nomornya atau tunggu sampai muncul.")
    if not sees(operator, entry.get("polsek")):
        raise Forbidden(f"Laporan #{entry['report']['number']} bukan wilayah Polsek Anda "
                        f"({', '.join(operator['polseks'])}).")


def role_of(operator: Mapping[str, Any]) -> str:
    return operator.get("role") or "operator"


def check_may_reveal(operator: Mapping[str, Any], entry: Mapping[str, Any] | None) -> None:
    """Only a supervisor, and only for a report of their own Polsek."""
    if role_of(operator) not in MAY_REVEAL_CONTACT:
        raise Forbidden("Hanya supervisor yang boleh membuka identitas pelapor anonim.")
    check_may_cancel(operator, entry)


def check_may_act_in_community(operator: Mapping[str, Any]) -> None:
    if role_of(operator) not in MAY_ACT_IN_COMMUNITY:
        raise Forbidden("Auditor hanya boleh melihat; kunjungan, pos dan peringatan dicatat oleh operator Polsek.")


def check_may_read_reveals(operator: Mapping[str, Any]) -> None:
    if role_of(operator) not in MAY_READ_REVEALS:
        raise Forbidden("Hanya supervisor atau auditor yang boleh melihat catatan pembukaan identitas pelapor.")


def reveal_reason(body: Mapping[str, Any] | None) -> str:
    """Why a supervisor opens an anonymous reporter's contact; InvalidRequest unless it says something."""
    reason = " ".join(str((body or {}).get("reason") or "").split())
    if not REVEAL_REASON_MIN <= len(reason) <= REVEAL_REASON_MAX:
        raise InvalidRequest(f"Tulis alasan membuka identitas pelapor ({REVEAL_REASON_MIN} sampai "
                             f"{REVEAL_REASON_MAX} huruf): alasan ini dicatat.")
    return reason


def cancel_reason(body: Mapping[str, Any] | None) -> str:
    """The operator's reason for cancelling a report; InvalidRequest when missing or too long."""
    reason = " ".join(str((body or {}).get("reason") or "").split())
    if not reason:
        raise InvalidRequest("Isi alasan pembatalan.")
    if len(reason) > NOTE_LIMITS["reason"]:
        raise InvalidRequest(f"Alasan terlalu panjang (paling banyak {NOTE_LIMITS['reason']} huruf).")
    return reason


def area_outlines(atlas: Any, polseks: list[str]) -> list[dict[str, Any]]:
    """Each village of the operator's Polseks: code, name, the rings of its boundary and where its label goes."""
    names = wilayah.names()
    areas = []
    for polsek in polseks:
        for code, rings in atlas.outlines(polsek + "."):
            lat, lon = atlas.centroid(code)
            areas.append({"code": code, "name": names.get(code, code), "rings": rings,
                          "label_at": [round(lon, 5), round(lat, 5)]})
    return areas


def polsek_directory(polseks: list[str]) -> list[dict[str, Any]]:
    """Each Polsek of an operator with its villages (for the roster's filters and the map's labels)."""
    names = wilayah.names()
    return [{"code": code, "name": names.get(code, code),
             "zone": wilayah.time_zone(code)[0], "utc_offset": wilayah.time_zone(code)[1],
             "villages": [{"code": village, "name": name} for village, name in sorted(names.items())
                          if village.startswith(code + ".")]}
            for code in polseks]


class LoginCounter(NamedTuple):
    """One count a login attempt must find room in: its key, how many attempts it holds, for how long."""

    key: str
    limit: int
    minutes: float
    username: str | None  # the account it counts, so a new password can clear it
    starts_over: bool = False  # one account from one client or device: a right password forgives its failures


def login_counters(username: str, client: str, settings: ConsoleSettings = DEFAULTS,
                   device: str | None = None) -> list[LoginCounter]:
    """The counts one login attempt takes a place in, in this order, before its password is checked.

    Why this holds under concurrency and against strangers:
    - an attempt takes its place *before* the password is verified (an atomic conditional increment),
      so however many arrive at once, at most `limit` of them are ever verified; a success gives its
      place back, a failure keeps it until the window ends;
    - the client's own count comes first: a client past CLIENT_FAILED_LOGINS is refused before any
      account's count is touched, so guessing many names, or locking many accounts, costs addresses;
    - an account's tight limit (MAX_FAILED_LOGINS per LOCK_MINUTES) is per (account, client): a
      stranger hammering `piket.menteng` locks out only his own client, never the officer's;
    - the account-wide count (ACCOUNT_FAILED_LOGINS) caps distributed guessing; filling it needs
      ACCOUNT_FAILED_LOGINS / MAX_FAILED_LOGINS clients, and its short window (ACCOUNT_LOCK_MINUTES)
      frees the officer minutes after they stop, so a lock by strangers never outlasts their attack;
    - and during it the officer still gets in from a browser where he logged in before: a `device`
      (its cookie, issued at a right password, known to be his) is counted on its own count only
      (MAX_FAILED_LOGINS), untouched by what strangers do from anywhere, his own office's address too;
    - every name is counted alike, existing or not (a name that cannot exist shares one bucket), so a
      refusal says nothing about which accounts exist.
    """
    name = username if USERNAME.match(username or "") else "-"
    if device:
        return [LoginCounter(f"device:{device}", settings.max_failed_logins, settings.lock_minutes, name, True)]
    return [LoginCounter(f"client:{client}", settings.client_failed_logins, settings.lock_minutes, None),
            LoginCounter(f"pair:{name}|{client}", settings.max_failed_logins, settings.lock_minutes, name, True),
            LoginCounter(f"account:{name}", settings.account_failed_logins, settings.account_lock_minutes, name)]


def client_key(address: str | None) -> str:
    """Who a client is for counting: its IPv4 address, or its IPv6 /64 (one subscriber's whole network,
    so a client cannot become 2^64 clients)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def forwarded_client(remote: str | None, forwarded_for: str | None, trusted_proxies: tuple[str, ...]) -> str | None:
    """The client's address: the connection's, unless it is a trusted proxy; then the X-Forwarded-For
    hops are read from the right (each proxy appends what it saw) to the first one no trusted proxy is.
    Hops a client wrote itself lie left of that one and are never read."""
    trusted = _networks(tuple(trusted_proxies))
    address = remote
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    while _is_in(address, trusted) and hops:
        address = hops.pop()
    return address


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_in(address: str | None, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)
