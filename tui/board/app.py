"""The Textual app: composes the screens and routes what crosses them.

The board (``BoardScreen``) is the default screen and owns its widgets, bindings and
workers; dialogs and full screens are pushed over it. The app holds what every screen
shares: the injected clock, the workspace (made on first use), the engine's MFA prompt
(a worker thread waits on a dialog), notifications shown literally (docs/architecture.md, Trust
boundary: no
user text becomes markup), and notices shown once per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from profiles.doors.terminal import block, shown
from profiles.errors import RolecallError, UsageError
from tui.board.hints import Hints
from tui.board.jobs import PromptCancelled
from tui.board.lifeline import Lifeline, tolerant
from tui.board.screen import BoardScreen

if TYPE_CHECKING:
    from profiles.config.inventory import Inventory
    from profiles.workspace import Workspace

MFA_WAIT = 900  # seconds a worker waits for the operator to answer an MFA dialog


def _role_commands() -> type:
    # The palette is not needed for the first frame: imported when it opens.
    from tui.board.palette import RoleCommands

    return RoleCommands


class RolecallApp(App[int]):
    """The board of roles. ``clock`` and ``workspace`` are injectable for tests, and
    ``run_clock``, what a run's elapsed times are measured on (monotonic)."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "rolecall"
    COMMANDS = App.COMMANDS | {_role_commands}
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("q", "quit", "Quit", id="quit"),
    ]
    board_class: type[BoardScreen] = BoardScreen

    def __init__(self, clock: Callable[[], float] = time.time,
                 workspace: Workspace | None = None, *, auto_renew: bool = True,
                 ticking: bool = True, hints: Hints | None = None,
                 run_clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.clock = clock
        self.run_clock = run_clock
        self.ws = workspace
        self.auto_renew = auto_renew
        self.ticking = ticking
        self.hints = hints or Hints()
        self._pending: list[Future] = []
        self._noted: set[str] = set()
        self._heap_frozen = False
        self.lifeline: Lifeline | None = None  # run_app's: ends the app if its terminal goes
        if workspace is not None:
            workspace.engine.via = "board"  # what the board assumes, the journal says so
            if workspace.engine.mfa_prompt is None:
                workspace.engine.mfa_prompt = self.prompt_mfa

    def get_driver_class(self) -> type:
        """Textual's driver for this terminal; on POSIX one whose writes to a terminal
        that has gone end the board (see :mod:`tui.board.lifeline`)."""
        driver = super().get_driver_class()
        try:
            from textual.drivers.linux_driver import LinuxDriver  # POSIX only
        except ImportError:
            return driver
        return tolerant(driver) if issubclass(driver, LinuxDriver) else driver

    def get_default_screen(self) -> Screen:
        return self.board_class()

    @property
    def board_screen(self) -> BoardScreen:
        """The board (the bottom of the screen stack)."""
        screen = self.screen_stack[0] if self.screen_stack else self.screen
        assert isinstance(screen, BoardScreen)
        return screen

    def workspace(self, inv: Inventory | None = None) -> Workspace:
        """The workspace, made on first use (from ``inv`` if given, else by loading the
        inventory): blocking, so the board calls it from its load worker."""
        if self.ws is None:
            from profiles.workspace import Workspace  # core import kept off the first frame

            self.ws = Workspace(clock=self.clock, mfa_prompt=self.prompt_mfa, inv=inv,
                                via="board")
        return self.ws

    # -- routing --------------------------------------------------------------------------

    def run_on(self, verb: str, name: str) -> None:
        """Run a board action on a named role (the command palette's entry point)."""
        self.board_screen.run_on(verb, name)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, help_rows  # screens load on first use

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(help_rows(self.screen), hints=self.hints))

    def action_quit(self) -> None:
        self.exit(0)

    # -- notifications --------------------------------------------------------------------

    def say(self, message: str, *, title: str = "", severity: str = "information",
            timeout: float | None = None) -> None:
        """A notification shown literally (names may hold ``[`` or ``[/]``), through the
        terminal door: its line breaks kept, any other control spelled out."""
        self.notify(block(message), title=shown(title), severity=severity,  # type: ignore[arg-type]
                    timeout=timeout, markup=False)

    def fail(self, what: str, exc: RolecallError) -> None:
        """A failure as a notification: the core's message and its fix."""
        self.say(str(exc), title=f"{what} failed", severity="error", timeout=15)

    def note_once(self, note: str, *, title: str = "") -> None:
        """A warning shown once per process (the memory-only keyring notice comes with
        every assumption; the operator needs to read it once)."""
        if note not in self._noted:
            self._noted.add(note)
            self.say(note, title=title, severity="warning", timeout=10)

    # -- the engine's MFA prompt ----------------------------------------------------------

    def prompt_mfa(self, serial: str, role: str, hint: str | None = None) -> str:
        """Called in a worker thread: shows the MFA dialog (with ``hint``, else the
        world's) and waits for the operator."""
        if threading.current_thread() is threading.main_thread():
            raise UsageError(f"{role} needs an MFA code for {serial}",
                             fix="assume it from the board")
        from tui.screens.mfa import MfaModal  # screens load on first use

        future: Future = Future()
        self._pending.append(future)
        self.call_from_thread(self.push_screen, MfaModal(serial, role, hint or self.hints.mfa),
                              future.set_result)
        try:
            code = future.result(timeout=MFA_WAIT)
        except FutureTimeout:
            code = None
        finally:
            self._pending.remove(future)
        if code is None:
            raise PromptCancelled(role)
        return code

    # -- life cycle -----------------------------------------------------------------------

    def rows_shown(self) -> None:
        """The first rows are up: everything alive (Textual, the inventory, thousands of
        rows) is moved out of the cyclic collector's reach, whose full passes over that
        heap took 50-170 ms at 5,000 roles and could land on a keystroke. Frozen objects
        are still freed by reference counting; later ones are collected as usual."""
        if not self._heap_frozen:
            self._heap_frozen = True
            self.call_after_refresh(gc.freeze)

    def on_mount(self) -> None:
        if self.lifeline is not None:
            self.lifeline.loop = asyncio.get_running_loop()

    def abandon(self) -> None:
        """The last resort's cleanup, from another thread while the app cannot end by
        itself: what unmounting would do (stop a run's children, the endpoint)."""
        board = self.screen_stack[0] if self.screen_stack else None
        if isinstance(board, BoardScreen):
            with contextlib.suppress(Exception):
                board.on_unmount()

    def on_unmount(self) -> None:
        if self._heap_frozen:
            gc.unfreeze()  # what this app leaves behind is collectable again
        for future in self._pending:
            if not future.done():
                future.set_result(None)


def run_app(clock: Callable[[], float] = time.time, workspace: Workspace | None = None,
            hints: Hints | None = None, cleanups: Iterable[Callable[[], None]] = ()) -> int:
    """Open the board; returns the exit status. A hang-up of its terminal, SIGHUP or
    SIGTERM ends it as ``q`` would (128 + the signal's number); ``cleanups`` run if
    even that cannot end the process (see :mod:`tui.board.lifeline`)."""
    app = RolecallApp(clock=clock, workspace=workspace, hints=hints)
    fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else None
    with Lifeline(lambda code: app.exit(code, return_code=code), fd,
                  [app.abandon, *cleanups]) as lifeline:
        app.lifeline = lifeline
        try:
            status = app.run()
        except Exception:  # noqa: BLE001 - a terminal that went away fails the last writes
            if lifeline.status is None:
                raise
    if lifeline.status is not None:
        return lifeline.status
    return status if isinstance(status, int) else 0
