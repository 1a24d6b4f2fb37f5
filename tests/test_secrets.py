"""Secrets: after every command, a session's secret key and token are found only in the
keyring and in credentials-file profiles the user asked for. Files rolecall creates are
0600 and its directories 0700."""

from __future__ import annotations

import json
import stat

from profiles.ops import journal
from tests.conftest import World


def _chain(world: World) -> None:
    one = world.moto.create_role("111111111111", "SecretOne")
    two = world.moto.create_role("222222222222", "SecretTwo")
    world.write_config(
        f"[profile base]\n\n[profile one]\nrole_arn = {one}\nsource_profile = base\n\n"
        f"[profile two]\nrole_arn = {two}\nsource_profile = one\n")
    world.base_profile()


def _secrets_of(world: World, role: str) -> list[str]:
    data = json.loads(world.run("process", role).stdout)
    return [data["SecretAccessKey"], data["SessionToken"]]


def _holders(root, needles: list[str], skip=()) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and path not in skip:
            data = path.read_bytes()
            if any(n.encode() in data for n in needles):
                found.append(str(path))
    return found


def test_secrets_only_in_keyring_and_asked_for_profiles(world, tmp_path):
    _chain(world)
    outputs = []
    for args in (["assume", "two"], ["assume", "two", "--json"], ["list"], ["list", "--json"],
                 ["sessions"], ["sessions", "--json"], ["assume", "two", "--debug"],
                 ["assume", "nope", "--debug"], ["forget", "nope", "--debug"],
                 ["assume", "two", "--duration", "9h", "--debug"]):
        result = world.run(*args)
        outputs.append(result.stdout + result.stderr)
    needles = _secrets_of(world, "two") + _secrets_of(world, "one")
    for args in (["audit"], ["audit", "--json"]):  # the journal, as people and scripts see it
        result = world.run(*args)
        outputs.append(result.stdout + result.stderr)
    assert not any(n in out for out in outputs for n in needles)
    journaled = journal.path(world.state)
    assert journaled.is_relative_to(world.home) and len(journal.entries(world.state)) >= 2
    assert _holders(world.home, needles) == []  # HOME, ~/.aws, state dir (journal), catalog

    # argv of every process while `exec` runs: the command itself reads /proc
    argv_dump = tmp_path / "argv.txt"
    script = ("for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done "
              f"> {argv_dump}")
    result = world.run("exec", "two", "--", "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    assert "rolecall" in argv_dump.read_text() or "sh -c" in argv_dump.read_text()
    assert not any(n in argv_dump.read_text() for n in needles)
    argv_dump.unlink()

    # asked for: a written profile holds the secret, and only that file
    assert world.run("write", "two", "--as", "asked").returncode == 0
    assert _holders(world.home, needles) == [str(world.credentials)]
    assert _holders(world.home, needles, skip=(world.credentials,)) == []


def test_modes_of_everything_rolecall_creates(world):
    _chain(world)
    assert world.run("assume", "two").returncode == 0
    (world.home / "fresh").mkdir()
    fresh = world.home / "fresh" / "sub" / "credentials"
    assert world.run("write", "two", env={"AWS_SHARED_CREDENTIALS_FILE": str(fresh)}
                     ).returncode == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert stat.S_IMODE(fresh.parent.stat().st_mode) == 0o700
    for path in [world.state, *world.state.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))



async def test_no_secret_in_a_screenshot_of_the_board(world):
    """The board and detail pane of a live session, exported as an SVG screenshot."""
    from profiles.workspace import Workspace
    from tui.board.app import RolecallApp

    _chain(world)
    assert world.run("assume", "two").returncode == 0
    needles = _secrets_of(world, "two") + _secrets_of(world, "one")
    access_key = json.loads(world.run("process", "two").stdout)["AccessKeyId"]
    app = RolecallApp(workspace=Workspace(), ticking=False, auto_renew=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        for key in ("down", "down", "down"):
            await pilot.press(key)
        await pilot.pause()
        svg = app.export_screenshot()
    assert "assumed-role" in svg  # the detail pane shows a live session
    assert not any(n in svg for n in needles)
    assert access_key not in svg
