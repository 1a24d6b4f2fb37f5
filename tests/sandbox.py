"""Real parts for the tests: a private D-Bus with gnome-keyring, and a moto server.

Both start once per test session. Nothing here touches the user's own HOME, keyring
or ``~/.aws``: the Secret Service runs on a private bus under a throwaway HOME.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TRUST_ANYONE = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
})


@dataclass
class SecretService:
    env: dict[str, str]
    processes: list[subprocess.Popen]

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def missing_binaries() -> list[str]:
    return [b for b in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(b) is None]


def start_secret_service(home: Path) -> SecretService:
    """A private session bus and an unlocked gnome-keyring on it, under ``home``."""
    runtime = home / "run"
    runtime.mkdir(parents=True, mode=0o700, exist_ok=True)
    env = dict(os.environ, HOME=str(home), XDG_RUNTIME_DIR=str(runtime),
               XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )
    address = bus.stdout.readline().strip() if bus.stdout else ""
    if not address:
        bus.kill()
        raise RuntimeError("dbus-daemon did not print an address")
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, text=True,
    )
    assert daemon.stdin is not None
    daemon.stdin.write("throwaway-test-password\n")
    daemon.stdin.close()
    service = SecretService({k: env[k] for k in (
        "HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME",
        "DBUS_SESSION_BUS_ADDRESS")}, [bus, daemon])
    _wait_for_secrets(address, service)
    return service


def _wait_for_secrets(address: str, service: SecretService) -> None:
    """Block until org.freedesktop.secrets owns its name on the bus (bounded readiness)."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus_api = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                          interface="org.freedesktop.DBus")
    deadline = time.monotonic() + 15
    with open_dbus_connection(address) as conn:
        while time.monotonic() < deadline:
            reply = conn.send_and_get_reply(
                new_method_call(bus_api, "NameHasOwner", "s", ("org.freedesktop.secrets",)))
            if reply.body[0]:
                return
            if service.processes[1].poll() is not None:
                break
            time.sleep(0.02)
    service.stop()
    raise RuntimeError("gnome-keyring-daemon did not take org.freedesktop.secrets")


class Moto:
    """A moto server on 127.0.0.1 with helpers to act as an admin in any account."""

    def __init__(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.stop()

    def client(self, service: str, account: str = "123456789012", **kwargs):
        import boto3

        kwargs.setdefault("region_name", "us-east-1")
        client = boto3.client(
            service, endpoint_url=self.url, aws_access_key_id="testing",
            aws_secret_access_key="testing", **kwargs)

        def tag(request, **_):
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign.*.*", tag)
        return client

    def create_role(self, account: str, name: str, trust: str = TRUST_ANYONE,
                    max_session: int = 3600) -> str:
        iam = self.client("iam", account)
        try:
            return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust,
                                   MaxSessionDuration=max_session)["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            return iam.get_role(RoleName=name)["Role"]["Arn"]

    def create_user_keys(self, account: str, user: str) -> tuple[str, str]:
        iam = self.client("iam", account)
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]
