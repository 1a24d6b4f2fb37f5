"""The loopback end of a browser sign-in (OAuth 2.0 for native apps, RFC 8252): a one-shot
HTTP server on 127.0.0.1 that takes the authorization code the browser brings back.

It answers only on 127.0.0.1 (never every interface, as the AWS CLI's does), only to a
request whose ``Host`` is that address and port (a page on another site cannot reach it
through DNS rebinding), only ``GET /oauth/callback``, and only once: the first callback
that carries a code or an error ends it. Its ``state`` must be the one this sign-in
sent (compared in constant time); a callback with another state is refused and ends
the sign-in, since someone may be trying to slip their own code in (a login CSRF). The
page it answers is fixed text: nothing from the request is echoed back, so nothing a
query carries can become markup. It logs nothing.
"""

from __future__ import annotations

import hmac
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PATH = "/oauth/callback"
_ERROR = re.compile(r"[a-z_]{1,40}")  # an OAuth error code (RFC 6749 §4.1.2.1)
_HEADERS = (("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"), ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"))
_PAGE = ("<!doctype html><meta charset=\"utf-8\"><title>rolecall</title>"
         "<body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p>")
PAGES = {
    "code": ("Signed in", "rolecall has the sign-in. You can close this tab."),
    "error": ("Not signed in", "The sign-in did not complete; rolecall says why in the "
              "terminal. You can close this tab."),
    "refused": ("Refused", "This answer was not for the sign-in rolecall is waiting for, "
                "so rolecall refused it. You can close this tab."),
}


@dataclass(frozen=True)
class Answer:
    """What the browser brought back: a code, an OAuth error, or a refused state."""

    code: str | None = None
    error: str | None = None  # an OAuth error code (``access_denied``), or "error"
    refused: bool = False


class Callback:
    """A one-shot callback server for one sign-in; a context manager."""

    def __init__(self, state: str) -> None:
        self._state = state.encode()
        self.done = threading.Event()
        self.answer: Answer | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="sso-callback", daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def __enter__(self) -> Callback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()  # anything still arriving is gone
        self._server.shutdown()
        self._server.server_close()

    def take(self, query: dict[str, list[str]]) -> str | None:
        """Judge one callback's query; the page to answer, or None when it is no
        answer at all (malformed, or carries neither a code nor an error)."""
        if any(len(values) != 1 for values in query.values()):
            return None  # a repeated field: which one the service meant is unknowable
        state, code, error = (query.get(k, [""])[0] for k in ("state", "code", "error"))
        if not code and not error:
            return None
        if not hmac.compare_digest(state.encode("utf-8", "surrogateescape"), self._state):
            answer, page = Answer(refused=True), "refused"
        elif error:
            answer, page = Answer(error=error if _ERROR.fullmatch(error) else "error"), "error"
        else:
            answer, page = Answer(code=code), "code"
        with self._lock:
            if self.answer is not None:
                return None
            self.answer = answer
        self.done.set()
        return page


def _handler(owner: Callback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a client that sends nothing does not hold a thread

        def log_message(self, *args: object) -> None:  # the URL holds the code
            pass

        def version_string(self) -> str:
            return "rolecall"

        def _reply(self, status: int, page: str | None = None) -> None:
            body = b""
            if page is not None:
                title, text = PAGES[page]
                body = _PAGE.format(title=title, text=text).encode()
            self.send_response(status)
            for key, value in _HEADERS:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            if self.client_address[0] != "127.0.0.1" or \
                    self.headers.get("Host") != f"127.0.0.1:{owner.port}":
                self._reply(400)
                return
            if parts.path != PATH:
                self._reply(404)
                return
            if owner.done.is_set():
                self._reply(410)
                return
            try:
                query = parse_qs(parts.query, keep_blank_values=True, max_num_fields=16,
                                 errors="surrogateescape")
            except ValueError:
                query = {"": ["", ""]}  # too many fields: malformed
            page = owner.take(query)
            self._reply(400 if page in (None, "refused") else 200, page)

    return Handler
