"""Credential sources the oracle needs that moto does not serve: an EC2 instance metadata
service (IMDSv2: token, role name, credentials) and an ECS container credentials
endpoint, on 127.0.0.1, speaking the wire format botocore's providers read."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IMDS_KEY = "ASIAORACLEIMDS000001"
CONTAINER_KEY = "ASIAORACLECONTAINER1"
PROCESS_KEY = "AKIAORACLEPROCESS001"


def _creds(key: str) -> dict[str, str]:
    expires = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"AccessKeyId": key, "SecretAccessKey": "oracle-secret", "Token": "oracle-token",
            "Expiration": expires}


class CredentialServer:
    """IMDS at ``/latest/...`` and container credentials at ``/creds``; counts requests."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def send(self, body: str, status: int = 200) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:  # noqa: N802
                fake.hits.append(self.path)
                if self.path == "/latest/api/token":
                    self.send("oracle-imds-token")
                else:
                    self.send("", 404)

            def do_GET(self) -> None:  # noqa: N802
                fake.hits.append(self.path)
                role = "/latest/meta-data/iam/security-credentials/"
                if self.path == "/creds":
                    self.send(json.dumps(_creds(CONTAINER_KEY)))
                elif self.path == role:
                    self.send("OracleInstanceRole")
                elif self.path == role + "OracleInstanceRole":
                    self.send(json.dumps({"Code": "Success", **_creds(IMDS_KEY)}))
                else:
                    self.send("", 404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


PROCESS_SCRIPT = ("import json; print(json.dumps({'Version': 1, 'AccessKeyId': "
                  f"'{PROCESS_KEY}', 'SecretAccessKey': 'oracle-process-secret'}}))")
