"""A scriptable STS on 127.0.0.1 for behaviour moto lacks: throttling, revoked tokens,
a skewed clock, slow or silent answers, and a count of every call (``requests``). Real
HTTP, real botocore signing and retries."""

from __future__ import annotations

import secrets
import socket
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def sts_error(code: str, message: str) -> bytes:
    """An STS error body, worded as real STS words it."""
    return (f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>fake</RequestId>"
            "</ErrorResponse>").encode()


class StsHandler(BaseHTTPRequestHandler):
    """A quiet request handler with what a loopback STS needs: the request's form, and an
    answer sent whole with its length."""

    def log_message(self, *args) -> None:  # quiet
        pass

    def read_form(self) -> tuple[bytes, dict[str, str]]:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        return body, {k: v[0] for k, v in parse_qs(body.decode()).items()}

    def send(self, status: int, body: str | bytes) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """``handler`` on 127.0.0.1 in a daemon thread: the server and its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class FakeSts:
    """Answers AssumeRole and GetSessionToken; knobs change what it does."""

    def __init__(self) -> None:
        self.clock_offset = 0.0  # seconds its Date header runs ahead of ours
        self.throttle = 0  # answer this many requests with Throttling first
        self.revoked: set[str] = set()  # session tokens answered with ExpiredToken
        self.delay = threading.Event()  # while clear, requests wait (when hold is True)
        self.hold = False
        self.requests: list[dict[str, str]] = []
        self.issued: list[str] = []
        fake = self

        class Handler(StsHandler):
            def do_POST(self) -> None:  # noqa: N802
                _, form = self.read_form()
                token = self.headers.get("X-Amz-Security-Token", "")
                fake.requests.append({**form, "token": token})
                if fake.hold:
                    fake.delay.wait(30)
                if fake.throttle > 0:
                    fake.throttle -= 1
                    return self.error(400, "Throttling", "Rate exceeded")
                if token and token in fake.revoked:
                    return self.error(400, "ExpiredToken",
                                      "The security token included in the request is expired")
                self.reply(fake.answer(form))

            def date_time_string(self, timestamp: float | None = None) -> str:
                when = datetime.now(UTC) + timedelta(seconds=fake.clock_offset)
                return format_datetime(when, usegmt=True)

            def reply(self, xml: str) -> None:
                self.send(200, xml)

            def error(self, status: int, code: str, message: str) -> None:
                self.send(status, sts_error(code, message))

        self.server, self.url = serve(Handler)

    def answer(self, form: dict[str, str]) -> str:
        action = form.get("Action", "")
        if action == "GetCallerIdentity":
            return (f'<GetCallerIdentityResponse xmlns="{NS}"><GetCallerIdentityResult>'
                    "<Arn>arn:aws:sts::111111111111:assumed-role/One/caller</Arn>"
                    "<UserId>AROAFAKE:caller</UserId><Account>111111111111</Account>"
                    "</GetCallerIdentityResult></GetCallerIdentityResponse>")
        duration = int(form.get("DurationSeconds", "3600"))
        expires = (datetime.now(UTC) + timedelta(seconds=self.clock_offset + duration))
        token = "FAKETOKEN" + secrets.token_hex(16)
        self.issued.append(token)
        creds = (f"<Credentials><AccessKeyId>ASIAFAKE{secrets.token_hex(6).upper()}"
                 f"</AccessKeyId><SecretAccessKey>{secrets.token_hex(20)}</SecretAccessKey>"
                 f"<SessionToken>{token}</SessionToken>"
                 f"<Expiration>{expires.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>"
                 "</Credentials>")
        if action == "GetSessionToken":
            return (f'<GetSessionTokenResponse xmlns="{NS}"><GetSessionTokenResult>{creds}'
                    "</GetSessionTokenResult></GetSessionTokenResponse>")
        arn = form["RoleArn"]
        account, role = arn.split(":")[4], arn.rsplit("/", 1)[1]
        assumed = f"arn:aws:sts::{account}:assumed-role/{role}/{form['RoleSessionName']}"
        return (f'<AssumeRoleResponse xmlns="{NS}"><AssumeRoleResult>{creds}'
                f"<AssumedRoleUser><AssumedRoleId>AROAFAKE:{form['RoleSessionName']}"
                f"</AssumedRoleId><Arn>{assumed}</Arn></AssumedRoleUser>"
                "</AssumeRoleResult></AssumeRoleResponse>")

    def count(self, action: str) -> int:
        """How many ``action`` requests arrived (retries included)."""
        return sum(r.get("Action") == action for r in self.requests)

    def stop(self) -> None:
        self.delay.set()
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts TCP connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
                self.held.append(conn)
            except OSError:
                continue

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.sock.close()
