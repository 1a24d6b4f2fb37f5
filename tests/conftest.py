"""Fixtures: a real Secret Service, a moto server, and an isolated world per test."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.sandbox import Moto, missing_binaries, start_secret_service

ROOT = Path(__file__).resolve().parent.parent
ISOLATED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN", "AWS_REGION", "ROLECALL_ROLE", "PYTHON_KEYRING_BACKEND")


def pytest_configure(config) -> None:
    """pytest-xdist's workers inherit COLUMNS=80 and LINES=24, which every terminal the
    tests start (tmux, a pty) would take over its real size: drop them."""
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
    config.addinivalue_line("markers", "secret_service: about the Secret Service itself "
                            "(its items' attributes, the fast path's D-Bus reads): not run "
                            "against the generic stand-in keyring")


def pytest_collection_modifyitems(config, items) -> None:
    if generic_keyring():
        skip = pytest.mark.skip(reason="Secret Service only; this run stands in a generic keyring")
        for item in items:
            if "secret_service" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory):
    """gnome-keyring on a private D-Bus; a missing daemon fails under CI, else skips."""
    if missing := missing_binaries():
        message = f"needs {', '.join(missing)} (apt-get install gnome-keyring dbus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    service = start_secret_service(tmp_path_factory.mktemp("keyring-home"))
    saved = {k: os.environ.get(k) for k in service.env}
    os.environ.update(service.env)
    yield service
    service.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto():
    server = Moto()
    yield server
    server.stop()


class World:
    """One operator's machine: HOME, AWS files, catalog, state dir, keyring namespace."""

    def __init__(self, home: Path, moto: Moto) -> None:
        self.home = home
        self.moto = moto
        self.aws = home / ".aws"
        self.aws.mkdir(mode=0o700)
        self.config = self.aws / "config"
        self.credentials = self.aws / "credentials"
        self.catalog = home / "rolecall.toml"
        self.state = home / "state"
        self.service = f"rolecall-test-{uuid.uuid4().hex[:8]}"
        self.env = {
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(self.config),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials),
            "ROLECALL_CONFIG": str(self.catalog),
            "ROLECALL_STATE_DIR": str(self.state),
            "ROLECALL_KEYRING_SERVICE": self.service,
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def write_config(self, text: str) -> None:
        self.config.write_text(text)

    def write_credentials(self, text: str) -> None:
        self.credentials.write_text(text)
        self.credentials.chmod(0o600)

    def base_profile(self, name: str = "base", account: str = "000000000000") -> None:
        """A base profile with real IAM user keys in ``account``."""
        key, secret = self.moto.create_user_keys(account, f"user-{uuid.uuid4().hex[:6]}")
        existing = self.credentials.read_text() if self.credentials.exists() else ""
        self.write_credentials(existing + f"[{name}]\naws_access_key_id = {key}\n"
                               f"aws_secret_access_key = {secret}\n")

    def run(self, *args: str, input: str | None = None, env: dict | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        """The real ``rolecall`` command in a subprocess, with this world's environment."""
        full = {k: v for k, v in os.environ.items() if k not in ISOLATED}
        full.update(self.env)
        full.update(env or {})
        return subprocess.run([sys.executable, "-m", "tui", *args], input=input,
                              capture_output=True, text=True, env=full, timeout=timeout,
                              cwd=self.home, stdin=None if input is not None
                              else subprocess.DEVNULL)


def generic_keyring() -> bool:
    """Whether this run stands in a keyring with only get/set/delete by service and name
    (the macOS Keychain's and Windows Credential Locker's API) for the Secret Service:
    ``ROLECALL_TEST_KEYRING=generic``, as ``.ci/run``'s second pass sets it."""
    return os.environ.get("ROLECALL_TEST_KEYRING") == "generic"


@pytest.fixture
def world(tmp_path, moto, secret_service, monkeypatch) -> World:
    home = tmp_path / "home"
    home.mkdir()
    w = World(home, moto)
    if generic_keyring():
        from tests.generic_keyring import FILE, NAME

        w.env.update({"PYTHON_KEYRING_BACKEND": NAME, FILE: str(tmp_path / "keychain.json"),
                      "PYTHONPATH": os.pathsep.join(filter(None, (
                          str(ROOT), os.environ.get("PYTHONPATH"))))})
    for key in ISOLATED:
        monkeypatch.delenv(key, raising=False)
    for key, value in w.env.items():
        monkeypatch.setenv(key, value)
    return w


@pytest.fixture
def offline_world(tmp_path, monkeypatch) -> World:
    """A world with no moto and no keyring: for config and input errors only."""

    class _NoMoto:
        url = "http://127.0.0.1:9"

    home = tmp_path / "home"
    home.mkdir()
    w = World(home, _NoMoto())  # type: ignore[arg-type]
    for key in ISOLATED:
        monkeypatch.delenv(key, raising=False)
    for key, value in w.env.items():
        monkeypatch.setenv(key, value)
    return w
