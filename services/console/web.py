"""The console's HTTP plumbing: an @http entrypoint that answers errors as JSON a person can read,
security headers on every response, the static files, the session cookie and server-sent events."""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Request, Response

from services.console import board, domain
from services.console.auth import same_token
from services.console.exceptions import ConsoleError, Forbidden, InvalidRequest, NotFound, NotLoggedIn
from services.console.settings import ConsoleSettings
from shared.envelope import utcnow
from shared.webserver import SecureWebServer

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".js": "text/javascript; charset=utf-8", ".json": "application/json",
                 ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}
SESSION_COOKIE = "siaga_console"
DEVICE_COOKIE = "siaga_device"  # a browser where an operator logged in before (domain.login_counters)
KEEPALIVE_S = 15.0  # a comment line on a quiet stream, so proxies and phones keep the connection
SESSION_CHECK_S = 30.0
CSRF_HEADER = "X-CSRF-Token"
# Everything is served by the console itself: no CDN, no inline script, no framing by other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class ConsoleHttp(HttpRequestHandler):
    """nameko's @http, answering a ConsoleError with its reason as JSON and its status, and anything
    unexpected with a short message (the traceback goes to the log, not to the browser)."""

    server = SecureWebServer(SECURITY_HEADERS["Content-Security-Policy"])

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("expected_exceptions", ConsoleError)
        super().__init__(method, url, **kwargs)

    def response_from_result(self, result):
        return secured(super().response_from_result(result))

    def response_from_exception(self, exc):
        if isinstance(exc, ConsoleError):
            return json_response({"error": exc.reason}, exc.status)
        log.error("console request failed: %r", exc)
        return json_response({"error": "Terjadi kesalahan di server konsol; coba lagi atau hubungi teknisi jaga."},
                             500)


http = ConsoleHttp.decorator


def secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def json_response(data: Any, status: int = 200) -> Response:
    return secured(Response(json.dumps(data, ensure_ascii=False, default=_default), status=status,
                            mimetype="application/json"))


def xml_response(text: str) -> Response:
    return secured(Response(text, status=200, content_type="application/xml; charset=utf-8"))


def json_body(request: Request) -> dict[str, Any]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # werkzeug's silent covers ValueError only; deep nesting is a bad request too
        body = None
    if not isinstance(body, dict):
        raise InvalidRequest("Permintaan harus berupa objek JSON (Content-Type: application/json).")
    return body


def static_files() -> dict[str, Path]:
    """The files the console serves, fixed at start: a request can only name one of these."""
    return {path.name: path for path in STATIC_DIR.iterdir() if path.suffix in CONTENT_TYPES}


def static_response(files: Mapping[str, Path], name: str) -> Response:
    path = files.get(name)
    if path is None:
        raise NotFound(f"Berkas {name!r} tidak ada.")
    response = Response(path.read_bytes(), mimetype=None, content_type=CONTENT_TYPES[path.suffix])
    response.headers["Cache-Control"] = "no-cache"
    return secured(response)


def client_of(request: Request, settings: ConsoleSettings) -> str:
    """Who sent the request, for counting logins: the connection's address (X-Forwarded-For only from a
    trusted proxy), an IPv6 client by its /64."""
    address = domain.forwarded_client(request.remote_addr, request.headers.get("X-Forwarded-For"),
                                      settings.trusted_proxies)
    return domain.client_key(address)


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def check_csrf(request: Request, session: Mapping[str, Any]) -> None:
    """A changing request must carry the session's CSRF token in a header, which another site's page cannot
    set (and the SameSite=Strict cookie is not even sent from another site)."""
    if not same_token(session.get("csrf"), request.headers.get(CSRF_HEADER)):
        raise Forbidden("Permintaan ditolak: token keamanan (CSRF) tidak cocok. Muat ulang halaman.")


def with_session_cookie(response: Response, token: str, max_age_s: int, secure: bool) -> Response:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age_s, path="/", secure=secure, httponly=True,
                        samesite="Strict")
    return response


def device_token(request: Request) -> str | None:
    return request.cookies.get(DEVICE_COOKIE)


def with_device_cookie(response: Response, token: str, max_age_s: int, secure: bool) -> Response:
    response.set_cookie(DEVICE_COOKIE, token, max_age=max_age_s, path="/api/login", secure=secure, httponly=True,
                        samesite="Strict")
    return response


def without_session_cookie(response: Response, secure: bool) -> Response:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="Strict")
    return response


def sse(event: str, data: Any) -> str:
    """One server-sent event (data is JSON on one line)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=_default)}\n\n"


def event_stream(request: Request, chunks: Iterator[str]) -> Response:
    """A streaming response: eventlet's WSGI server would otherwise hold back chunks under 4 KiB."""
    request.environ["eventlet.minimum_write_chunk_size"] = 0
    response = Response((chunk.encode() for chunk in chunks), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # tell an nginx in front not to buffer either
    return secured(response)


def live_board(feed, token: str, polseks: list[str]) -> Iterator[str]:
    """One browser's live board: a snapshot, then every change of its Polseks as it is written.

    Runs after the HTTP worker returned (the WSGI server iterates it), so it holds the feed, not the worker.
    The session is re-checked every SESSION_CHECK_S: a logout or an expiry ends the stream.
    """
    subscription = feed.subscribe(polseks)
    try:
        yield "retry: 2000\n\n"
        entries = feed.store.board(polseks, utcnow())
        for entry in entries:
            subscription.sent[entry["_id"]] = entry["version"]
        yield sse("snapshot", board_payload(entries))
        checked = time.monotonic()
        while True:
            changes = subscription.next_changes(timeout=KEEPALIVE_S)
            yield sse("changes", board_payload(changes)) if changes else ": still here\n\n"
            if time.monotonic() - checked > SESSION_CHECK_S:
                checked = time.monotonic()
                try:
                    feed.store.session(token, utcnow())
                except NotLoggedIn as exc:
                    yield sse("logged_out", {"error": exc.reason})
                    return
    finally:
        feed.unsubscribe(subscription)


def board_payload(entries: list[dict[str, Any]]) -> dict[str, Any]:
    cards = sorted((board.card(entry) for entry in entries), key=board.board_order)
    return {"now": utcnow().isoformat(), "cards": cards}
