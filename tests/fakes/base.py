"""The shared base of the HTTP fakes: a loopback server, dispatch, log, throttle, faults.

A service subclass says how a request maps to an operation (``route``), how it is
answered (``serve``) and how its protocol shapes errors (``error_reply``). Everything
else (threads, keep-alive, the call log, throttling, injected faults, the ``Date``
header from the fake's clock) lives here.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from collections import defaultdict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

from tests.fakes.calls import Call, CallLog, Throttle
from tests.fakes.clock import Clock


class ServiceError(Exception):
    """An error answer: the service's code, message, HTTP status and extra body fields."""

    def __init__(self, code: str, message: str = "", status: int = 400, **fields: Any):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            value = json.loads(self.body)
        except ValueError as exc:
            raise ServiceError("SerializationException", "Malformed JSON body") from exc
        if not isinstance(value, dict):
            raise ServiceError("SerializationException", "The body is not a JSON object")
        return value


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body or b"", "application/json"


Route = tuple[str, dict[str, Any], str | None]  # operation, params, credential


class FakeService:
    """One fake AWS service on ``http://127.0.0.1:PORT``; a context manager."""

    name: ClassVar[str] = ""  # botocore's service name
    env_var: ClassVar[str] = ""  # where a client finds this endpoint
    url_path: ClassVar[str] = ""  # appended to the base URL in ``url`` and ``env``

    def __init__(self, clock: Clock | None = None, *, tps: float | None = None,
                 latency: float = 0.0) -> None:
        self.clock: Clock = clock or time.time
        self.calls = CallLog()
        self.throttle = Throttle(self.clock, tps=tps)
        self.latency = latency  # seconds each answer is held back (benchmarks)
        self.crashes: list[str] = []  # tracebacks of bugs in the fake itself
        self._faults: dict[str, deque[ServiceError]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> Self:
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                            name=f"fake-{self.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """The base URL, as botocore's ``endpoint_url`` takes it."""
        if self._server is None:
            raise RuntimeError(f"fake {self.name} is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.endpoint + self.url_path

    @property
    def env(self) -> dict[str, str]:
        """The environment a client needs to reach this fake."""
        return {self.env_var: self.url}

    # knobs
    def fail_next(self, operation: str, error: ServiceError, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``operation`` with ``error``."""
        with self._lock:
            self._faults[operation].extend([error] * times)

    # what a subclass provides
    def route(self, request: Request) -> Route:
        raise NotImplementedError

    def serve(self, operation: str, params: dict[str, Any], credential: str | None,
              request: Request) -> Reply:
        raise NotImplementedError

    def error_reply(self, error: ServiceError) -> Reply:
        raise NotImplementedError

    def throttled(self) -> ServiceError:
        return ServiceError("ThrottlingException", "Rate exceeded", 400)

    def throttle_key(self, operation: str, credential: str | None,
                     request: Request) -> Hashable:
        return None

    def internal_error(self) -> ServiceError:
        return ServiceError("InternalFailure", "We encountered an internal error.", 500)

    # dispatch
    def _take_fault(self, operation: str) -> ServiceError | None:
        with self._lock:
            queue = self._faults.get(operation)
            return queue.popleft() if queue else None

    def dispatch(self, request: Request) -> Reply:
        now = self.clock()
        operation, params, credential = "?", {}, None
        error: str | None = None
        try:
            operation, params, credential = self.route(request)
            if fault := self._take_fault(operation):
                raise fault
            if not self.throttle.admit(self.throttle_key(operation, credential, request)):
                raise self.throttled()
            reply = self.serve(operation, params, credential, request)
        except ServiceError as exc:
            error, reply = exc.code, self.error_reply(exc)
        except Exception:  # a bug in the fake: answer 500, keep it for the test to see
            self.crashes.append(traceback.format_exc())
            exc = self.internal_error()
            error, reply = exc.code, self.error_reply(exc)
        self.calls.add(Call(self.name, operation, params, credential, now, reply.status, error))
        return reply


def _handler_for(service: FakeService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects
        disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stalls

        def log_message(self, *args: object) -> None:  # quiet: a URL may hold a token
            pass

        def date_time_string(self, timestamp: float | None = None) -> str:
            return formatdate(service.clock(), usegmt=True)

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= 10 * 2**20:  # never block reading to EOF on keep-alive
                self.send_error(400, "Bad Content-Length")
                return
            body = self.rfile.read(length) if length else b""
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            reply = service.dispatch(Request(self.command, parts.path, query, self.headers, body))
            if service.latency:
                time.sleep(service.latency)
            data, content_type = reply.encode()
            self.send_response(reply.status)
            headers = {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4()),
                       **reply.headers, "Content-Length": str(len(data))}
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer  # noqa: N815

    return Handler
