"""The board's ``!`` (see docs/architecture.md, Run across accounts): the command dialog, the
results screen (each target's
live state, exit status and elapsed time) and a target's output.

The run is ``profiles.ops.run``'s ``Runner``, in its own threads; these screens read
its results four times a second, so a chatty child never floods the event loop. Every
name and every line of output is shown literally (control characters spelled out).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, DataTable, Input, Log, Static

from profiles.doors.terminal import lines, shown
from profiles.errors import UsageError
from profiles.ops.run.executor import Runner
from profiles.ops.run.results import OK, TargetResult
from profiles.ops.run.targets import Target
from tui.screens.dialog import Dialog, literal, markup
from tui.screens.page import Page

POLL = 0.25  # seconds between looks at the run
SHOWN_NAMES = 4  # target names the dialog lists before "and N more"
STYLES = {OK: "green", "failed": "red", "assume failed": "red", "timed out": "red",
          "skipped": "yellow", "running": "cyan", "assuming": "cyan", "stopping": "yellow"}


class RunModal(Dialog):
    """The command to run in each target (split like a shell line, run without one)."""

    OK = "Run"

    def __init__(self, names: list[str],
                 check: Callable[[list[str], list[str]], list[Target]]) -> None:
        count = f"{len(names)} roles" if len(names) > 1 else "1 role"
        super().__init__(markup("Run a command in [b]$count[/b]", count=count))
        self.names, self.check = names, check

    def fields(self) -> ComposeResult:
        listed = ", ".join(self.names[:SHOWN_NAMES])
        if len(self.names) > SHOWN_NAMES:
            listed += f" and {len(self.names) - SHOWN_NAMES} more"
        yield Static(literal(listed, "dim"))
        yield Static(literal("Command (each in its own process, with its role's credentials)"),
                     classes="label")
        yield Input(placeholder="terraform plan", id="command")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        text = self.query_one("#command", Input).value
        try:
            command = shlex.split(text)
        except ValueError as exc:
            self.error(f"cannot read the command: {exc}")
            return
        try:
            targets = self.check(self.names, command)
        except UsageError as exc:
            self.error(str(exc))
            return
        self.dismiss((targets, command))


class RunScreen(Page):
    """Each target: account, live state, exit status, elapsed time; enter shows output."""

    BINDINGS = [Binding("enter", "output", "Output", id="run.output"),
                Binding("t", "stop", "Stop", id="run.stop",
                        tooltip="stop the run: nothing new starts, running commands get "
                        "SIGTERM (SIGKILL after 10 s)")]
    COLUMNS = ("TARGET", "ACCOUNT", "STATE", "EXIT", "ELAPSED")

    def __init__(self, runner: Runner, start: bool = False) -> None:
        command = shlex.join(runner.command)
        super().__init__(markup("run · $command", command=command))
        self.runner = runner
        self.start = start
        self.shown: dict[tuple[int, int], str] = {}
        self.reported = runner.done

    def body(self) -> ComposeResult:
        yield Static("", id="run-status")
        yield DataTable(id="run-table", cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for title in self.COLUMNS:
            table.add_column(title, key=title)
        for index, result in enumerate(self.runner.results):
            table.add_row(*self.cells(result), key=str(index))
        table.focus()
        if self.start:
            self._start()
        self.poll()
        self.set_interval(POLL, self.poll)

    @work(thread=True, group="run")
    def _start(self) -> None:
        self.runner.start()  # the keyring connection it holds is opened here, off the loop

    def cells(self, result: TargetResult) -> list[Text]:
        """The row's cells, literal; Rich ``Text``, which the DataTable measures (it
        takes a ``Content`` cell for one cell wide and cuts it to the column's title)."""
        now = self.runner.clock()
        state = result.status or result.state
        exit_code = "" if result.exit_code is None else str(result.exit_code)
        elapsed = f"{result.seconds(now):.1f}s" if result.started else ""
        return [Text(shown(result.target.role)), Text(shown(result.target.account)),
                Text(state, STYLES.get(state, "")), Text(exit_code), Text(elapsed)]

    def poll(self) -> None:
        """Show what changed; when the run has ended, say how it went (once)."""
        table = self.query_one(DataTable)
        for index, result in enumerate(self.runner.results):
            for column, cell in enumerate(self.cells(result)):
                if self.shown.get((index, column)) != cell.plain:
                    self.shown[(index, column)] = cell.plain
                    table.update_cell(str(index), self.COLUMNS[column], cell,
                                      update_width=True)
        results = self.runner.results
        done = sum(r.done for r in results)
        bad = sum(r.done and not r.ok for r in results)
        text = f"{done} of {len(results)} done · {bad} not ok"
        if self.runner.stop_reason:
            text += f" · stopped: {self.runner.stop_reason}"
        self.query_one("#run-status", Static).update(literal(text))
        if self.runner.done and not self.reported:
            self.reported = True
            self.rc.say(f"run finished: {len(results) - bad} ok, {bad} not ok",
                        severity="information" if not bad else "warning", timeout=5)
            self.rc.board_screen.run_ended()

    def selected(self) -> TargetResult | None:
        table = self.query_one(DataTable)
        if not self.runner.results:
            return None
        return self.runner.results[min(table.cursor_row, len(self.runner.results) - 1)]

    def action_output(self) -> None:
        result = self.selected()
        if result is not None:
            self.app.push_screen(OutputPage(self.runner, result))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_output()

    def action_stop(self) -> None:
        if not self.runner.done:
            self.runner.stop("stopped from the board")
            self.rc.say("stopping the run", timeout=3)


class OutputPage(Page):
    """One target's combined stdout and stderr (the last 1 MiB), following as it comes."""

    def __init__(self, runner: Runner, result: TargetResult) -> None:
        super().__init__(markup("run · $role · output",
                                             role=result.target.role))
        self.runner, self.result = runner, result
        self.read_to = 0
        self.pending = ""

    def body(self) -> ComposeResult:
        yield Static("", id="output-status")
        yield Log(id="output", highlight=False)

    def on_mount(self) -> None:
        self.query_one(Log).focus()
        self.poll()
        self.set_interval(POLL, self.poll)

    def poll(self) -> None:
        tail = self.result.output
        total = tail.total
        if total > self.read_to:
            if self.read_to == 0 and tail.dropped:
                self.query_one(Log).write_line(f"(the first {tail.dropped} bytes are not kept)")
            text = self.pending + tail.since(self.read_to).decode("utf-8", "replace")
            self.read_to = total
            whole, newline, self.pending = text.rpartition("\n")
            if newline:
                # a child's output: through the terminal door, an escape spelled out
                self.query_one(Log).write_lines(lines(whole))
        if self.result.done and self.pending:
            self.query_one(Log).write_lines(lines(self.pending))
            self.pending = ""
        label = self.result.status or self.result.state
        if self.result.status and self.result.exit_code is not None:
            label = self.result.label
        self.query_one("#output-status", Static).update(
            literal(f"{self.result.target.account} · {label}"))
