"""Where a write may land, who it excludes, and what it sweeps (see docs/architecture.md, Trust
boundary).

- Class 5: only a regular file (or a missing one) is written. Links to /dev/null, a fifo,
  a socket, a directory, a loop are refused with exit 2, and nothing blocks (each real
  command runs under a timeout); a link to a regular file is written through and kept.
- Class 6: the lock is ``credentials.lock`` beside the file, so writers with different
  state dirs exclude each other; the temp sweep removes only rolecall's own stale files.
- Class 10: ``clean`` removes a profile only once it has expired by the local clock.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.configloader import raw_config_parse

from profiles.errors import FileWriteError, UsageError
from profiles.model import Credentials, Session
from profiles.output import credfile, target
from tests.helpers import assert_fails, chain_config, environ

USER = "# mine\n[personal]\naws_access_key_id = AKIAPERSONAL\naws_secret_access_key = s\n"


def make(role: str = "r", hours: float = 1) -> Session:
    exp = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)
    return Session("k", role, "role", "arn:aws:sts::1:assumed-role/R/x", exp, exp,
                   credentials=Credentials("ASIATEST", "secret", "token", exp))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLECALL_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def _socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    return sock


# -- class 5: writes to what is not a regular file ---------------------------------------


def test_a_link_to_dev_null_is_refused_and_dev_null_stays_a_device(home):
    link = home / "credentials"
    link.symlink_to("/dev/null")
    with pytest.raises(UsageError, match="character device") as caught:
        credfile.write(make(), "p", path=link)
    assert caught.value.exit_code == 2 and "regular file" in caught.value.message
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    assert credfile.managed(link) == [] and credfile.remove(path=link, expired_before=1e10) == []
    assert not (home / "credentials.lock").exists()


@pytest.mark.parametrize("kind", ["fifo", "socket", "directory", "fifo-direct",
                                  "directory-direct", "loop", "chain-to-fifo"])
def test_non_regular_targets_are_refused_without_blocking(home, kind):
    path = home / "credentials"
    other = home / "other"
    keep = None
    if kind.startswith("fifo"):
        os.mkfifo(other if kind == "fifo" else path)
    elif kind == "socket":
        keep = _socket(other)
    elif kind.startswith("directory"):
        (other if kind == "directory" else path).mkdir()
    elif kind == "loop":
        other.symlink_to(path)
    elif kind == "chain-to-fifo":
        os.mkfifo(home / "fifo")
        other.symlink_to(home / "fifo")
    if not kind.endswith("direct"):
        path.symlink_to(other)
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
        from tests.test_credfile_targets import make
        from profiles.output import credfile
        from profiles.errors import UsageError
        try:
            credfile.write(make(), "p", path=Path({str(path)!r}))
        except UsageError as exc:
            print(exc.exit_code, exc.message)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=20, env={**os.environ, "ROLECALL_STATE_DIR": str(home / "s")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 "), done.stdout
    assert ("symlink loop" if kind == "loop" else "not a regular file") in done.stdout
    assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []
    if keep is not None:
        keep.close()


def test_a_file_swapped_for_a_fifo_after_the_check_is_caught_by_fstat(home):
    fifo = home / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="a fifo"):
        target.read(fifo)  # opened non-blocking, then refused by fstat: never hangs


def test_a_link_to_a_regular_file_is_written_through_and_kept(home):
    real = home / "dotfiles" / "aws-credentials"
    real.parent.mkdir()
    real.write_text(USER)
    link = home / "credentials"
    link.symlink_to(real)
    hop = home / "hop"
    hop.symlink_to(link)  # a chain of links
    credfile.write(make(), "p", path=hop)
    assert hop.is_symlink() and link.is_symlink() and os.readlink(link) == str(real)
    assert stat.S_ISREG(os.lstat(real).st_mode)
    assert real.read_text().startswith(USER) and "[p]" in real.read_text()
    assert (real.parent / "aws-credentials.lock").exists()  # the lock sits by the file


def test_a_dangling_link_is_created_at_its_target_like_the_aws_cli_does(home):
    real = home / "store" / "credentials"
    real.parent.mkdir()
    link = home / "credentials"
    link.symlink_to(real)
    credfile.write(make(), "p", path=link)
    assert link.is_symlink() and "[p]" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    nowhere = home / "nowhere"
    nowhere.symlink_to(home / "missing-dir" / "credentials")
    with pytest.raises(UsageError, match="does not exist"):
        credfile.write(make(), "p", path=nowhere)
    assert not (home / "missing-dir").exists()


def test_cli_write_to_a_dev_null_link_exits_2_and_list_still_works(world):
    chain_config(world)
    creds = world.home / "real-credentials"
    creds.write_text(world.credentials.read_text())
    world.credentials.unlink()
    world.credentials.symlink_to("/dev/null")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(world.credentials)}
    # the base identity's keys come from the real file; profiles would go to /dev/null
    base = {**env, "AWS_SHARED_CREDENTIALS_FILE": str(creds)}
    assert world.run("assume", "hop3", env=base).returncode == 0
    result = world.run("write", "hop3", env=env, timeout=30)
    assert_fails(result, 2, "/dev/null", "not a regular file")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and world.credentials.is_symlink()
    assert world.run("list", env=env).returncode == 0
    cleaned = world.run("clean", env=env)
    assert cleaned.returncode == 0 and "nothing" in cleaned.stdout


# -- class 6: the lock beside the file, and the sweep ------------------------------------


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from tests.test_credfile_targets import make
    from profiles.output import credfile
    path, me = Path(sys.argv[1]), int(sys.argv[2])
    for n in range(5):
        credfile.write(make(role=f"w{me}"), f"w{me}-{n}", path=path)
    credfile.write(make(role=f"w{me}"), "shared", path=path)
    print("ok")
""")


def test_writers_with_different_state_dirs_lose_nothing(home):
    """24 processes, each with its own ROLECALL_STATE_DIR, each writing 5 profiles and
    the one shared profile: all 144 writes land, no temp file is left, the user's bytes
    are kept. (With the lock in the state dir, writes were lost and temp files swept.)"""
    path = home / "credentials"
    path.write_text(USER)
    root = str(Path(__file__).parent.parent)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(i), root],
                              env={**os.environ, "ROLECALL_STATE_DIR": str(home / f"state{i}")},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(24)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [r for r, p in zip(results, procs, strict=True) if p.returncode] == []
    got = raw_config_parse(str(path), parse_subsections=False)
    expected = {f"w{i}-{n}" for i in range(24) for n in range(5)} | {"shared", "personal"}
    assert set(got) == expected
    assert all(got[f"w{i}-{n}"]["x_rolecall_role"] == f"w{i}" for i in range(24) for n in range(5))
    assert path.read_text().startswith(USER)
    assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []
    lock = home / "credentials.lock"
    assert stat.S_ISREG(lock.stat().st_mode) and stat.S_IMODE(lock.stat().st_mode) == 0o600


HOLDER = textwrap.dedent("""
    import sys
    from filelock import FileLock
    lock = FileLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    sys.stdin.readline()
""")


def test_a_writer_waits_for_the_lock_beside_the_file_whatever_its_state_dir(home, monkeypatch):
    path = home / "credentials"
    path.write_text(USER)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(home / "credentials.lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        monkeypatch.setattr(target, "LOCK_TIMEOUT", 0.2)
        monkeypatch.setenv("ROLECALL_STATE_DIR", str(home / "elsewhere"))
        with pytest.raises(FileWriteError, match="credentials.lock") as caught:
            credfile.write(make(), "p", path=path)
        assert "unchanged" in caught.value.message
        assert path.read_text() == USER
    finally:
        holder.communicate("\n", timeout=10)
    credfile.write(make(), "p", path=path)  # released: it goes through
    assert "[p]" in path.read_text()


def test_a_lock_path_that_is_not_a_regular_file_is_refused(home):
    path = home / "credentials"
    path.write_text(USER)
    (home / "credentials.lock").symlink_to(path)  # would truncate the file it points at
    with pytest.raises(UsageError, match="lock file"):
        credfile.write(make(), "p", path=path)
    assert path.read_text() == USER


def test_the_sweep_removes_only_its_own_stale_temp_files(home):
    path = home / "credentials"
    path.write_text(USER)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = os.getpid()
    names = {
        "dead": f".credentials.rolecall-{dead.pid}-0123abcd.tmp",  # its writer is gone
        "old": f".credentials.rolecall-{me}-0123abcd.tmp",  # a live pid, but ancient
        "live": f".credentials.rolecall-{me}-89abcdef.tmp",  # a live writer's, fresh
        "other-target": f".config.rolecall-{dead.pid}-0123abcd.tmp",
        "other-tool": ".credentials.x1y2z3.tmp",  # e.g. an editor's or another writer's
        "swap": ".credentials.swp",
    }
    for name in names.values():
        (home / name).write_text("secret")
    os.utime(home / names["old"], (time.time() - 3600, time.time() - 3600))
    credfile.write(make(), "p", path=path)
    left = {p.name for p in home.iterdir()}
    assert names["dead"] not in left and names["old"] not in left
    for kept in ("live", "other-target", "other-tool", "swap"):
        assert names[kept] in left, kept


# -- class 10: clean by the local clock --------------------------------------------------


def _expiring(world, minutes: float) -> None:
    exp = (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    world.write_credentials(
        USER + f"\n[soon]\naws_access_key_id = A\n"
        f"aws_secret_access_key = s\naws_session_token = t\nx_security_token_expires = {exp}\n"
        "x_managed_by = rolecall\n[nodate]\naws_access_key_id = A\nx_managed_by = rolecall\n")


def test_clean_judges_expiry_by_the_local_clock_not_the_sts_skew(offline_world):
    """The index records STS 2 hours ahead; a profile with 30 minutes left by this
    machine's clock is kept. The same command an hour later (faketime) removes it. A
    managed profile with no expiry is never judged expired."""
    world = offline_world
    world.write_config("[profile base]\n")
    _expiring(world, 30)
    from profiles.sessions.cache import INDEX_VERSION, SessionCache
    from profiles.workspace import Workspace

    world.state.mkdir(mode=0o700)
    (world.state / "sessions.json").write_text(
        f'{{"version": {INDEX_VERSION}, "sessions": {{}}, "clock_skew": 7200}}')
    assert SessionCache(state_dir=world.state).clock_skew == 7200  # what clean sees
    kept = world.run("clean")
    assert kept.returncode == 0 and "nothing" in kept.stdout, kept.stderr

    cache = SessionCache(memory_only=True)
    cache.clock_skew = 7200.0
    assert Workspace(cache=cache).clean() == []  # the façade too: local clock only
    assert Workspace(cache=cache, clock=lambda: time.time() + 3600).clean() == ["soon"]
    _expiring(world, 30)
    later = subprocess.run(["faketime", "-f", "+1h", sys.executable, "-m", "tui", "clean"],
                           env=environ(world), capture_output=True, text=True, timeout=60,
                           cwd=world.home)
    assert later.returncode == 0, later.stderr
    assert "[soon]" in later.stdout and "nodate" not in later.stdout
    sections = raw_config_parse(str(world.credentials))
    assert "soon" not in sections and "nodate" in sections and "personal" in sections
