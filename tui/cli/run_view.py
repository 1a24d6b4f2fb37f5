"""What ``rolecall run`` shows while it runs and after (see docs/architecture.md, Run across
accounts).

``prefix`` writes each line as ``[ROLE] line`` with one write per line under one lock,
so two targets' lines never mix within a line; ``grouped`` writes each target's output
whole when it ends, in target order; ``quiet`` nothing. On a terminal a live table
(target, account, state, elapsed) stands in for the stream until the end, then the
stream is written (each target's kept output, in target order). Then the summary:
a table (Rich on a terminal, aligned text otherwise) and, when a target did not
succeed, a ``rolecall: ...`` report on stderr. Every name is shown literally.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from profiles.doors.terminal import shown
from profiles.ops.run.executor import Events
from profiles.ops.run.results import (
    ASSUME_FAILED,
    ASSUMING,
    FAILED,
    OK,
    RUNNING,
    SKIPPED,
    STOPPING,
    TIMED_OUT,
    TargetResult,
)
from tui.cli import common

MODES = ("prefix", "grouped", "quiet")
STYLES = {OK: "green", FAILED: "red", ASSUME_FAILED: "red", TIMED_OUT: "red",
          SKIPPED: "yellow", RUNNING: "cyan", ASSUMING: "cyan", STOPPING: "yellow"}


class Out:
    """One output stream, written a whole piece at a time under one lock. A reader that
    went away (``| head``) stops the writing, never the run."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.gone = False
        stream.flush()

    def write(self, data: bytes) -> None:
        with self.lock:
            if self.gone:
                return
            try:
                raw = getattr(self.stream, "buffer", None)
                if raw is not None:
                    raw.write(data)
                    raw.flush()
                else:  # a text-only stream (tests calling main in-process)
                    self.stream.write(data.decode("utf-8", "replace"))
                    self.stream.flush()
            except (BrokenPipeError, ValueError):
                self.gone = True


def _seconds(result: TargetResult, now: float) -> str:
    return f"{result.seconds(now):.1f}"


class Stream(Events):
    """``prefix`` or ``grouped`` output of ``results`` to ``out`` (``quiet``: none)."""

    def __init__(self, results: list[TargetResult], out: Out, mode: str) -> None:
        self.results = results
        self.out = out
        self.mode = mode
        self.prefixes = [f"[{shown(r.target.role)}] ".encode() for r in results]
        self._next = 0  # grouped: the first target not yet written
        self._lock = threading.Lock()

    def line(self, index: int, data: bytes) -> None:
        if self.mode == "prefix":
            self.out.write(self.prefixes[index] + (data if data.endswith(b"\n") else data + b"\n"))

    def changed(self, index: int) -> None:
        if self.mode != "grouped":
            return
        with self._lock:
            while self._next < len(self.results) and self.results[self._next].done:
                self.whole(self._next)
                self._next += 1

    def whole(self, index: int) -> None:
        """Target ``index``'s output at once, under a heading with its outcome."""
        result = self.results[index]
        data = result.output.data()
        head = (f"== {shown(result.target.role)} ({shown(result.target.account)}): "
                f"{result.label}, {_seconds(result, time.monotonic())}s ==\n")
        if result.output.dropped:
            head += f"(its first {result.output.dropped} bytes are not kept)\n"
        if data and not data.endswith(b"\n"):
            data += b"\n"
        self.out.write(head.encode() + data)

    def replay(self) -> None:
        """Every target's kept output, in target order (after a live table)."""
        for index, result in enumerate(self.results):
            if self.mode == "grouped":
                self.whole(index)
            elif self.mode == "prefix" and (data := result.output.data()):
                lines = data.splitlines(keepends=True)
                self.out.write(b"".join(self.prefixes[index] + (line if line.endswith(b"\n")
                                        else line + b"\n") for line in lines))


class Live(Events):
    """The live table on a terminal: target, account, state, elapsed."""

    def __init__(self, results: list[TargetResult], stream: TextIO) -> None:
        # lazy: Rich only on a terminal (a pipe or --json never draws a table)
        from rich.console import Console
        from rich.live import Live as RichLive

        self.results = results
        self.console = Console(file=stream)
        self.live = RichLive(get_renderable=self.render, console=self.console,
                             refresh_per_second=4, transient=True)

    def start(self) -> None:
        self.live.start()

    def stop(self) -> None:
        self.live.stop()

    def render(self):
        # lazy: Rich only on a terminal (a pipe or --json never draws a table)
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        done = sum(r.done for r in self.results)
        bad = sum(r.done and not r.ok for r in self.results)
        active = sum(r.state in (ASSUMING, RUNNING, STOPPING) for r in self.results)
        table = Table(title=Text(f"rolecall run: {done}/{len(self.results)} done, {active} "
                                 f"running, {bad} not ok"), title_justify="left")
        for title in ("TARGET", "ACCOUNT", "STATE", "ELAPSED"):
            table.add_column(title, justify="right" if title == "ELAPSED" else "left")
        for result in self._shown():
            state = result.status or result.state
            table.add_row(Text(shown(result.target.role)), Text(shown(result.target.account)),
                          Text(result.label, style=STYLES.get(state, "")),
                          Text(_seconds(result, now) + "s" if result.started else ""))
        return table

    def _shown(self) -> list[TargetResult]:
        """As many rows as the terminal holds: running ones, then failures, then the
        rest, kept in target order."""
        room = max(3, self.console.size.height - 6)
        if len(self.results) <= room:
            return self.results

        def rank(result: TargetResult) -> int:
            if result.state in (ASSUMING, RUNNING, STOPPING):
                return 0
            return 1 if result.done and not result.ok else 2 if result.done else 3

        keep = set(sorted(range(len(self.results)),
                          key=lambda i: (rank(self.results[i]), i))[:room])
        return [r for i, r in enumerate(self.results) if i in keep]


class View(Events):
    """The stream, or the live table, for one run."""

    def __init__(self, results: list[TargetResult], mode: str, json_out: bool) -> None:
        target = sys.stderr if json_out else sys.stdout
        self.results = results
        self.stream = Stream(results, Out(target), mode)
        self.live = Live(results, target) if target.isatty() else None
        if self.live is not None:
            self.live.start()

    def line(self, index: int, data: bytes) -> None:
        if self.live is None:
            self.stream.line(index, data)

    def changed(self, index: int) -> None:
        if self.live is None:
            self.stream.changed(index)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.stream.replay()


def summary(results: list[TargetResult], stream: TextIO) -> None:
    """The summary table: role, account, status, seconds, session name."""
    titles = ("ROLE", "ACCOUNT", "STATUS", "SECONDS", "SESSION NAME")
    rows = [(r.target.role, r.target.account, r.label, f"{r.seconds(0):.1f}",
             r.session_name or "-") for r in results]
    if not stream.isatty():
        stream.write(common.table([titles, *rows], right=(3,)))
        stream.flush()
        return
    # lazy: Rich only on a terminal (a pipe or --json never draws a table)
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(*titles)
    table.columns[3].justify = "right"
    for result, row in zip(results, rows, strict=True):
        cells = [Text(shown(cell)) for cell in row]
        cells[2].stylize(STYLES.get(result.status or "", ""))
        table.add_row(*cells)
    Console(file=stream).print(table)


def last_line(result: TargetResult) -> str:
    """The last line a failed command wrote (often its error), shortened."""
    lines = result.output.text().strip().splitlines()
    line = lines[-1].strip() if lines else ""
    return line if len(line) <= 200 else line[:199] + "…"


def report(results: list[TargetResult], stream: TextIO) -> None:
    """``rolecall: N of M targets did not succeed``, then each one's reason."""
    bad = [r for r in results if not r.ok]
    if not bad:
        return
    counts: dict[str, int] = {}
    for result in bad:
        counts[result.label] = counts.get(result.label, 0) + 1
    lines = [f"rolecall: {len(bad)} of {len(results)} targets did not succeed: "
             + ", ".join(f"{n:d} {shown(label)}" for label, n in counts.items())]
    skipped = [r for r in bad if r.status == SKIPPED]
    for result in bad:
        if result.status == SKIPPED:
            continue
        message, _, fix = (result.error or last_line(result)).partition("\n  fix: ")
        lines.append(f"  {shown(result.target.role)}: {shown(result.label)}"
                     + (f": {shown(message)}" if message else ""))
        if fix:
            lines.append(f"    fix: {shown(fix)}")
    if skipped:
        names = ", ".join(shown(r.target.role) for r in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        lines.append(f"  skipped {names}{more}: {shown(skipped[0].error or 'stopped')}")
    stream.write("\n".join(lines) + "\n")
    stream.flush()
