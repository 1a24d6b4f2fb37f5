"""Snapshots of the main views (pytest-textual-snapshot) at 140x40 and 80x24, with a
fixed clock, fixed session expiries and UTC, so every run draws the same screen.

Regenerate after an intended change: ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import time

import pytest

from tests.tui_world import Clock, chained_by_hand, seeded, until
from tui.board.app import RolecallApp
from tui.screens.assume import AssumeModal

LARGE, SMALL = (140, 40), (80, 24)
LONG = "audit>member-readonly-breakglass"


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def app_for(world, clock: Clock, adhoc: bool = False) -> RolecallApp:
    ws = seeded(world, clock)
    if adhoc:
        chained_by_hand(ws, "audit", LONG, "MemberReadOnlyBreakGlass")
    return RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)


def selected(name: str, *keys: str):
    async def ready(pilot):
        app = pilot.app
        await app.board_screen.loaded()
        app.board_screen.board.select(name)
        await pilot.press(*keys) if keys else None
        await pilot.pause()

    return ready


@pytest.mark.parametrize("size", [LARGE, SMALL], ids=["140x40", "80x24"])
def test_board(world, utc, snap_compare, size):
    app = app_for(world, Clock(), adhoc=True)
    assert snap_compare(app, terminal_size=size, run_before=selected("prod-deploy"))


@pytest.mark.parametrize("size", [LARGE, SMALL], ids=["140x40", "80x24"])
def test_detail_with_chain(world, utc, snap_compare, size):
    app = app_for(world, Clock(), adhoc=True)
    keys = ("p",) if size == SMALL else ()  # the pane is shown by hand under 100 columns
    assert snap_compare(app, terminal_size=size, run_before=selected(LONG, *keys))


@pytest.mark.parametrize("size", [LARGE, SMALL], ids=["140x40", "80x24"])
def test_assume_modal_with_mfa(world, utc, snap_compare, size):
    app = app_for(world, Clock())

    async def ready(pilot):
        await app.board_screen.loaded()
        app.board_screen.board.select("prod-admin")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        await pilot.press(*"12")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_filter(world, utc, snap_compare):
    app = app_for(world, Clock())

    async def ready(pilot):
        await app.board_screen.loaded()
        await pilot.press("slash", *"prod")
        await pilot.pause()

    assert snap_compare(app, terminal_size=LARGE, run_before=ready)


@pytest.mark.parametrize("size", [LARGE, SMALL], ids=["140x40", "80x24"])
def test_help(world, utc, snap_compare, size):
    app = app_for(world, Clock())

    async def ready(pilot):
        await app.board_screen.loaded()
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=ready)
