"""Keyring faults: each is recovered from or explained, never a crash, never a secret
on disk. Daemon absent, keyring locked, a secret deleted behind rolecall's back, index
and keyring out of step both ways, a corrupted index."""

from __future__ import annotations

import json
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import World
from tests.helpers import environ
from tests.keyctl_launch import command as launched
from tests.sandbox import start_secret_service


def _role_world(world: World) -> None:
    arn = world.moto.create_role("111111111111", "Keyed")
    world.write_config(f"[profile base]\n\n[profile hop]\nrole_arn = {arn}\n"
                       "source_profile = base\n")
    world.base_profile()


def _secrets(world: World, env: dict | None = None) -> tuple[str, str]:
    result = world.run("process", "hop", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return data["SecretAccessKey"], data["SessionToken"]


def _on_disk(world: World, needles: tuple[str, ...]) -> list[Path]:
    """Files under HOME (state dir included) that hold any of the needles."""
    hits = []
    for path in world.home.rglob("*"):
        if path.is_file() and path != world.credentials:
            data = path.read_bytes()
            if any(n.encode() in data for n in needles):
                hits.append(path)
    return hits


def _one_line_error(result, code: int) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr.startswith("rolecall: ")
    assert "Traceback" not in result.stderr


def _items(service: str) -> list[str]:
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return [i.get_attributes()["username"]
                for i in collection.search_items({"service": service})]


def _index(world: World) -> dict:
    return json.loads((world.state / "sessions.json").read_text())["sessions"]


def test_no_daemon_and_no_kernel_keyring_keeps_sessions_in_memory_and_says_so(world):
    """A gone D-Bus and the keyring system calls refused (a container): memory only."""
    _role_world(world)
    env = environ(world, DBUS_SESSION_BUS_ADDRESS=f"unix:path={world.home}/no-such-bus")

    def run(*args: str):
        return subprocess.run(launched("blocked", *args), capture_output=True, text=True,
                              env=env, cwd=world.home, timeout=60, stdin=subprocess.DEVNULL)

    result = run("assume", "hop")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("sessions are kept in memory") == 1, result.stderr
    assert "the D-Bus session does not answer" in result.stderr
    data = json.loads(run("process", "hop").stdout)
    assert _on_disk(world, (data["SecretAccessKey"], data["SessionToken"])) == []
    assert run("sessions", "--json").stdout.strip() == "[]"


def test_locked_keyring_is_explained(world, tmp_path):
    _role_world(world)
    private = start_secret_service(tmp_path / "locked-home")
    try:
        env = private.env
        assert world.run("assume", "hop", env=env).returncode == 0
        import secretstorage
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(env["DBUS_SESSION_BUS_ADDRESS"]) as connection:
            collection = secretstorage.get_default_collection(connection)
            collection.lock()
            assert collection.is_locked()
        for command in (["assume", "hop"], ["process", "hop"], ["env", "hop"]):
            result = world.run(*command, env=env)
            _one_line_error(result, 1)
            assert "keyring is locked" in result.stderr
            assert "fix: unlock it" in result.stderr
    finally:
        private.stop()


def test_secret_deleted_behind_our_back_is_replaced(world):
    _role_world(world)
    first = json.loads(world.run("assume", "hop", "--json").stdout)
    (key,) = _index(world)
    import keyring

    keyring.delete_password(world.service, key)
    again = world.run("assume", "hop", "--json")
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["cached"] is False
    assert data["session_name"] and data["expires_at"]
    assert keyring.get_password(world.service, key) is not None
    assert first["assumed_role_arn"].split("/")[1] == data["assumed_role_arn"].split("/")[1]


def test_index_lost_then_orphans_swept_by_forget_all(world):
    _role_world(world)
    assert world.run("assume", "hop").returncode == 0
    (world.state / "sessions.json").unlink()
    assert json.loads(world.run("sessions", "--json").stdout) == []
    again = json.loads(world.run("assume", "hop", "--json").stdout)
    assert again["cached"] is False
    (world.state / "sessions.json").unlink()  # the secret is now an orphan
    assert len(_items(world.service)) == 1
    result = world.run("forget", "--all")
    assert result.returncode == 0, result.stderr
    assert "forgot 1 session" in result.stdout
    assert _items(world.service) == []


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[1, 2]", b'{"sessions": 7}',
                                     b'{"sessions": {"k": {"role": "hop"}}}', b"\xff\xfe\x00"])
def test_corrupted_index_is_recovered(world, garbage):
    _role_world(world)
    assert world.run("assume", "hop").returncode == 0
    (world.state / "sessions.json").write_bytes(garbage)
    for command in (["sessions"], ["sessions", "--json"], ["list"], ["process", "hop"],
                    ["env", "hop"]):
        result = world.run(*command)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr
    assert json.loads((world.state / "sessions.json").read_text())["sessions"]
    secret, token = _secrets(world)
    assert _on_disk(world, (secret, token)) == []
