"""Parts for the credential endpoint's tests (see docs/architecture.md, Credential endpoint).

- :class:`StsGate`: an HTTP proxy in front of moto that counts STS actions (moto's
  request log is not exposed), can hold requests open, answer the next ones with an
  AWS error, and refuses requests signed with a session that has expired by its clock
  (``ExpiredToken``, as AWS does and moto does not), so an SDK call with a stale session
  fails for real.
- :class:`FileClock`: one moving fake clock for several processes: libfaketime reads its
  offset from ``FAKETIME_TIMESTAMP_FILE`` on every call (``FAKETIME_NO_CACHE=1``);
  monotonic clocks stay real, so every timeout still works.
- :class:`FakedMoto`: a moto server in a subprocess on that clock, so the sessions STS
  issues expire by it.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.sandbox import Moto

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
_SIGNER = re.compile(r"Credential=([^/,\s]+)/")
_CREDENTIALS = re.compile(r"<Credentials>(.*?)</Credentials>", re.DOTALL)
_KEY = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>")
_EXPIRES = re.compile(r"<Expiration>([^<]+)</Expiration>")
NS = "https://sts.amazonaws.com/doc/2011-06-15/"


class FileClock:
    """Real time plus an offset kept in a file that libfaketime reads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{self.offset:+.0f}\n")
        os.replace(tmp, self.path)  # a reader sees the old offset or the new, never none

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self._write()

    def read(self) -> float:
        """The offset as the file holds it now (a child may have moved it)."""
        return float(self.path.read_text().strip() or 0)

    def now(self) -> float:
        return time.time() + self.read()

    def env(self) -> dict[str, str]:
        return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": str(self.path),
                "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


class StsGate:
    """A proxy to ``upstream`` that observes and gates STS."""

    def __init__(self, upstream: str, clock=time.time) -> None:
        self.upstream = urlsplit(upstream)
        self.clock = clock
        self.actions: Counter[str] = Counter()  # STS Action -> requests that reached it
        self.assumed: Counter[str] = Counter()  # RoleArn -> AssumeRole requests
        self.expired_refusals = 0
        self.expiry: dict[str, float] = {}  # access key id -> expiry issued with it
        self.hold = threading.Event()
        self.hold.set()  # set: requests pass; clear: STS requests wait for it
        self.held = 0
        self.fail: list[tuple[str, str]] = []  # (code, message) for the next requests
        self._lock = threading.Lock()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                gate._handle(self)

            do_GET = do_POST  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length", 0) or 0))
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        action = form.get("Action", "")
        signer = _SIGNER.search(req.headers.get("Authorization", ""))
        key = signer.group(1) if signer else None
        expires = self.expiry.get(key or "")
        if expires is not None and expires <= self.clock():
            with self._lock:
                self.expired_refusals += 1
            return self._error(req, "ExpiredToken",
                               "The security token included in the request is expired")
        if action:
            with self._lock:
                self.actions[action] += 1
                if action == "AssumeRole":
                    self.assumed[form.get("RoleArn", "")] += 1
                self.held += 1
            try:
                self.hold.wait(60)
            finally:
                with self._lock:
                    self.held -= 1
            with self._lock:
                failure = self.fail.pop(0) if self.fail and action == "AssumeRole" else None
            if failure:
                return self._error(req, *failure)
        status, headers, data = self._forward(req, body)
        if action in ("AssumeRole", "GetSessionToken") and status == 200:
            for block in _CREDENTIALS.findall(data.decode("utf-8", "replace")):
                issued, when = _KEY.search(block), _EXPIRES.search(block)
                if issued and when:
                    self.expiry[issued.group(1)] = datetime.fromisoformat(
                        when.group(1).replace("Z", "+00:00")).timestamp()
        req.send_response(status)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection", "content-length",
                                    "date", "server"):
                req.send_header(name, value)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def _forward(self, req: BaseHTTPRequestHandler, body: bytes):
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() != "host"}
            headers["Host"] = self.upstream.netloc
            conn.request(req.command, req.path, body=body, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            conn.close()

    def _error(self, req: BaseHTTPRequestHandler, code: str, message: str) -> None:
        data = (f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
                f"<Message>{message}</Message></Error><RequestId>gate</RequestId>"
                "</ErrorResponse>").encode()
        req.send_response(403 if code == "AccessDenied" else 400)
        req.send_header("Content-Type", "text/xml")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def stop(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


_MOTO = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


class FakedMoto(Moto):
    """moto in a subprocess whose clock is ``clock``'s (the admin helpers as Moto's)."""

    def __init__(self, clock: FileClock) -> None:  # noqa: D107 - Moto's own start skipped
        self.proc = subprocess.Popen([sys.executable, "-c", _MOTO], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env={**os.environ, **clock.env()}, text=True)
        assert self.proc.stdout is not None
        port = self.proc.stdout.readline().strip()
        assert port.isdigit(), "moto did not start"
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
