"""No desktop keyring (SSH, containers, CI runners): sessions live in the login session's
kernel keyring, shared by every process of the login and by no other, with no secret in
any file; one notice, once, says where and why, with the fix for the case at hand; where
the keyring system calls are blocked (a container's seccomp profile), memory only, said
plainly."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from pathlib import Path

import pytest

from profiles.sessions import fastpath, kernel_keyring
from tests.conftest import World
from tests.helpers import environ

LAUNCH = str(Path(__file__).with_name("keyctl_launch.py"))
BARE_BUS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:tmpdir={dir}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*"/><allow own="*"/>
<allow receive_sender="*"/><allow send_type="method_call"/></policy></busconfig>
"""

pytestmark = pytest.mark.skipif(kernel_keyring.probe() is not None,
                                reason=f"no kernel keyring here: {kernel_keyring.probe()}")


@pytest.fixture
def login(monkeypatch, tmp_path):
    """This test (and every process it starts) in a login session of its own: a new
    session keyring, no D-Bus session."""
    kernel_keyring._keyctl(1, ctypes.c_void_p(None))  # KEYCTL_JOIN_SESSION_KEYRING
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


def _role_world(world: World) -> None:
    arn = world.moto.create_role("111111111111", "Kernel")
    world.write_config(f"[profile base]\n\n[profile hop]\nrole_arn = {arn}\n"
                       "source_profile = base\n")
    world.base_profile()


def launched(world: World, mode: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, LAUNCH, mode, *args], capture_output=True,
                          text=True, env=environ(world), cwd=world.home, timeout=60,
                          stdin=subprocess.DEVNULL)


def files_holding(root: Path, needles: tuple[str, ...]) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()
            and any(n.encode() in p.read_bytes() for n in needles)]


def test_sessions_are_shared_by_the_login_with_no_dbus_and_no_secret_in_any_file(
        world, login, tmp_path):
    _role_world(world)
    first = world.run("assume", "hop", "--json")
    assert first.returncode == 0, first.stderr
    assert "kernel keyring" in first.stderr and "no D-Bus session" in first.stderr
    assert first.stderr.count("rolecall: ") == 1, first.stderr

    listed = json.loads(world.run("sessions", "--json").stdout)
    assert [s["role"] for s in listed] == ["hop"]
    creds = world.run("process", "hop")
    assert creds.returncode == 0, creds.stderr
    secret = json.loads(creds.stdout)
    again = world.run("assume", "hop", "--json")
    assert json.loads(again.stdout)["cached"] is True
    assert again.stderr == ""  # the notice was given once, not by every command
    hit = fastpath.lookup("hop")  # the fast path, in this process of the same login
    assert hit is not None and hit[1]["SessionToken"] == secret["SessionToken"]

    needles = (secret["SecretAccessKey"], secret["SessionToken"])
    assert files_holding(tmp_path, needles) == []
    index = json.loads((world.state / "sessions.json").read_text())["sessions"]
    assert {e["backend"] for e in index.values()} == {fastpath.KERNEL}

    other = launched(world, "new-login", "sessions", "--json")  # another login: not shared
    assert json.loads(other.stdout) == [], other.stderr

    assert world.run("forget", "--all").returncode == 0
    assert kernel_keyring.find(world.service, next(iter(index))) is None


def test_a_cache_hit_from_the_kernel_keyring_imports_no_keyring_nor_boto(world, login):
    _role_world(world)
    assert world.run("assume", "hop").returncode == 0
    probe = ("import json, sys\nfrom tui.cli import main\nrc = main(['process', 'hop'])\n"
             "print(json.dumps([m for m in sys.modules if m.split('.')[0] in "
             "('keyring', 'boto3', 'botocore', 'secretstorage', 'jeepney')]), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=environ(world), cwd=world.home, timeout=60)
    assert json.loads(out.stderr.strip().splitlines()[-1]) == [], out.stderr
    assert json.loads(out.stdout)["AccessKeyId"].startswith("ASIA")


def test_blocked_keyctl_means_memory_only_said_plainly(world, login):
    _role_world(world)
    result = launched(world, "blocked", "assume", "hop")
    assert result.returncode == 0, result.stderr
    assert "kept in memory, by each rolecall command for its own run only" in result.stderr
    assert "blocked" in result.stderr and "seccomp" in result.stderr
    assert "fix: allow the add_key and keyctl system calls" in result.stderr
    assert json.loads(launched(world, "blocked", "sessions", "--json").stdout) == []
    said = launched(world, "blocked", "sessions")
    assert "keeps its sessions in memory for its own run only" in said.stdout
    assert said.stderr == ""  # the notice itself was given once, by the first command


def test_the_fix_fits_the_case(world, login, tmp_path):
    """No D-Bus session with gnome-keyring installed: start one; without it: install it;
    a D-Bus session with no Secret Service on it: start the daemon."""
    _role_world(world)
    with_daemon = world.run("assume", "hop").stderr
    assert "gnome-keyring is installed but needs a D-Bus session" in with_daemon
    assert "dbus-run-session" in with_daemon

    (world.state / "notices.json").unlink()
    without = world.run("forget", "--all")
    assert without.returncode == 0
    no_gnome = {"PATH": str(Path(sys.executable).parent)}  # this venv's bin only
    result = world.run("assume", "hop", "--refresh", env=no_gnome)
    assert result.returncode == 0, result.stderr
    assert "apt install gnome-keyring dbus-user-session" in result.stderr

    config = tmp_path / "bus.conf"  # a session bus that can start no service: none installed
    config.write_text(BARE_BUS.format(dir=tmp_path))
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork",
                            "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = bus.stdout.readline().strip()
        (world.state / "notices.json").unlink()
        result = world.run("assume", "hop", "--refresh",
                           env={"DBUS_SESSION_BUS_ADDRESS": address})
        assert result.returncode == 0, result.stderr
        assert "no Secret Service runs on the D-Bus session" in result.stderr
        assert "gnome-keyring-daemon --start" in result.stderr
    finally:
        bus.kill()
        bus.wait()
