"""The board's face of ``rolecall run`` through Textual's pilot: ``space`` marks roles
(the header counts them), ``!`` asks for a command and runs it across the marked roles
in the results screen (live state, exit status, elapsed; enter opens a target's output)
while the board keeps ticking. Real moto, Secret Service and child processes."""

from __future__ import annotations

import os
import shlex
import sys
import time

from textual.widgets import Input, Log

from profiles.workspace import Workspace
from tests.tui_world import organisation, row_text, settle, texts, until
from tui.board.app import RolecallApp
from tui.board.screen import BoardScreen
from tui.screens.run import OutputPage, RunModal, RunScreen

# Prints its role and account; dev-deploy fails; audit waits for the test's gate.
CHILD = """
import os, sys
role = os.environ["ROLECALL_ROLE"]
print(role, os.environ["ROLECALL_ACCOUNT_ID"], "key" if os.environ.get("AWS_SESSION_TOKEN")
      else "nokey", "\\x1b[31m[b]x[/b]", flush=True)
if role == "dev-deploy":
    sys.exit(3)
if role == "audit":
    open(sys.argv[1]).read()
    print("released")
"""


async def blocking_run(app, pilot):
    """``!`` with a command that says ``up``, then blocks until signalled; its runner."""
    await pilot.press("exclamation_mark")
    await until(pilot, lambda: isinstance(app.screen, RunModal))
    app.screen.query_one("#command", Input).value = shlex.join(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(3600)"])
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, RunScreen))
    return app.screen.runner


def header(app) -> str:
    return str(app.board_screen.query_one("#top").render())


async def test_space_marks_rows_and_the_header_counts_them(world):
    organisation(world)
    app = RolecallApp(workspace=Workspace(via="board"), auto_renew=False, ticking=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.board_screen.loaded()
        board = app.board_screen.board
        assert board.selected == "audit" and "marked" not in header(app)
        await pilot.press("space", "space")  # audit, then dev-deploy: the cursor moves on
        assert board.marked == {"audit", "dev-deploy"} and board.selected == "member-ro"
        assert "2 marked" in header(app)
        assert row_text(app, "audit").startswith("● ")
        assert row_text(app, "dev-deploy").startswith("● ")
        assert not row_text(app, "member-ro").startswith("●")
        marked_style = board._style("board--marked")
        strip = board.render_line(board._line_of["audit"] + 1)
        assert next(iter(strip)).style.color == (app.board_screen.board.rich_style
                                                 + marked_style).color
        await pilot.press("up", "space")  # unmarks dev-deploy
        assert board.marked == {"audit"} and "1 marked" in header(app)
        assert not row_text(app, "dev-deploy").startswith("●")
        await pilot.press("up", "up", "space")
        assert "marked" not in header(app)


async def test_bang_runs_a_command_across_the_marked_roles(world, tmp_path, monkeypatch):
    organisation(world)
    ticks = []
    original = BoardScreen.tick
    monkeypatch.setattr(BoardScreen, "tick", lambda self: (ticks.append(1), original(self)))
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    app = RolecallApp(workspace=Workspace(via="board"), auto_renew=False, ticking=True)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.board_screen
        await screen.loaded()
        await pilot.press("space", "space")  # audit, dev-deploy
        await pilot.press("exclamation_mark")
        await until(pilot, lambda: isinstance(app.screen, RunModal))
        modal = app.screen
        modal.query_one("#command", Input).value = "no-such-command-xyz"
        await pilot.press("enter")
        assert isinstance(app.screen, RunModal)
        assert "'no-such-command-xyz' not found on PATH" in texts(modal)
        command = shlex.join([sys.executable, "-c", CHILD, str(gate)])
        modal.query_one("#command", Input).value = command
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        runner = run.runner
        assert [r.target.role for r in runner.results] == ["audit", "dev-deploy"]
        await until(pilot, lambda: run.shown.get((1, 2)) == "failed"
                    and run.shown.get((0, 2)) == "running")
        assert run.shown[(1, 3)] == "3" and run.shown[(0, 3)] == ""
        assert "1 of 2 done · 1 not ok" in str(run.query_one("#run-status").render())
        before = len(ticks)
        await until(pilot, lambda: len(ticks) > before, timeout=5)  # the board ticks on
        # enter opens the running target's output, which follows as it comes
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OutputPage))
        page = app.screen
        log = page.query_one(Log)
        await until(pilot, lambda: log.line_count >= 1)
        assert log.lines[0] == r"audit 333333333333 key \x1b[31m[b]x[/b]"  # literally
        with open(gate, "w") as handle:
            handle.write("go")
        await until(pilot, lambda: runner.done)
        await until(pilot, lambda: "released" in log.lines)
        assert "333333333333 (audit) · ok" in str(page.query_one("#output-status").render())
        await pilot.press("escape")
        assert app.screen is run
        await until(pilot, lambda: run.shown.get((0, 2)) == "ok")
        assert run.shown[(0, 3)] == "0" and run.shown[(0, 4)].endswith("s")
        assert "2 of 2 done · 1 not ok" in str(run.query_one("#run-status").render())
        assert any("run finished: 1 ok, 1 not ok" in n.message for n in app._notifications)
        await pilot.press("escape")
        assert app.screen is screen
        await settle(app, pilot)
        assert "active" in row_text(app, "audit")  # the run's sessions are on the board
        assert "active" in row_text(app, "dev-deploy")


async def test_bang_on_an_unmarked_board_runs_in_the_selected_role_and_stops(world):
    organisation(world)
    app = RolecallApp(workspace=Workspace(via="board"), auto_renew=False, ticking=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.board_screen.loaded()
        await pilot.press("down")  # dev-deploy
        runner = await blocking_run(app, pilot)
        assert [r.target.role for r in runner.results] == ["dev-deploy"]
        await until(pilot, lambda: runner.results[0].output.total > 0)
        await pilot.press("escape")  # back to the board; the run goes on
        assert not runner.done
        await pilot.press("exclamation_mark")  # comes back to it
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        assert app.screen.runner is runner
        started = time.monotonic()
        await pilot.press("t")
        await until(pilot, lambda: runner.done)
        assert time.monotonic() - started < 5
        assert (runner.results[0].status, runner.results[0].exit_code) == ("failed", 143)
        status = app.screen.query_one("#run-status")
        await until(pilot, lambda: "1 of 1 done · 1 not ok · stopped: stopped from the board"
                    in str(status.render()))


async def test_quitting_the_board_stops_a_run_that_is_still_going(world):
    from tests.run_world import alive

    organisation(world)
    app = RolecallApp(workspace=Workspace(via="board"), auto_renew=False, ticking=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.board_screen.loaded()
        runner = await blocking_run(app, pilot)
        await until(pilot, lambda: runner.results[0].output.total > 0)
        pid = runner.results[0].pid
        await pilot.press("escape", "q")
    assert runner.wait(10)
    assert (runner.results[0].status, runner.results[0].exit_code) in (
        ("failed", 143), ("failed", 137))  # SIGTERM first, SIGKILL at once after
    assert not alive(pid)


async def test_names_and_commands_are_shown_literally_in_the_run_screens(world):
    from textual.widgets import DataTable

    from profiles.ops.run.executor import Runner
    from profiles.ops.run.targets import Target

    organisation(world)
    app = RolecallApp(workspace=Workspace(via="board"), auto_renew=False, ticking=False)
    names = ["team[dev]", "aaa[/]", "[bold]x"]
    targets = [Target(name, "111111111111", "[operator]") for name in names]
    runner = Runner(None, targets, ["echo", "[b]hi[/b]", "$name"])  # never started
    async with app.run_test(size=(80, 24)) as pilot:
        await app.board_screen.loaded()
        await app.push_screen(RunModal(names, lambda n, c: targets))
        await pilot.pause()
        assert "team[dev], aaa[/], [bold]x" in texts(app.screen)
        app.screen.dismiss(None)
        await pilot.pause()
        await app.push_screen(RunScreen(runner))
        await pilot.pause()
        assert str(app.screen.query_one("#page-title").render()) == \
            "run · echo '[b]hi[/b]' '$name'"
        table = app.screen.query_one(DataTable)
        assert [str(table.get_cell_at((i, 0))) for i in range(3)] == names
        assert str(table.get_cell_at((0, 1))) == "111111111111 ([operator])"
        # each column as wide as its widest cell (a Content cell measured one cell wide)
        assert table.columns["ACCOUNT"].content_width == len("111111111111 ([operator])")
        assert table.columns["TARGET"].content_width == len("team[dev]")
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, OutputPage))
        assert str(app.screen.query_one("#page-title").render()) == "run · aaa[/] · output"
