"""The web server every Siaga HTTP service runs: nameko's, hardened where an outsider can reach it.

- Security headers on every answer, the service's own and those it never wrote (werkzeug's 404 and 405,
  the WSGI server's 400 for a malformed request line): a header the answer already has is kept, so a
  handler can still choose, e.g., `Cache-Control: no-cache` for a static file.
- An exception that escapes the application is logged and answered with a fixed 500: no traceback, no
  exception text, to anyone outside.
- A deadline on each request's head: a client that does not send its request line and headers within
  REQUEST_TIMEOUT_SECONDS (and a connection silent that long) is closed, so a slowloris that opens
  connections and trickles bytes cannot hold the server's greenthreads.
- HSTS only when told the service sits behind TLS (HSTS_SECONDS): this server speaks plain HTTP and a
  TLS proxy in front is the deployment's choice, not something a request can tell us.
"""
from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable

import eventlet
from nameko.web.server import HttpOnlyProtocol, WebServer

from shared.settings import read, setting

log = logging.getLogger(__name__)

# An API answers JSON or XML: nothing in it may load anything, be framed, or be sniffed as something else.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
INTERNAL_ERROR = b"Internal server error / Terjadi kesalahan di server.\n"


@dataclass(frozen=True)
class WebServerSettings:
    SECTION: ClassVar[str] = "HTTP"
    request_timeout: float = setting(10.0, "seconds a client has to send a request's line and headers (and the "
                                     "longest silence on a connection); then it is closed",
                                     key="REQUEST_TIMEOUT_SECONDS")
    hsts_seconds: int = setting(0, "Strict-Transport-Security max-age; 0 sends none (set it only when a TLS "
                                "proxy serves this)", key="HSTS_SECONDS")


def security_headers(content_security_policy: str, hsts_seconds: int = 0) -> dict[str, str]:
    """What every answer carries unless it says otherwise; personal data is never kept in a cache."""
    headers = {
        "Content-Security-Policy": content_security_policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    if hsts_seconds > 0:
        headers["Strict-Transport-Security"] = f"max-age={int(hsts_seconds)}"
    return headers


class SecuredApp:
    """WSGI middleware: the headers on every answer, and a fixed 500 for whatever escapes the app."""

    def __init__(self, app: Callable, headers: dict[str, str]):
        self.app, self.headers = app, headers

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        def secured_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            present = {name.lower() for name, _ in headers}
            extra = [(name, value) for name, value in self.headers.items() if name.lower() not in present]
            return start_response(status, list(headers) + extra, exc_info)

        try:
            return self.app(environ, secured_start)
        except Exception:
            log.exception("unexpected error answering %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            secured_start("500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8"),
                                                        ("Content-Length", str(len(INTERNAL_ERROR)))])
            return [INTERNAL_ERROR]


class DeadlineProtocol(HttpOnlyProtocol):
    """eventlet's HTTP protocol with one deadline on each request's head, and bare error pages.

    The server's socket timeout bounds each read; a client sending a byte just inside it would still
    hold the connection for hours, so the request line and headers together get the same time, once.
    """

    def handle_one_request(self):
        self.head_deadline = eventlet.Timeout(self.server.socket_timeout, socket.timeout("request head too slow"))
        try:
            super().handle_one_request()
        finally:
            self.head_deadline.cancel()

    def parse_request(self):
        try:
            return super().parse_request()
        finally:
            self.head_deadline.cancel()

    def send_error(self, code, message=None, explain=None):
        """http.server's page would quote the malformed request line back; this one gives the status only."""
        super().send_error(code)

    def end_headers(self):
        """Only the server's own answers (send_error) pass here; the application's go through SecuredApp."""
        for name, value in getattr(self.server.app, "headers", {}).items():
            self.send_header(name, value)
        super().end_headers()


class SecureWebServer(WebServer):
    """nameko's WebServer with the guards above; `content_security_policy` is the service's own."""

    def __init__(self, content_security_policy: str = API_CONTENT_SECURITY_POLICY):
        super().__init__()
        self.content_security_policy = content_security_policy

    def start(self):
        self.settings = read(WebServerSettings, self.container.config)
        super().start()

    def get_wsgi_app(self):
        return SecuredApp(super().get_wsgi_app(),
                          security_headers(self.content_security_policy, self.settings.hsts_seconds))

    def get_wsgi_server(self, sock, wsgi_app, protocol=DeadlineProtocol, debug=False):
        server = super().get_wsgi_server(sock, wsgi_app, protocol=protocol, debug=debug)
        server.socket_timeout = self.settings.request_timeout
        return server
