"""Snapshots of the main views (pytest-textual-snapshot), with a fixed clock, fixed
session expiries and UTC, so every run draws the same screen.

Regenerate after an intended change: ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import time

import pytest

from tests.tui_world import Clock, chained_by_hand, seeded, until
from tui.board.app import RolecallApp
from tui.screens.assume import AssumeModal

SIZE = (150, 36)


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
        chained_by_hand(ws)
    return RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)


def test_board(world, utc, snap_compare):
    clock = Clock()
    app = app_for(world, clock)

    async def ready(pilot):
        await app.board_screen.loaded()
        app.board_screen.board.select("prod-deploy")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_detail_with_chain(world, utc, snap_compare):
    clock = Clock()
    app = app_for(world, clock, adhoc=True)

    async def ready(pilot):
        await app.board_screen.loaded()
        app.board_screen.board.select("audit>BreakGlass")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_assume_modal_with_mfa(world, utc, snap_compare):
    clock = Clock()
    app = app_for(world, clock)

    async def ready(pilot):
        await app.board_screen.loaded()
        app.board_screen.board.select("prod-admin")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        await pilot.press(*"12")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_filter(world, utc, snap_compare):
    clock = Clock()
    app = app_for(world, clock)

    async def ready(pilot):
        await app.board_screen.loaded()
        await pilot.press("slash", *"prod")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_help(world, utc, snap_compare):
    clock = Clock()
    app = app_for(world, clock)

    async def ready(pilot):
        await app.board_screen.loaded()
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
