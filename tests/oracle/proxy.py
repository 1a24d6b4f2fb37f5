"""A recording HTTP proxy in front of moto: the one place both sides of the oracle are
observed, the same way.

Each request's Action and parameters, the access key id that signed it (from the SigV4
``Authorization`` header), the region it was signed for, and the endpoint it was sent to
are logged, then the request is forwarded to moto and moto's answer returned. In-process
clients reach it through :func:`redirect` (a ``before-send`` hook that keeps the URL
botocore chose in ``X-Oracle-Endpoint``); subprocesses (the AWS CLI, the rolecall CLI)
through ``AWS_ENDPOINT_URL``, when the endpoint is the ``Host`` they connected to.
SSO's ``GetRoleCredentials`` (moto has no SSO portal) is answered here.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ENDPOINT_HEADER = "X-Oracle-Endpoint"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_KEY_ID = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>")
_ASSUMED = re.compile(r"<Arn>([^<]+)</Arn>")
SSO_KEY = "ASIAORACLESSO0000001"


@dataclass
class Request:
    """One request as the server saw it, and what it gave back."""

    action: str
    params: dict[str, str]
    key_id: str | None  # the access key id that signed it (None: unsigned)
    signing_region: str | None
    endpoint: str  # scheme://host[:port] the client chose
    status: int = 0
    issued_key: str | None = None  # AccessKeyId of the credentials it returned
    issued_arn: str | None = None


@dataclass
class Proxy:
    upstream: str
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                proxy._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                proxy._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take(self) -> list[Request]:
        """The requests logged since the last take."""
        with self._lock:
            out, self.requests = self.requests, []
        return out

    # -- serving ------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in handler.headers.items()}
        endpoint = headers.pop(ENDPOINT_HEADER, None) or f"http://{headers.get('Host', '')}"
        parts = urlsplit(handler.path)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        found = _CREDENTIAL.search(headers.get("Authorization", ""))
        if parts.path == "/federation/credentials":
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            request = Request("GetRoleCredentials", query, None, None, endpoint)
            status, answer, reply_headers = 200, self._sso_answer(), {
                "Content-Type": "application/json"}
        else:
            request = Request(form.pop("Action", ""), form, found.group(1) if found else None,
                              found.group(2) if found else None, endpoint)
            form.pop("Version", None)
            status, answer, reply_headers = self._forward(handler.command, handler.path,
                                                          headers, body)
        text = answer.decode("utf-8", "replace")
        request.status = status
        if (key := _KEY_ID.search(text)) is not None:
            request.issued_key = key.group(1)
        if (arn := _ASSUMED.search(text)) is not None:
            request.issued_arn = arn.group(1)
        if request.action == "GetRoleCredentials":
            request.issued_key = SSO_KEY
        with self._lock:
            self.requests.append(request)
        handler.send_response(status)
        for name, value in reply_headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)

    def _forward(self, method: str, path: str, headers: dict, body: bytes):
        upstream = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=10)
        headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
        headers["Host"] = "sts.amazonaws.com"  # moto routes by host (unsigned calls too)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = {k: v for k, v in response.getheaders()
                    if k.lower() in ("content-type", "date", "x-amzn-requestid")}
            return response.status, data, kept
        finally:
            connection.close()

    @staticmethod
    def _sso_answer() -> bytes:
        import time

        return json.dumps({"roleCredentials": {
            "accessKeyId": SSO_KEY, "secretAccessKey": "oracle-sso-secret",
            "sessionToken": "oracle-sso-token", "expiration": int(time.time() + 3600) * 1000,
        }}).encode()


def redirect(proxy_url: str):
    """A ``before-send`` handler sending a signed request to the proxy instead of the URL
    botocore chose, which travels in ``X-Oracle-Endpoint``."""
    target = urlsplit(proxy_url)

    def handler(request, **_):
        original = urlsplit(request.url)
        request.headers[ENDPOINT_HEADER] = f"{original.scheme}://{original.netloc}"
        request.url = original._replace(scheme=target.scheme, netloc=target.netloc).geturl()

    return handler
