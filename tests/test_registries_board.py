"""Registries on the board: their roles listed with where they came from (small, in the
detail pane), the day's sync in a worker that never holds the board up, and a failed
sync said once."""

from __future__ import annotations

import pytest

from profiles.config import snapshot
from profiles.registries import copies, edit, spec, sync
from profiles.workspace import Workspace
from tests.git_remote import Remote, role
from tests.tui_world import T0, Clock, notes, settle, until
from tui.board.app import RolecallApp

SIZE = (160, 40)
DAY = 86400


@pytest.fixture
def team(offline_world, tmp_path):
    """A user with one base profile and registry ``team`` synced at T0."""
    offline_world.write_config("[profile base]\nregion = us-east-1\n")
    remote = Remote(tmp_path / "remotes")
    remote.commit({"catalog.toml": role("team-deploy", "111111111111")})
    registry = spec.make("team", remote.url)
    assert sync.sync(registry, clock=lambda: T0).ok
    edit.add(offline_world.catalog, registry)
    return remote


def board(clock: Clock) -> RolecallApp:
    return RolecallApp(clock=clock, workspace=Workspace(clock=clock), auto_renew=False,
                       ticking=False)


def warnings(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in notes(app) if n.severity == "warning"]


async def test_registry_roles_show_where_they_came_from(team):
    app = board(Clock(T0 + 3600))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        assert screen.board.rows["team-deploy"].registry == "team"
        assert screen.board.select("team-deploy")
        await settle(app, pilot)
        assert "registry team" in screen.detail.plain
        assert warnings(app) == []


async def test_the_days_sync_runs_in_a_worker_and_the_board_reloads(team):
    team.commit({"catalog.toml": role("team-deploy", "111111111111") + role("team-new")})
    clock = Clock(T0 + DAY + 60)  # a day on: due
    app = board(clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        assert "team-new" not in screen.board.rows  # the copy at hand first
        await until(pilot, lambda: "team-new" in screen.board.rows)
        await settle(app, pilot)
    assert copies.statuses()["team"]["attempted_at"] == clock()
    assert "team-new" in snapshot.load().roles


async def test_a_failed_sync_is_said_once(team, tmp_path):
    team.bare.rename(tmp_path / "moved.git")  # the remote is gone
    clock = Clock(T0 + DAY + 60)
    app = board(clock)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        await until(pilot, lambda: warnings(app))
        await settle(app, pilot)
        said = warnings(app)
        assert len(said) == 1 and said[0].startswith(
            "registry team: sync failed, its last good copy is used: ")
        assert "team-deploy" in app.board_screen.board.rows  # the last good copy
    again = board(Clock(T0 + DAY + 120))  # not due again, and already said
    async with again.run_test(size=SIZE) as pilot:
        await again.board_screen.loaded()
        await settle(again, pilot)
        assert warnings(again) == []
