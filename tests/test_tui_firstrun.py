"""A first run: no AWS config and no catalog. The board and ``list`` say what to do (the
demo, an IAM Identity Center login, the page on configuring roles) instead of showing an
empty table; ``list --json`` stays an empty list."""

from __future__ import annotations

import json

import pytest

from tests.test_tui_snapshots import utc  # noqa: F401
from tests.tui_world import Clock, line_texts
from tui.board.app import RolecallApp

WAYS = ("rolecall demo", "rolecall sso login", "docs/roles.md")


@pytest.fixture
def first_run(world, monkeypatch):
    """A HOME with nothing configured, rolecall's files where a first run finds them."""
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "ROLECALL_CONFIG",
                 "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
        world.env.pop(name, None)
    return world


def empty_app() -> RolecallApp:
    return RolecallApp(clock=Clock(), auto_renew=False, ticking=False)


async def test_the_empty_board_says_what_to_do(first_run):
    app = empty_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.board_screen.loaded()
        await pilot.pause()
        shown = "\n".join(line_texts(app))
    assert "No roles yet" in shown
    assert "~/.aws/config" in shown and "~/.config/rolecall/config.toml" in shown
    for way in WAYS:
        assert way in shown


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
def test_empty_board_snapshot(first_run, utc, snap_compare, size):  # noqa: F811
    app = empty_app()

    async def ready(pilot):
        await app.board_screen.loaded()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_list_says_what_to_do_and_json_stays_empty(first_run):
    listed = first_run.run("list")
    assert listed.returncode == 0 and listed.stdout == ""
    lines = listed.stderr.splitlines()
    assert lines[0].startswith("rolecall: no roles yet")
    assert all(line.startswith("  fix: ") for line in lines[1:]), lines
    for way in WAYS:
        assert way in listed.stderr
    as_json = first_run.run("list", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []
    assert as_json.stderr == ""
