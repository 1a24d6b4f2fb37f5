"""Marking roles and running a command across them (docs/architecture.md, Run across accounts, the
board's face of
``rolecall run``): ``space`` marks the selected role (the header counts the marks), ``!``
asks for a command and runs it across the marked roles, or the selected one, in the
results screen. A mixin of ``BoardScreen``.

The run shares the board's workspace (one engine: a role the board renews and a target
of the run are assumed once). While it runs the board keeps ticking; escape goes back to
the board and ``!`` comes back to the run until it ends. Leaving the app stops it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.board.render import row_error

if TYPE_CHECKING:
    from profiles.ops.run.executor import Runner
    from profiles.ops.run.targets import Target


class RunMarks:
    """What ``space`` and ``!`` do on the board."""

    runner: Runner | None = None  # the board's current (or last) run

    def action_mark(self) -> None:
        if self.board is None or (name := self.board.selected) is None:
            return
        self.board.toggle_mark(name)
        self.board.action_cursor(1)
        self.update_status()

    def marked_status(self) -> str:
        """`` · 3 marked`` for the header, or nothing."""
        count = len(self.board.marked) if self.board is not None else 0
        return f" · {count} marked" if count else ""

    def run_targets(self) -> list[str]:
        """The marked roles in board order (by account), else the selected one."""
        # lazy: the run's modules when a run is asked for, off the first frame
        from profiles.ops.run.targets import board_key

        assert self.board is not None
        names = set(self.board.marked) or ({self.board.selected} - {None})
        rows = [self.board.rows[n] for n in names if n in self.board.rows]
        return [r.name for r in sorted(rows, key=lambda r: board_key(r, r.account))]

    def action_run(self) -> None:
        # lazy: the run's modules when a run is asked for, off the first frame
        from tui.screens.run import RunModal, RunScreen

        if self.runner is not None and not self.runner.done:
            self.app.push_screen(RunScreen(self.runner))  # the run still going
            return
        if self.ws is None or self.snap is None or self.board is None:
            self.rc.say("still loading the roles", severity="warning")
            return
        names = self.run_targets()
        if not names:
            self.rc.say("no role selected", severity="warning")
            return
        broken = [n for n in names if row_error(self.board.rows[n])]
        if broken:
            self.rc.say(f"cannot run on broken roles: {', '.join(broken)}",
                        title="unmark them or correct their profiles", severity="error")
            return
        self.app.push_screen(RunModal(names, self._check_run), self._start_run)

    def _check_run(self, names: list[str], command: list[str]) -> list[Target]:
        """Every target planned and the command found (raises UsageError)."""
        # lazy: the run's modules when a run is asked for, off the first frame
        from profiles.ops.run.targets import prepare

        assert self.ws is not None
        return prepare(self.ws, names, command)

    def _start_run(self, request: tuple[list[Target], list[str]] | None) -> None:
        # lazy: the run's modules when a run is asked for, off the first frame
        from profiles.ops.run.executor import Runner
        from tui.screens.run import RunScreen

        if request is None or self.ws is None:
            return
        targets, command = request
        self.runner = Runner(self.ws, targets, command, clock=self.rc.run_clock)
        self.app.push_screen(RunScreen(self.runner, start=True))

    def run_ended(self) -> None:
        """The results screen saw the run end: the sessions it made show on the board."""
        if self.runner is not None:
            for note in self.runner.notes:
                self.rc.note_once(note)
        self.reload(select=self.board.selected if self.board else None)

    def on_unmount(self) -> None:
        runner = self.runner
        if runner is not None and not runner.done:
            runner.kill()  # the app is closing: no child outlives it
