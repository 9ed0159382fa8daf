"""dispatch's, reports' and notify's RPCs as a console needs them: a bounded wait, and the service's own reason
when it says no."""
from __future__ import annotations

import logging
from typing import Any

import eventlet
from nameko.exceptions import RemoteError

from services.console.exceptions import (
    CommunityRefused,
    CommunityUnavailable,
    ConsoleError,
    DispatchRefused,
    DispatchUnavailable,
    NotifyUnavailable,
    ReportsRefused,
    ReportsUnavailable,
)
from services.console.settings import ConsoleSettings
from shared.refusals import COMMUNITY_REFUSALS, DISPATCH_REFUSALS, REPORTS_REFUSALS
from shared.rpc import RpcProxy
from shared.settings import read

log = logging.getLogger(__name__)


class ServiceCaller:
    """Calls one service's RPCs: `refused` carries the service's own reason, `unavailable` a timeout."""

    def __init__(self, proxy, timeout: float, label: str = "dispatch", refusals: frozenset[str] = DISPATCH_REFUSALS,
                 refused: type = DispatchRefused, unavailable: type = DispatchUnavailable):
        self.proxy = proxy
        self.timeout = timeout
        self.label, self.refusals, self.refused, self.unavailable = label, refusals, refused, unavailable

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        timer = eventlet.Timeout(self.timeout)
        try:
            return getattr(self.proxy, method)(*args, **kwargs)
        except eventlet.Timeout as fired:
            if fired is not timer:
                raise
            raise self.unavailable(
                f"Layanan {self.label} tidak menjawab dalam {self.timeout:.0f} detik. Tindakan mungkin belum atau "
                "sudah tercatat: lihat papan sebelum mencoba lagi.") from None
        except RemoteError as exc:
            if exc.exc_type in self.refusals:
                raise self.refused(exc.value) from None
            log.error("%s %s failed: %s %s", self.label, method, exc.exc_type, exc.value)
            raise ConsoleError(f"Layanan {self.label} gagal memproses permintaan ({exc.exc_type}); "
                               "hubungi teknisi jaga.") from None
        finally:
            timer.cancel()


class DispatchClient(RpcProxy):
    """An RpcProxy to dispatch whose calls wait at most CONSOLE.RPC_TIMEOUT_SECONDS."""

    service = "dispatch"

    def __init__(self, **options):
        super().__init__(self.service, **options)

    def setup(self):
        super().setup()
        self.timeout = read(ConsoleSettings, self.container.config).rpc_timeout_seconds

    def get_dependency(self, worker_ctx) -> ServiceCaller:
        return ServiceCaller(super().get_dependency(worker_ctx), self.timeout)


class ReportsClient(DispatchClient):
    """An RpcProxy to reports (cancel_report, reveal_contact, list_reveals), same bounded wait; refusals carry
    reports' own reason."""

    service = "reports"

    def get_dependency(self, worker_ctx) -> ServiceCaller:
        return ServiceCaller(RpcProxy.get_dependency(self, worker_ctx), self.timeout, "reports",
                             REPORTS_REFUSALS, ReportsRefused, ReportsUnavailable)


class CommunityClient(DispatchClient):
    """An RpcProxy to community (visits, coverage, posts, alerts), same bounded wait; refusals carry community's
    own reason."""

    service = "community"

    def get_dependency(self, worker_ctx) -> ServiceCaller:
        return ServiceCaller(RpcProxy.get_dependency(self, worker_ctx), self.timeout, "community",
                             COMMUNITY_REFUSALS, CommunityRefused, CommunityUnavailable)


class NotifyClient(DispatchClient):
    """An RpcProxy to notify (sms_spending), same bounded wait; notify refuses nothing a console asks."""

    service = "notify"

    def get_dependency(self, worker_ctx) -> ServiceCaller:
        return ServiceCaller(RpcProxy.get_dependency(self, worker_ctx), self.timeout, "notify", frozenset(),
                             ConsoleError, NotifyUnavailable)
