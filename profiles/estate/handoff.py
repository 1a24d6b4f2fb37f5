"""Opening a secret URL in the browser without putting it, or anything that leads to it,
in any process's argv.

A browser is started with what it should open as an argument, and every local user can
read ``/proc/PID/cmdline``. So the browser is given only ``file://`` and the path of a
page in a fresh private directory (0700, the page 0600: no other user can read it).
The page sends the browser on to ``http://127.0.0.1:PORT/TOKEN``, a one-time loopback
address whose random token is written nowhere else; that address answers one GET with a
redirect to the secret URL and then closes. A request with the token proves its sender
read the page, so the hand-off succeeds only when the user's own browser got the URL;
whoever reads the argv learns a path they cannot open. The page is deleted as soon as it
has been used, and in any case when the hand-off ends.

A browser confined by snap or flatpak may not see the page's directory (the runtime dir,
else the temp dir): the hand-off then times out and says so; ``console --print`` works.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import os
import secrets
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from profiles.doors.statefiles import write_private

WAIT = 120  # seconds the browser has to ask for the redirect
PAGE = "signin.html"


def graphical() -> bool:
    """Whether a graphical browser can plausibly open here (a text browser would take
    the terminal over, and cannot show the console anyway)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _default_open(url: str) -> bool:
    # lazy: the browser child only when a browser is opened
    from profiles.estate.browser import open_url

    return open_url(url)


def private_dir() -> Path:
    """A new directory only this user can enter: in ``$XDG_RUNTIME_DIR`` (the login's
    own tmpfs) when there is one, else in the temp dir."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    parent = runtime if runtime.startswith("/") and os.path.isdir(runtime) else None
    return Path(tempfile.mkdtemp(prefix="rolecall-console-", dir=parent))  # mode 0700


def page(address: str) -> bytes:
    """The page that sends the browser to ``address`` (with a link, should refresh be off)."""
    quoted = html.escape(address, quote=True)
    return ("<!doctype html>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            f"<meta http-equiv=\"refresh\" content=\"0;url={quoted}\">\n"
            "<title>rolecall: opening the AWS console</title>\n"
            f"<p>Opening the AWS console&hellip; <a href=\"{quoted}\">continue</a></p>\n"
            ).encode()


def open_secret(url: str, opener: Callable[[str], bool] | None = None,
                wait: float = WAIT) -> bool:
    """Open ``url`` through a private page and a one-time loopback redirect; True once
    the browser asked for it with the page's token, False if no browser started or none
    asked within ``wait`` seconds. ``opener(file_url)`` starts the browser."""
    token = secrets.token_urlsafe(32)
    served = threading.Event()
    where = private_dir()

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            right = hmac.compare_digest(self.path.encode("utf-8", "surrogateescape"),
                                        f"/{token}".encode())
            if not right or served.is_set():
                self.send_response(410 if right else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            served.set()
            shutil.rmtree(where, ignore_errors=True)  # used: nothing left to read
            self.send_response(302)
            self.send_header("Location", url)
            for header, value in (("Cache-Control", "no-store"),
                                  ("Referrer-Policy", "no-referrer"), ("Content-Length", "0")):
                self.send_header(header, value)
            self.end_headers()

        def log_message(self, *args: object) -> None:  # nothing on stderr, ever
            pass

    try:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    except OSError:
        shutil.rmtree(where, ignore_errors=True)
        return False
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        target = where / PAGE
        write_private(target, page(f"http://127.0.0.1:{server.server_address[1]}/{token}"))
        if not (opener or _default_open)(target.as_uri()):
            return False
        return served.wait(wait)
    finally:
        server.shutdown()
        server.server_close()
        with contextlib.suppress(OSError):
            shutil.rmtree(where)
