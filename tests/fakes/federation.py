"""The console federation endpoint (``https://signin.aws.amazon.com/federation``).

``GET /federation?Action=getSigninToken&SessionDuration=N&Session={"sessionId",
"sessionKey","sessionToken"}`` answers ``{"SigninToken": ...}``; ``Action=login&Issuer=
&Destination=&SigninToken=`` answers 302 to the destination. Like the real endpoint,
every refusal is an HTTP 400 with an HTML page and no machine-readable code (clients
can only go by the status): a missing or malformed session, long-term keys (no
``sessionToken``), keys it does not accept, ``SessionDuration`` outside 900..43200, more
than 3600 for a chained session, an unknown or expired (15 minutes) sign-in token, or
a destination outside the AWS console.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.base import FakeService, Reply, Request, Route, ServiceError
from tests.fakes.clock import Clock

CONSOLE_HOSTS = (".aws.amazon.com", ".amazonaws-us-gov.com", ".amazonaws.cn")


@dataclass(frozen=True)
class Grant:
    """What one sign-in token stands for."""

    access_key_id: str
    session_duration: int | None
    chained: bool
    issued_at: float


@dataclass(frozen=True)
class Login:
    issuer: str | None
    destination: str
    grant: Grant
    time: float


def console_destination(url: str) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme == "https" and (host == "console.aws.amazon.com"
                                        or host.endswith(CONSOLE_HOSTS))


def bad_request(reason: str) -> ServiceError:
    return ServiceError("BadRequest", reason, 400)


class ConsoleFederation(FakeService):
    """A fake sign-in federation endpoint; ``url`` ends in ``/federation``."""

    name = "signin"
    env_var = "ROLECALL_FEDERATION_URL"
    url_path = "/federation"

    def __init__(self, clock: Clock | None = None, *, known: Callable[[str], bool] | None = None,
                 token_ttl: int = 900,
                 destination_ok: Callable[[str], bool] = console_destination,
                 **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.known = known  # access key id -> accepted? (default: any temporary key)
        self.token_ttl = token_ttl
        self.destination_ok = destination_ok
        self.chained: set[str] = set()  # access key ids of role-chained sessions
        self.rejected: set[str] = set()  # access key ids refused (expired, revoked)
        self.grants: dict[str, Grant] = {}
        self.logins: list[Login] = []

    def mark_chained(self, access_key_id: str) -> None:
        self.chained.add(access_key_id)

    def reject(self, access_key_id: str) -> None:
        self.rejected.add(access_key_id)

    def route(self, request: Request) -> Route:
        if request.path != self.url_path or request.method not in ("GET", "POST"):
            raise ServiceError("NotFound", "Not Found", 404)
        params = dict(request.query)
        if request.method == "POST":
            form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            params.update({k: v[0] for k, v in form.items()})
        action = params.get("Action", "")
        if action not in ("getSigninToken", "login"):
            raise bad_request("Invalid Action parameter")
        return action, params, self._session(params).get("sessionId") if action[0] == "g" else None

    @staticmethod
    def _session(params: dict[str, str]) -> dict[str, Any]:
        try:
            session = json.loads(params.get("Session", ""))
        except ValueError:
            return {}
        return session if isinstance(session, dict) else {}

    def error_reply(self, error: ServiceError) -> Reply:
        page = (f"<html><head><title>{error.status} {html.escape(error.message)}</title></head>"
                f"<body><h1>HTTP Status {error.status} - {html.escape(error.message)}</h1>"
                "<p><b>description</b> The request sent by the client was syntactically "
                "incorrect.</p></body></html>")
        return Reply(error.status, page, {"Content-Type": "text/html;charset=utf-8"})

    def serve(self, operation: str, params: dict[str, Any], credential: str | None,
              request: Request) -> Reply:
        if operation == "getSigninToken":
            return self._get_signin_token(params)
        return self._login(params)

    def _get_signin_token(self, params: dict[str, str]) -> Reply:
        session = self._session(params)
        key, secret, token = (session.get(k) for k in ("sessionId", "sessionKey", "sessionToken"))
        if not all(isinstance(v, str) and v for v in (key, secret)):
            raise bad_request("Invalid credentials parameter")
        if not isinstance(token, str) or not token:  # long-term keys cannot sign in
            raise bad_request("Invalid credentials parameter")
        if key in self.rejected or (self.known is not None and not self.known(key)):
            raise bad_request("Invalid credentials parameter")
        duration = None
        if "SessionDuration" in params:
            try:
                duration = int(params["SessionDuration"])
            except ValueError:
                raise bad_request("Invalid SessionDuration parameter") from None
            if not 900 <= duration <= 43200:
                raise bad_request("Invalid SessionDuration parameter")
            if key in self.chained and duration > 3600:
                raise bad_request("Invalid credentials parameter")
        signin = secrets.token_urlsafe(480)
        self.grants[signin] = Grant(key, duration, key in self.chained, self.clock())
        return Reply(200, {"SigninToken": signin})

    def _login(self, params: dict[str, str]) -> Reply:
        grant = self.grants.get(params.get("SigninToken", ""))
        if grant is None or self.clock() - grant.issued_at > self.token_ttl:
            raise bad_request("Invalid SigninToken parameter")
        destination = params.get("Destination", "")
        if not destination or not self.destination_ok(destination):
            raise bad_request("Invalid Destination parameter")
        self.logins.append(Login(params.get("Issuer"), destination, grant, self.clock()))
        return Reply(302, b"", {"Location": destination, "Content-Type": "text/html"})
