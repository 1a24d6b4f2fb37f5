"""The session cache: secrets in the real Secret Service, a non-secret index on disk,
and memory only (said once) when no secure backend exists."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta

import secretstorage

from profiles.model import Credentials, Session
from profiles.sessions.cache import SessionCache
from tests.helpers import chain_config, environ
from tests.keyctl_launch import BLOCKED_PRELUDE, command

NO_BUS = "unix:path=/nonexistent/rolecall-test-bus"


def session(key: str, role: str = "r", kind: str = "role") -> Session:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    creds = Credentials(f"ASIA{key.upper()}", f"secret-{key}", f"token-{key}", expires)
    return Session(key=key, role=role, kind=kind, arn=f"arn:aws:sts::1:assumed-role/R/{key}",
                   expires_at=expires, issued_at=expires - timedelta(hours=1),
                   credentials=creds)


def stored_keys(service: str) -> list[str]:
    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return sorted(item.get_attributes()["username"]
                      for item in collection.search_items({"service": service}))


def test_secrets_in_keyring_index_without_secrets(world):
    cache = SessionCache()
    cache.put(session("k1"), stamp="s", refresh_window=120)
    assert cache.backend_name == "keyring.backends.SecretService.Keyring"
    assert stored_keys(world.service) == ["k1"]
    raw = cache.index_path.read_bytes()
    assert b"secret-k1" not in raw and b"token-k1" not in raw
    entry = json.loads(raw)["sessions"]["k1"]
    assert entry["role"] == "r" and entry["refresh_window"] == 120 and entry["stamp"] == "s"
    assert stat.S_IMODE(cache.index_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(world.state.stat().st_mode) == 0o700
    got = SessionCache().get("k1")  # another instance: as another process would
    assert got is not None and got.credentials.session_token == "token-k1"


def test_new_session_for_a_role_drops_the_superseded_one(world):
    cache = SessionCache()
    cache.put(session("old", role="deploy"))
    cache.put(session("mfa1", role="mfa:x", kind="mfa"))
    cache.put(session("new", role="deploy"))
    assert sorted(s.key for s in cache.sessions()) == ["mfa1", "new"]
    assert stored_keys(world.service) == ["mfa1", "new"]
    assert cache.get("old") is None
    assert cache.forget(["new", "mfa1"]) == 2
    assert stored_keys(world.service) == [] and cache.sessions() == []


def test_memory_only_cache_keeps_nothing_outside_the_process(world):
    cache = SessionCache(memory_only=True)
    cache.put(session("m1"))
    assert cache.get("m1").credentials.secret_access_key == "secret-m1"
    assert [s.key for s in cache.sessions()] == ["m1"]
    assert cache.backend_name == "memory"
    assert not cache.index_path.exists()
    assert stored_keys(world.service) == []
    assert SessionCache().get("m1") is None


SELECT = ("from profiles.sessions.keyring_store import select_backend; b, w = select_backend(); "
          "print(type(b).__module__ + '.' + type(b).__name__ if b else None); print(w)")


def select(world, tmp_path, blocked: bool = False, **env: str) -> list[str]:
    """What select_backend finds with no D-Bus session (and, ``blocked``, the keyring
    system calls refused, as in a container)."""
    base = environ(world, DBUS_SESSION_BUS_ADDRESS=NO_BUS, XDG_CONFIG_HOME=str(tmp_path / "cfg"),
                   **env)
    code = (BLOCKED_PRELUDE if blocked else "") + SELECT
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=base, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_select_backend_refuses_an_insecure_fallback(world, tmp_path):
    """No Secret Service, no kernel keyring: memory, never keyring's plaintext or fail
    backends; with the kernel keyring, that."""
    backend, warning, fix = select(world, tmp_path, blocked=True)
    assert backend == "None"
    assert "sessions are kept in memory" in warning and "D-Bus session" in warning
    assert fix.startswith("  fix: ") and "keyctl" in fix and "DBUS_SESSION_BUS_ADDRESS" in fix
    backend, warning, _fix = select(world, tmp_path)
    assert backend == "profiles.sessions.kernel_keyring.KernelKeyring"
    assert "kernel keyring" in warning


def test_select_backend_honours_explicit_configuration(world, tmp_path):
    backend, warning = select(world, tmp_path,
                              PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    assert (backend, warning) == ("keyring.backends.null.Keyring", "None")
    rc = tmp_path / "cfg" / "python_keyring" / "keyringrc.cfg"
    rc.parent.mkdir(parents=True)
    rc.write_text("[backend]\ndefault-keyring=keyring.backends.fail.Keyring\n")
    backend, warning = select(world, tmp_path)
    assert (backend, warning) == ("keyring.backends.fail.Keyring", "None")


def test_cli_without_secure_backend_warns_once_and_writes_nothing(world, tmp_path):
    chain_config(world)
    env = environ(world, DBUS_SESSION_BUS_ADDRESS=NO_BUS, XDG_CONFIG_HOME=str(tmp_path / "cfg"))

    def run(*args: str):
        return subprocess.run(command("blocked", *args), capture_output=True, text=True,
                              env=env, cwd=world.home, timeout=60, stdin=subprocess.DEVNULL)

    out = run("assume", "hop3", "--json")
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("sessions are kept in memory") == 1, out.stderr
    assert len(out.stderr.splitlines()) == 2 and "  fix: allow the add_key" in out.stderr
    assert not (world.state / "sessions.json").exists()
    assert stored_keys(world.service) == []
    again = json.loads(run("assume", "hop3", "--json").stdout)
    assert again["cached"] is False  # nothing survived the first process
