"""dispatch's roster as community needs it: who an SMS came from, an officer a console names, a Polsek's RWs."""
from __future__ import annotations

from typing import Any

import eventlet

from services.community.settings import CommunitySettings
from shared.rpc import RpcProxy
from shared.settings import read


class Roster:
    """dispatch's roster RPCs, each waiting at most COMMUNITY.RPC_TIMEOUT_SECONDS (then the message is retried)."""

    def __init__(self, proxy, timeout: float):
        self.proxy, self.timeout = proxy, timeout

    def _call(self, method: str, *args: Any) -> Any:
        with eventlet.Timeout(self.timeout):
            return getattr(self.proxy, method)(*args)

    def by_phone(self, phone: str) -> dict[str, Any] | None:
        return self._call("find_officer_by_phone", phone)

    def officer(self, nrp: str) -> dict[str, Any] | None:
        from nameko.exceptions import RemoteError

        try:
            return self._call("get_officer", nrp)
        except RemoteError as exc:
            if exc.exc_type == "OfficerNotFound":
                return None
            raise

    def areas_of(self, polsek: str) -> list[str]:
        return [area for officer in self._call("list_officers", polsek) for area in officer.get("areas") or ()]


class DispatchRoster(RpcProxy):
    def __init__(self, **options):
        super().__init__("dispatch", **options)

    def setup(self):
        super().setup()
        self.timeout = read(CommunitySettings, self.container.config).rpc_timeout_seconds

    def get_dependency(self, worker_ctx) -> Roster:
        return Roster(super().get_dependency(worker_ctx), self.timeout)
