"""A stand-in browser for the sign-in tests: what ``$BROWSER`` runs (through
:func:`install`), or :func:`browse` in-process as an ``opener``.

It opens what it is given as a browser would: an ``http`` URL, or a ``file://`` page
that sends it on with ``<meta http-equiv="refresh">``; it follows each redirect itself
(to the fake's ``/authorize``, then to rolecall's loopback callback) and records every
URL it visited, and when it reached the callback, as one JSON line in ``$STAND_IN_LOG``.
``$STAND_IN_MODE``: ``follow`` (the default), ``tamper`` (it changes the ``state`` it
brings back, as a login-CSRF page would), ``close`` (the person closes it at once: it
opens nothing and fails).
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_REFRESH = re.compile(r'http-equiv="refresh" content="0;url=([^"]+)"')


class _Keep(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str) -> tuple[int, str | None]:
    try:
        with urllib.request.build_opener(_Keep).open(url, timeout=30) as reply:
            return reply.status, reply.headers.get("Location")
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location")


def _tampered(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v + "x" if k == "state" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def browse(url: str, mode: str = "follow", log: str | None = None) -> bool:
    """Open ``url`` as the person's browser would; False when it "closed" at once."""
    if mode == "close":
        return False
    if url.startswith("file://"):
        found = _REFRESH.search(Path(urlsplit(url).path).read_text())
        url = html.unescape(found.group(1)) if found else url
    visited, reached = [], None
    for _ in range(10):
        if "/oauth/callback" in url:
            if mode == "tamper":
                url = _tampered(url)
            reached = time.time()
        visited.append(url)
        status, location = _get(url)
        if location is None or not 300 <= status < 400:
            break
        url = location
    if log:
        with open(log, "a") as out:
            out.write(json.dumps({"visited": visited, "callback_at": reached,
                                  "status": status}) + "\n")
    return True


def install(where: Path) -> str:
    """An executable stand-in at ``where`` (for ``BROWSER``)."""
    where.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, "
                     f"{str(Path(__file__).resolve().parent.parent)!r})\n"
                     "from tests.browser import main\nsys.exit(main())\n")
    where.chmod(0o755)
    return str(where)


def main() -> int:
    # A browser rolecall starts never holds its stdout (a credential_process caller reads
    # it to the end): the hand-off's child starts it with none. This one drops what it
    # may have been given, so a test measures rolecall, not how fast a browser exits.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    return 0 if browse(sys.argv[1], os.environ.get("STAND_IN_MODE", "follow"),
                       os.environ.get("STAND_IN_LOG")) else 1


def visits(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
