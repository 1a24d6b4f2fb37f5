"""An AccessDenied from assume, env or exec names ``rolecall doctor ROLE`` in its fix,
through a loopback STS that denies as real STS does (moto enforces no trust)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers import assert_fails


class DenyingSts:
    """An STS on loopback that denies every AssumeRole, as real STS words it."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                        b"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: "
                        b"arn:aws:iam::000000000000:user/me is not authorized to perform: "
                        b"sts:AssumeRole</Message></Error><RequestId>x</RequestId>"
                        b"</ErrorResponse>")
                self.send_response(403)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def test_access_denied_names_rolecall_doctor(world):
    sts = DenyingSts()
    try:
        world.write_credentials("[base]\naws_access_key_id = AKIAEXAMPLE\n"
                                "aws_secret_access_key = secret\n")
        world.write_config("[profile base]\nregion = us-east-1\n")
        world.catalog.write_text('[roles."prod deploy"]\nsource = "base"\n'
                                 'role_arn = "arn:aws:iam::222222222222:role/Deploy"\n')
        env = {"AWS_ENDPOINT_URL_STS": sts.url}
        for command in (["assume", "prod deploy"], ["env", "prod deploy"],
                        ["exec", "prod deploy", "--", "true"]):
            err = assert_fails(world.run(*command, env=env), 1, "denied")
            assert "fix: both sides must allow it" in err
            assert "`rolecall doctor 'prod deploy'` checks both" in err
    finally:
        sts.stop()
