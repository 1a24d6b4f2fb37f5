"""Opening a secret URL in the browser without putting it in any process's argv.

``webbrowser`` starts the browser (``xdg-open``, ``firefox``, ``$BROWSER``) with the URL
as an argument, which every local user can read in ``/proc/PID/cmdline``. Instead the
browser is given ``http://127.0.0.1:PORT/TOKEN``, a random one-time path on loopback
that answers one GET with a redirect to the secret URL and then closes; the secret
travels only inside the redirect. A path fetched by something else first is gone for
the browser, which then sees an error page (and the caller is told it was not opened).
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WAIT = 120  # seconds the browser has to ask for the redirect


def graphical() -> bool:
    """Whether a graphical browser can plausibly open here (a text browser would take
    the terminal over, and cannot show the console anyway)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _default_open(url: str) -> bool:
    import webbrowser  # lazy: its platform probes only when a browser is opened

    return webbrowser.open(url, new=2)


def open_secret(url: str, opener: Callable[[str], bool] | None = None,
                wait: float = WAIT) -> bool:
    """Open ``url`` through a one-time loopback redirect; True once the browser fetched
    it, False if no browser started or none asked within ``wait`` seconds."""
    token = secrets.token_urlsafe(24)
    served = threading.Event()

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path != f"/{token}" or served.is_set():
                self.send_response(404 if self.path != f"/{token}" else 410)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            served.set()
            self.send_response(302)
            self.send_header("Location", url)
            for header, value in (("Cache-Control", "no-store"),
                                  ("Referrer-Policy", "no-referrer"), ("Content-Length", "0")):
                self.send_header(header, value)
            self.end_headers()

        def log_message(self, *args: object) -> None:  # nothing on stderr, ever
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        address = f"http://127.0.0.1:{server.server_address[1]}/{token}"
        if not (opener or _default_open)(address):
            return False
        return served.wait(wait)
    finally:
        server.shutdown()
        server.server_close()
