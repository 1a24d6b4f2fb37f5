"""The state-files door, swept: every file rolecall keeps (its config, state, cache and
runtime files, and the AWS files it reads) put in place as a fifo, a socket, a device,
a dangling link and a directory, and every command the parser has run against each.
None blocks: each finishes with one ``rolecall:`` line (exit 1 or 2), or carries on
where the file is only a cache.

The commands are the parser's own (``COMMANDS``): a new one fails
``test_the_sweep_runs_every_command`` until it has a recipe here or an exemption that
says why. They run in this process (a subprocess each would take the sweep from a
minute to a quarter of an hour), each under an alarm: a blocked ``open`` is interrupted
and fails the run, where today's code would hang.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import World
from tests.doors_world import EXEMPT, LIMIT, RECIPES, alarm, commands, run, sweep_world
from tests.helpers import assert_fails, environ

# Where each file lives in a world, and whether it is only a cache (a run carries on).
PATHS: dict[str, tuple[Callable[[World], Path], bool]] = {
    "sessions.json": (lambda w: w.state / "sessions.json", False),
    "inventory.json": (lambda w: w.state / "inventory.json", True),
    "sso-roles.json": (lambda w: w.state / "sso-roles.json", False),
    "keys.json": (lambda w: w.state / "keys.json", False),
    "journal.jsonl": (lambda w: w.state / "journal.jsonl", False),
    "endpoint.json": (lambda w: w.home / "run" / "endpoint.json", False),
    "catalog": (lambda w: w.catalog, False),
    "aws config": (lambda w: w.config, False),
    "credentials": (lambda w: w.credentials, False),
}
KINDS = ("fifo", "socket", "device", "dangling link", "directory")
# The command that reads each file (a failure there names it).
READERS = {"sessions.json": ["sessions"], "sso-roles.json": ["list"],
           "keys.json": ["keys", "list"], "journal.jsonl": ["audit"],
           "endpoint.json": ["serve", "--port", "0"], "catalog": ["list"],
           "aws config": ["list"], "credentials": ["list"]}
AS_BOTOCORE = {"catalog", "aws config", "credentials"}  # a dangling link reads as missing

def test_the_sweep_runs_every_command():
    missing = commands() - set(RECIPES) - set(EXEMPT)
    assert not missing, f"give {sorted(missing)} a recipe in RECIPES (or a reason in EXEMPT)"
    assert not set(RECIPES) - commands(), "a recipe for a command that is gone"


# -- odd files --------------------------------------------------------------------------

def make_odd(path: Path, kind: str, keep: list) -> None:
    """Put a ``kind`` where ``path`` was (what was there is removed)."""
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    else:
        path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
        keep.append(listener)
    elif kind == "device":
        path.symlink_to("/dev/zero")  # reading it would never end
    elif kind == "dangling link":
        path.symlink_to(path.with_name(path.name + ".gone"))
    else:
        path.mkdir()


def check_finished(argv: list[str], code: int, err: str, where: str) -> None:
    """0 (or doctor's 3), or one clean ``rolecall:`` failure: exit 1 or 2, one line
    that is not a note, then only fix lines or notes."""
    context = (argv, where, err)
    assert code in (0, 1, 2, 3), context
    assert "Traceback" not in err and "internal error" not in err, context
    if code in (1, 3) and argv[0] == "doctor" and not err:
        return  # doctor's verdict (denied, unknown): its report is on stdout
    if code in (1, 2):
        lines = err.splitlines()
        failures = [ln for ln in lines if ln.startswith("rolecall: ")
                    and not ln.startswith("rolecall: note: ")]
        assert len(failures) >= 1, context
        others = [ln for ln in lines if not ln.startswith("rolecall: ")]
        assert all(ln.startswith(("  fix: ", "    fix: ", "  ")) for ln in others), context


@pytest.mark.parametrize("name", list(PATHS))
def test_no_command_blocks_on_a_state_file(world, monkeypatch, name):
    """Every command, against ``name`` made each odd kind in turn: it finishes, cleanly."""
    sweep_world(world, monkeypatch)
    code, _, err = run("assume", "r")  # a cached session, so later commands get far
    assert code == 0, err
    where, cache = PATHS[name]
    path = where(world)
    for kind in KINDS:
        keep: list = []
        make_odd(path, kind, keep)
        try:
            sweep(name, kind, path, cache)
        finally:
            for thing in keep:
                thing.close()


def sweep(name: str, kind: str, path: Path, cache: bool) -> None:
    for command in sorted(RECIPES):
        for argv in RECIPES[command]:
            code, _, err = run(*argv)
            check_finished(argv, code, err, f"{name} as a {kind}")
    if cache:  # only a cache: everything works without it
        code, out, err = run("list", "--json")
        assert code == 0 and '"name": "r"' in out, err
    elif kind == "dangling link" and name in AS_BOTOCORE:
        code, out, err = run("list", "--json")  # botocore reads one as missing
        assert code == 0, err
    else:  # a file that matters: the command that reads it names it
        code, _, err = run(*READERS[name])
        assert code in (1, 2) and path.name in err, (name, kind, err)


# -- the board --------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n in PATHS if n not in ("endpoint.json",)])
async def test_the_board_never_blocks_on_a_state_file(world, monkeypatch, name):
    """The board loads with a fifo in ``name``'s place: it says what is wrong (or, for a
    cache, shows the roles), and never hangs."""
    from tests.tui_world import until
    from tui.board.app import RolecallApp

    sweep_world(world, monkeypatch)
    assert run("assume", "r")[0] == 0
    where, cache = PATHS[name]
    make_odd(where(world), "fifo", [])
    app = RolecallApp(auto_renew=False, ticking=False)
    with alarm(LIMIT):
        async with app.run_test(size=(100, 30)) as pilot:
            await app.board_screen.loaded()
            board = app.board_screen
            await until(pilot, lambda: board.load_error is not None or board.snap is not None)
            if cache:
                assert board.load_error is None and "r" in board.board.rows
            elif board.load_error is not None:
                assert where(world).name in board.load_error.message


# -- the regressions: a fifo hung list, keys list and every process ---------------------

def _cli(world: World, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True,
                          text=True, env=environ(world), timeout=LIMIT, cwd=world.home,
                          stdin=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.parametrize(("file", "argv"), [
    ("sso-roles.json", ("list",)),
    ("keys.json", ("keys", "list")),
    ("sessions.json", ("process", "r")),
])
def test_a_fifo_in_a_state_files_place_is_one_clear_line(world, monkeypatch, file, argv):
    """Today's code opened these with a plain open(): a fifo there hung `list`, `keys
    list` and `process` (so every SDK call through credential_process)."""
    sweep_world(world, monkeypatch)
    assert _cli(world, "assume", "r").returncode == 0
    target = world.state / file
    target.unlink(missing_ok=True)
    os.mkfifo(target)
    err = assert_fails(_cli(world, *argv), 2, str(target), "is a fifo")
    assert "fix: remove it" in err
