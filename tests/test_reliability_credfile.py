"""The credentials file under load, crashes, a read-only directory and a full disk.

Each test drives the real writer (the CLI in subprocesses, or profiles.output.credfile in a
process that is SIGKILLed) and checks the file afterwards: every write present, the
user's own bytes identical, mode 0600, and after a crash either the old or the new
version of the section, never a torn one.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.conftest import World

HAND_WRITTEN = "".join(
    f"# profile {i}: hand-written, keep me\n[user{i}]\naws_access_key_id = AKIDUSER{i:04d}\n"
    f"aws_secret_access_key = user-secret-{i}\nregion = eu-west-{i % 3 + 1}\n\n"
    for i in range(40)
) + "; trailing comment with no newline at the end"


def _role_world(world: World) -> None:
    arn = world.moto.create_role("111111111111", "Writer")
    world.write_config(f"[profile base]\n\n[profile hop]\nrole_arn = {arn}\n"
                       "source_profile = base\n")
    world.base_profile()
    result = world.run("assume", "hop")
    assert result.returncode == 0, result.stderr


def _parse(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(interpolation=None)
    parser.read_string(path.read_text())
    return parser


def _env(world: World) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_PROFILE")}
    env.update(world.env)
    return env


def test_sixty_concurrent_writers_lose_nothing(world):
    _role_world(world)
    user_text = world.credentials.read_text() + HAND_WRITTEN
    world.write_credentials(user_text)
    names = [f"distinct{i}" for i in range(50)] + ["shared"] * 10
    procs = [subprocess.Popen([sys.executable, "-m", "tui", "write", "hop", "--as", name],
                              env=_env(world), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, cwd=world.home)
             for name in names]
    failures = [p.stderr.read() for p in procs if p.wait(timeout=120) != 0]
    assert failures == []
    final = world.credentials.read_text()
    assert final.startswith(user_text.rstrip("\n").rsplit("\n", 1)[0])
    assert HAND_WRITTEN.rsplit("\n", 1)[0] in final  # every user byte, comments included
    parser = _parse(world.credentials)
    for name in set(names):
        assert parser.get(name, "x_managed_by") == "rolecall"
        assert parser.get(name, "aws_session_token")
    assert final.count("[shared]") == 1
    for i in range(40):
        assert parser.get(f"user{i}", "aws_access_key_id") == f"AKIDUSER{i:04d}"
    assert stat.S_IMODE(world.credentials.stat().st_mode) == 0o600


WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from profiles.output import credfile
    from profiles.model import Credentials, Session

    path = Path(sys.argv[1])
    exp = datetime.now(UTC) + timedelta(hours=1)
    versions = [Session("k", "victim", "role", f"arn:aws:sts::1:assumed-role/R/v{v}", exp, exp,
                        credentials=Credentials(f"ASIAVERSION{v}", f"secret-{v}" * 40,
                                                f"token-{v}" * 200, exp)) for v in "AB"]
    n = 0
    while True:
        credfile.write(versions[n % 2], "victim", path=path)
        n += 1
        print(n, flush=True)
""")


def test_sigkilled_writers_never_tear_the_file(offline_world):
    world = offline_world
    trials = int(os.environ.get("ROLECALL_KILL_TRIALS", "200"))
    world.write_credentials(HAND_WRITTEN + "\n")
    rng = random.Random(4242)
    versions_seen = set()
    for _ in range(trials):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(world.credentials)],
                                stdout=subprocess.PIPE, text=True, env=_env(world))
        assert proc.stdout is not None
        for _ in range(rng.randint(0, 3)):  # let it finish a few writes first
            proc.stdout.readline()
        # Fault injection, not synchronisation: a random moment inside the next write.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=rng.uniform(0, 0.01))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        text = world.credentials.read_text()
        parser = _parse(world.credentials)  # always parses
        assert text.startswith(HAND_WRITTEN)
        if parser.has_section("victim"):
            principal = parser.get("victim", "x_principal_arn")
            version = principal[-1]
            assert parser.get("victim", "aws_access_key_id") == f"ASIAVERSION{version}"
            assert parser.get("victim", "aws_secret_access_key") == f"secret-{version}" * 40
            assert parser.get("victim", "aws_session_token") == f"token-{version}" * 200
            versions_seen.add(version)
        assert stat.S_IMODE(world.credentials.stat().st_mode) == 0o600
    assert versions_seen == {"A", "B"}
    # The next write sweeps any temp file (with secrets) a killed writer left behind.
    subprocess.run([sys.executable, "-c", WRITER.replace("while True", "for _ in range(1)"),
                    str(world.credentials)], env=_env(world), check=True,
                   stdout=subprocess.DEVNULL)
    leftovers = [p.name for p in world.credentials.parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


def _mount_tmpfs(where: Path, options: str) -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("these tests mount a tmpfs and need root (CI runs as root)")
        pytest.skip("needs root to mount a tmpfs")
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs: {result.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs: {result.stderr.strip()}")


@pytest.fixture
def tmpfs(tmp_path):
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        where = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
        _mount_tmpfs(where, options)
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_read_only_directory_gives_a_clear_error_and_an_untouched_file(world, tmpfs):
    _role_world(world)
    fs = tmpfs("size=1m,mode=0700")
    creds = fs / "credentials"
    creds.write_text(HAND_WRITTEN)
    subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
    result = world.run("write", "hop", env={"AWS_SHARED_CREDENTIALS_FILE": str(creds)})
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("rolecall: cannot write")
    assert "unchanged" in result.stderr and "Traceback" not in result.stderr
    assert creds.read_text() == HAND_WRITTEN


def test_full_disk_gives_a_clear_error_and_an_untouched_file(world, tmpfs):
    _role_world(world)
    fs = tmpfs("size=12k,mode=0700")
    creds = fs / "credentials"
    creds.write_text(HAND_WRITTEN[:HAND_WRITTEN.index("# profile 30")])
    filler = fs / "filler"
    with filler.open("wb") as handle:  # fill the rest of the tmpfs
        try:
            handle.write(b"x" * 65536)
            handle.flush()
        except OSError:
            pass
    before = creds.read_bytes()
    result = world.run("write", "hop", env={"AWS_SHARED_CREDENTIALS_FILE": str(creds)})
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("rolecall: cannot write")
    assert "Traceback" not in result.stderr
    assert creds.read_bytes() == before
    assert [p.name for p in fs.iterdir() if p.suffix == ".tmp"] == []
