"""dispatch's RPCs as a console needs them: a bounded wait, and dispatch's own reason when it says no."""
from __future__ import annotations

import logging
from typing import Any

import eventlet
from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy

from services.console.domain import DEFAULT_SETTINGS
from services.console.exceptions import ConsoleError, DispatchRefused, DispatchUnavailable
from services.console.storage import settings_from
from services.dispatch import exceptions as dispatch_exceptions

log = logging.getLogger(__name__)


def _refusals(base: type = dispatch_exceptions.DispatchError) -> set[str]:
    """The names of dispatch's refusals (DispatchError and its subclasses): over RPC only the name travels."""
    return {base.__name__}.union(*(_refusals(sub) for sub in base.__subclasses__()))


REFUSALS = _refusals()


class DispatchCaller:
    def __init__(self, proxy, timeout: float):
        self.proxy = proxy
        self.timeout = timeout

    def __call__(self, method: str, *args: Any) -> Any:
        """DispatchRefused carries dispatch's reason; DispatchUnavailable when it does not answer in time."""
        timer = eventlet.Timeout(self.timeout)
        try:
            return getattr(self.proxy, method)(*args)
        except eventlet.Timeout as fired:
            if fired is not timer:
                raise
            raise DispatchUnavailable(
                f"Layanan dispatch tidak menjawab dalam {self.timeout:.0f} detik. Tindakan mungkin belum atau "
                "sudah tercatat: lihat papan sebelum mencoba lagi.") from None
        except RemoteError as exc:
            if exc.exc_type in REFUSALS:
                raise DispatchRefused(exc.value) from None
            log.error("dispatch %s failed: %s %s", method, exc.exc_type, exc.value)
            raise ConsoleError(f"Dispatch gagal memproses permintaan ({exc.exc_type}); hubungi teknisi jaga.") from None
        finally:
            timer.cancel()


class DispatchClient(RpcProxy):
    """An RpcProxy to dispatch whose calls wait at most CONSOLE.RPC_TIMEOUT_SECONDS."""

    def __init__(self, **options):
        super().__init__("dispatch", **options)
        self.timeout = DEFAULT_SETTINGS.rpc_timeout_seconds

    def setup(self):
        super().setup()
        self.timeout = settings_from(self.container.config).rpc_timeout_seconds

    def get_dependency(self, worker_ctx) -> DispatchCaller:
        return DispatchCaller(super().get_dependency(worker_ctx), self.timeout)
