"""The credential endpoint (see docs/architecture.md, Credential endpoint): ECS
container-credentials format on loopback.

``GET /role/NAME`` with ``Authorization: TOKEN`` answers ``{"AccessKeyId",
"SecretAccessKey", "Token", "Expiration", "RoleArn", "AccountId"}``, what botocore's
``ContainerProvider`` (and every AWS SDK's) reads from
``AWS_CONTAINER_CREDENTIALS_FULL_URI`` with ``AWS_CONTAINER_AUTHORIZATION_TOKEN``.
Sessions come from a :class:`~profiles.ops.renewal.Renewer`. It binds 127.0.0.1 only;
a missing token is 401, a wrong one 403 (compared in constant time), a role it does
not serve 404, a renewal awaiting an MFA code (or an IAM Identity Center login) 503, an
AWS refusal 502: each a one-line JSON ``{"code", "message"}`` with no secret. A request
from a web page (an ``Origin`` header, or a ``Host`` other than the loopback address: DNS
rebinding) is refused.
The server writes no log: the face shows the renewer's events.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

from profiles.errors import AwsError, ConfigError, RolecallError, UsageError
from profiles.estate.tokens import LoginRequired
from profiles.model import ROLE_ARN, Session, iso
from profiles.ops.renewal import MfaWanted, NotServed, Renewer

LOOPBACK = "127.0.0.1"
PREFIX = "/role/"
TOKEN_BYTES = 32


class EndpointError(RolecallError):
    """The endpoint could not listen (the port is taken, or not ours to take)."""


def new_token() -> str:
    """A random token for the ``Authorization`` header (URL-safe: no CR/LF)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def check_loopback(host: str) -> None:
    """Refuse any address but 127.0.0.1: the endpoint hands out credentials."""
    if host != LOOPBACK:
        raise UsageError(f"the credential endpoint listens on {LOOPBACK} only, not {host!r}",
                         fix="leave the address out; the endpoint is for this machine")


def _status(error: RolecallError) -> tuple[int, str]:
    if isinstance(error, NotServed):
        return 404, "RoleNotServed"
    if isinstance(error, MfaWanted):
        return 503, "MfaCodeNeeded"
    if isinstance(error, LoginRequired):  # an operator's sso login mends it: as an MFA code
        return 503, "LoginRequired"
    if isinstance(error, AwsError):
        return 502, error.code or "AssumeRoleFailed"
    if isinstance(error, ConfigError):
        return 500, "ConfigError"
    return 500, "RenewalFailed"


def credentials_body(name: str, session: Session) -> dict[str, str]:
    """The container-credentials document for ``session`` of role ``name``."""
    creds = session.credentials
    assert creds is not None
    body = {"AccessKeyId": creds.access_key_id, "SecretAccessKey": creds.secret_access_key,
            "Token": creds.session_token, "Expiration": iso(creds.expiration)}
    if match := ROLE_ARN.fullmatch(session.role_arn):
        body["RoleArn"], body["AccountId"] = session.role_arn, match.group(1)
    return body


class CredentialServer(ThreadingHTTPServer):
    """The endpoint: ``start()`` serves in a thread, ``stop()`` ends it."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, renewer: Renewer, *, token: str | None = None, port: int = 0,
                 host: str = LOOPBACK) -> None:
        check_loopback(host)
        self.renewer = renewer
        self.token = token or new_token()
        self.served: dict[str, int] = {}  # answers with credentials, per role
        self.refused = 0  # 401/403 answers
        self._thread: threading.Thread | None = None
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            raise EndpointError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                                fix="choose another --port, or stop what listens there") from None
        bound = self.socket.getsockname()[0]
        if bound != LOOPBACK:  # never: but a credential server checks what it bound
            self.server_close()
            raise EndpointError(f"the endpoint bound {bound}, not {LOOPBACK}")

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, role: str | None = None) -> str:
        base = f"http://{LOOPBACK}:{self.port}"
        return base if role is None else base + PREFIX + quote(role, safe="")

    def start(self) -> CredentialServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                        daemon=True, name="credential endpoint")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (requests under way finish) and release the port."""
        self.renewer.close()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(10)
        self.server_close()

    def answer(self, method: str, target: str, headers) -> tuple[int, dict, dict[str, str]]:
        """``(status, JSON body, extra headers)`` for one request."""
        if method != "GET":
            return 405, _error("MethodNotAllowed", "only GET"), {"Allow": "GET"}
        host = headers.get("Host")
        if headers.get("Origin") is not None or (
                host is not None and host not in (f"{LOOPBACK}:{self.port}",
                                                  f"localhost:{self.port}")):
            self.refused += 1
            return 403, _error("Forbidden", "requests from web pages are refused"), {}
        given = headers.get("Authorization")
        if not given:
            self.refused += 1
            return 401, _error("Unauthorized", "no token: set "
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN (rolecall env ROLE "
                               "--server prints it)"), {"WWW-Authenticate": "token"}
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                   self.token.encode()):
            self.refused += 1
            return 403, _error("Forbidden", "wrong token"), {}
        path = urlsplit(target).path
        try:
            name = unquote(path[len(PREFIX):], errors="strict") if path.startswith(PREFIX) \
                else ""
        except UnicodeDecodeError:
            name = ""
        if not name:
            return 404, _error("NotFound", f"ask for {PREFIX}ROLE"), {}
        try:
            session = self.renewer.get(name)
        except RolecallError as exc:
            status, code = _status(exc)
            extra = {"Retry-After": "5"} if status == 503 else {}
            return status, _error(code, str(exc).replace("\n  fix: ", "; fix: ")), extra
        self.served[name] = self.served.get(name, 0) + 1
        return 200, credentials_body(name, session), {}

    def handle_error(self, request, client_address) -> None:
        """A failed connection (the client left) is nobody's business: no traceback."""


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


class _Handler(BaseHTTPRequestHandler):
    server: CredentialServer
    protocol_version = "HTTP/1.1"
    server_version = "rolecall"
    sys_version = ""
    timeout = 15  # an idle or slow client is dropped
    # One write per answer and no Nagle: on a kept-alive connection (botocore keeps one)
    # headers and body in two segments waited out the client's delayed ACK, 40 ms.
    wbufsize = -1
    disable_nagle_algorithm = True

    def _reply(self) -> None:
        status, body, extra = self.server.answer(self.command, self.path, self.headers)
        data = json.dumps(body).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _reply  # noqa: N815

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - no log (see module)
        pass


def reachable(port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False
