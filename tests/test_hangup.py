"""Terminals that go away: an SSH drop or a closed window while the board's subshell
runs, with rolecall started from a shell line (so not the session leader: no SIGHUP
reaches it from the terminal), ends rolecall within seconds with the cleanup ``q``
does (the demo's sandbox removed); SIGTERM always ends it, subshell or not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ISOLATED
from tests.tui_world import Tmux

pytestmark = pytest.mark.skipif(os.name != "posix", reason="a POSIX terminal")
GONE_WITHIN = 15.0


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for a reaper has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def poll(condition, timeout: float, what) -> None:
    """Wait for ``condition``, checking every 0.2 s; fail with ``what`` (text, or a
    function giving it) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what() if callable(what) else what} after {timeout} s")
        time.sleep(0.2)


def rolecall_pid(term: Tmux) -> int:
    """The pid of ``python -m tui`` under the pane's shell (its child, not the leader)."""
    leader = int(subprocess.run([*term.tmux, "display", "-p", "-t", term.name,
                                 "#{pane_pid}"], capture_output=True, text=True).stdout)
    found = subprocess.run(["pgrep", "-P", str(leader), "-f", "tui demo"],
                           capture_output=True, text=True).stdout.split()
    assert len(found) == 1, found
    pid = int(found[0])
    assert os.getsid(pid) == leader != pid  # in the terminal's session, not leading it
    return pid


@pytest.fixture
def demo_env(tmp_path, secret_service, monkeypatch) -> tuple[dict, Path]:
    home = tmp_path / "home"
    home.mkdir()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED}
    env.update(HOME=str(home), TMPDIR=str(tmpdir), SHELL="/bin/bash")
    return env, tmpdir


def open_subshell(term: Tmux) -> None:
    """On the demo's board: assume ``ci`` (no MFA), then ``s`` for its subshell."""
    term.wait("rolecall demo · 13 roles", timeout=60)
    term.keys("/")
    term.wait("filter: name")
    term.keys("-l", "ci")
    term.keys("Enter")
    term.wait("Assume ci")
    term.keys("Enter")
    term.wait("1 live", timeout=30)
    term.keys("s")
    term.wait("every rolecall command works here")
    term.keys("-l", "echo subshell-$((6*7))")
    term.keys("Enter")
    term.wait("subshell-42")


@pytest.mark.skipif(not subprocess.run(["which", "tmux"], capture_output=True).stdout,
                    reason="needs tmux")
@pytest.mark.parametrize(("how", "subshell"), [("kill-server", True), ("kill-session", True),
                                               ("kill-server", False)])
def test_hanging_up_the_terminal_ends_rolecall_and_its_sandbox(demo_env, how, subshell):
    """A closed window or an SSH drop (tmux closes the terminal), with the board's
    subshell holding the terminal or the board itself."""
    env, tmpdir = demo_env
    term = Tmux(f"hangup-{how}-{int(subshell)}",
                f"{sys.executable} -m tui demo; echo after-demo; sleep 60",
                (100, 30), env, env["HOME"])
    try:
        if subshell:
            open_subshell(term)
        else:
            term.wait("rolecall demo · 13 roles", timeout=60)
        pid = rolecall_pid(term)
        assert [p.name[:14] for p in tmpdir.iterdir()] == ["rolecall-demo-"]
        subprocess.run([*term.tmux, how, *(["-t", term.name] if how == "kill-session" else [])],
                       check=True)
        poll(lambda: not alive(pid), GONE_WITHIN, "rolecall still runs")
        poll(lambda: not list(tmpdir.iterdir()), 5,
             lambda: f"the demo's sandbox is still there: {sorted(tmpdir.rglob('*'))}")
    finally:
        term.close()


@pytest.mark.skipif(not subprocess.run(["which", "tmux"], capture_output=True).stdout,
                    reason="needs tmux")
@pytest.mark.parametrize("in_subshell", [False, True])
def test_sigterm_always_ends_the_board_with_its_cleanup(demo_env, tmp_path, in_subshell):
    env, tmpdir = demo_env
    status = tmp_path / "status"
    term = Tmux(f"sigterm-{int(in_subshell)}",
                f"{sys.executable} -m tui demo; echo $? > {status}; sleep 60",
                (100, 30), env, env["HOME"])
    try:
        if in_subshell:
            open_subshell(term)
        else:
            term.wait("rolecall demo · 13 roles", timeout=60)
        pid = rolecall_pid(term)
        os.kill(pid, signal.SIGTERM)
        poll(lambda: not alive(pid), GONE_WITHIN, "rolecall still runs")
        poll(status.exists, 5, "the shell line did not go on")
        assert status.read_text().strip() == str(128 + signal.SIGTERM)
        assert list(tmpdir.iterdir()) == []
    finally:
        term.close()


LAST_RESORT = """
import os, sys, threading, time
from tui.board import lifeline
lifeline.GRACE = 0.5
cleaned = sys.argv[1]
line = lifeline.Lifeline(lambda status: None, None, [lambda: open(cleaned, "w").write("x")])
line.__enter__()
line.end("test", 129)  # the app never ends: the last resort must
time.sleep(60)
"""


def test_the_last_resort_cleans_up_and_exits_when_the_app_cannot(tmp_path):
    cleaned = tmp_path / "cleaned"
    proc = subprocess.run([sys.executable, "-c", LAST_RESORT, str(cleaned)], timeout=30,
                          capture_output=True, text=True)
    assert proc.returncode == 129, proc.stderr
    assert cleaned.read_text() == "x"


def test_sigterm_reaches_the_subshell_through_the_lifeline(tmp_path):
    """The lifeline hangs up the subshell it runs when rolecall is told to end."""
    script = ("import os, signal, sys, threading\n"
              "from tui.board.lifeline import Lifeline\n"
              "ended = []\n"
              "with Lifeline(ended.append, None) as line:\n"
              "    threading.Timer(1, os.kill, (os.getpid(), signal.SIGTERM)).start()\n"
              "    status = line.run_child(['sleep', '60'], {})\n"
              "print(status, line.status)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.split() == [str(-signal.SIGHUP), str(128 + signal.SIGTERM)], out.stderr
