"""The demo's AWS on loopback: moto, and what moto lacks, behind one address.

One WSGI server on 127.0.0.1 answers everything the demo's clients reach through
``AWS_ENDPOINT_URL`` and ``ROLECALL_FEDERATION_URL``:

- ``/federation``: the console sign-in endpoint, as ``signin.aws.amazon.com`` answers it
  (``getSigninToken`` trades a session for a sign-in token; ``login`` would open the
  console, and here shows a page saying what it would open: the sandbox has no console);
- CloudTrail ``LookupEvents`` (:mod:`tui.demo.trail`), over every ``AssumeRole`` the
  sandbox's STS answered;
- everything else: moto, unchanged.

Server logs (werkzeug's and moto's: a failed request's traceback) go to a file in the
demo's directory, never to the terminal the board and its subshell share. Request lines
are not logged at all (a sign-in URL is a secret).
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tui.demo.trail import JSON11, TARGET, Trail, signer

LOGGERS = ("werkzeug", "moto")
ACCESS_KEY = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")
TOKEN_TTL = 900  # a sign-in token works for 15 minutes, as AWS's does
CONSOLE_HOSTS = (".aws.amazon.com", ".amazonaws-us-gov.com", ".amazonaws.cn")


@dataclass(frozen=True)
class Grant:
    """What one sign-in token stands for."""

    principal: str
    duration: int | None
    issued_at: float


class Federation:
    """``getSigninToken`` and ``login``; every refusal is an HTTP 400 with an HTML page and
    no code, as the real endpoint answers."""

    def __init__(self, trail: Trail, clock: Callable[[], float] = time.time) -> None:
        self.trail = trail
        self.clock = clock
        self.chained: set[str] = set()  # access keys of role-chained sessions
        self.grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def answer(self, params: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        action = params.get("Action")
        if action == "getSigninToken":
            return self._token(params)
        if action == "login":
            return self._login(params)
        return _refusal("Invalid Action parameter")

    def _token(self, params: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        try:
            session = json.loads(params.get("Session", ""))
        except ValueError:
            session = None
        if not isinstance(session, dict) or not all(
                isinstance(session.get(k), str) and session[k]
                for k in ("sessionId", "sessionKey", "sessionToken")):
            return _refusal("Invalid credentials parameter")  # long-term keys too
        found = self.trail.caller(session["sessionId"])
        if found is None:
            return _refusal("Invalid credentials parameter")
        duration = None
        if "SessionDuration" in params:
            try:
                duration = int(params["SessionDuration"])
            except ValueError:
                return _refusal("Invalid SessionDuration parameter")
            if not 900 <= duration <= 43200 or (
                    session["sessionId"] in self.chained and duration > 3600):
                return _refusal("Invalid SessionDuration parameter")
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.grants[token] = Grant(found[1], duration, self.clock())
        return 200, json.dumps({"SigninToken": token}), {"Content-Type": "application/json"}

    def _login(self, params: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        with self._lock:  # a sign-in token works once
            grant = self.grants.pop(params.get("SigninToken", ""), None)
        if grant is None or self.clock() - grant.issued_at > TOKEN_TTL:
            return _refusal("Invalid SigninToken parameter")
        destination = params.get("Destination", "")
        parts = urlsplit(destination)
        host = parts.hostname or ""
        if parts.scheme != "https" or not (host == "console.aws.amazon.com"
                                           or host.endswith(CONSOLE_HOSTS)):
            return _refusal("Invalid Destination parameter")
        lasts = f" for {grant.duration // 60} minutes" if grant.duration else ""
        page = ("<!doctype html><html><head><title>rolecall demo: AWS console</title></head>"
                "<body><h1>rolecall demo</h1><p>On AWS, this sign-in URL opens the console "
                f"page {html.escape(destination)} as {html.escape(grant.principal)}{lasts}."
                "</p><p>The demo's sandbox has no console: the sign-in worked, and there is "
                "nothing behind it.</p></body></html>")
        return 200, page, {"Content-Type": "text/html; charset=utf-8",
                           "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _refusal(reason: str) -> tuple[int, str, dict[str, str]]:
    page = (f"<html><head><title>400 {html.escape(reason)}</title></head><body>"
            f"<h1>HTTP Status 400 - {html.escape(reason)}</h1></body></html>")
    return 400, page, {"Content-Type": "text/html;charset=utf-8"}


def _reply(start_response, status: int, body: str | bytes,
           headers: dict[str, str]) -> list[bytes]:
    data = body.encode() if isinstance(body, str) else body
    reason = {200: "OK", 400: "Bad Request"}.get(status, "Error")
    start_response(f"{status} {reason}", [*headers.items(), ("Content-Length", str(len(data)))])
    return [data]


class Sandbox:
    """The WSGI app: the federation endpoint and CloudTrail here, the rest to moto (whose
    STS ``AssumeRole`` and ``GetSessionToken`` answers are recorded on the way back)."""

    def __init__(self, moto_app, trail: Trail, federation: Federation) -> None:
        self.moto = moto_app
        self.trail = trail
        self.federation = federation

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        body = self._body(environ)
        if environ.get("PATH_INFO") == "/federation":
            params = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            if environ.get("REQUEST_METHOD") == "POST":
                form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                params.update({k: v[0] for k, v in form.items()})
            return _reply(start_response, *self.federation.answer(params))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(TARGET):
            # lazy: the CloudTrail answer only when CloudTrail is asked
            from tui.demo.trail import answer

            status, data = answer(self.trail, target[len(TARGET):], body,
                                  environ.get("HTTP_AUTHORIZATION", ""))
            return _reply(start_response, status, data, {"Content-Type": JSON11})
        who = signer(environ.get("HTTP_AUTHORIZATION", ""))
        if who is None or who.service != "sts":
            return self.moto(environ, start_response)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("Action") not in ("AssumeRole", "GetSessionToken"):
            return self.moto(environ, start_response)
        return self._sts(environ, start_response, form, who)

    @staticmethod
    def _body(environ: dict) -> bytes:
        """The request body, read once and put back for whoever answers."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _sts(self, environ: dict, start_response, form: dict[str, str], who) -> list[bytes]:
        seen: list[str] = []

        def started(status: str, headers, *args):
            seen.append(status)
            return start_response(status, headers, *args)

        answer = self.moto(environ, started)
        try:
            data = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        ok = bool(seen) and seen[0].startswith("2")
        issued = ACCESS_KEY.search(data)
        if form["Action"] == "GetSessionToken":
            found = self.trail.caller(who.access_key)
            if ok and issued and found:  # the MFA session signs as its user, as on AWS
                self.trail.session_keys[issued.group(1).decode()] = found[1]
            return [data]
        if ok and issued and environ.get("HTTP_X_AMZ_SECURITY_TOKEN") and \
                ":assumed-role/" in (self.trail.caller(who.access_key) or ("", ""))[1]:
            self.federation.chained.add(issued.group(1).decode())  # a role-chained session
        self.trail.assumed(form.get("RoleArn", ""), form.get("RoleSessionName", ""), who,
                           environ.get("REMOTE_ADDR", ""),
                           None if ok else _error_code(data))
        return [data]


def _error_code(data: bytes) -> str:
    found = re.search(rb"<Code>([^<]+)</Code>", data)
    return found.group(1).decode() if found else "Error"


class Server:
    """The sandbox's server thread; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, log: Path, clock: Callable[[], float] = time.time) -> None:
        # lazy: moto is an optional extra (rolecall[demo])
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.trail = Trail(clock)
        self.federation = Federation(self.trail, clock)
        self._handler = logging.FileHandler(log, encoding="utf-8", delay=True)
        self._saved = [(name, logging.getLogger(name).propagate,
                        logging.getLogger(name).level) for name in LOGGERS]
        for name in LOGGERS:  # tracebacks of failed requests: to the file, not the terminal
            logger = logging.getLogger(name)
            logger.addHandler(self._handler)
            logger.propagate = False
            logger.setLevel(logging.ERROR)  # never request lines: a URL may be a secret
        app = Sandbox(DomainDispatcherApplication(create_backend_app), self.trail,
                      self.federation)
        self._server = make_server("127.0.0.1", 0, app, threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="rolecall-demo-sandbox", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        for name, propagate, level in self._saved:
            logger = logging.getLogger(name)
            logger.removeHandler(self._handler)
            logger.propagate = propagate
            logger.setLevel(level)
        self._handler.close()
