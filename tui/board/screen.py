"""The board screen: the roles, the detail pane, the key bar, their bindings and workers.

The first load when the inventory snapshot is current (local files, no parsing, no
keyring) happens in ``on_mount``, so the first frame already shows the roles; otherwise
(a first run, a changed config) a worker parses while the board shows "loading roles…".
Every role action (``RoleActions``) runs its STS, keyring and file work in thread
workers. Time comes from the app's injected clock, so countdowns are deterministic.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static

from profiles.doors.terminal import shown
from profiles.errors import RolecallError
from tui.board import bindings
from tui.board.actions import RoleActions
from tui.board.audit import AuditKey
from tui.board.console import ConsoleAction
from tui.board.detail import Detail, shown_role
from tui.board.doctoring import DoctorKey
from tui.board.endpoint import EndpointKeys
from tui.board.filter import FilterKeys
from tui.board.keybar import KeyBar
from tui.board.marks import RunMarks
from tui.board.table import Board

if TYPE_CHECKING:
    from profiles.config.inventory import Inventory
    from profiles.workspace import RoleRow, Workspace
    from tui.board import snapshot
    from tui.board.app import RolecallApp

AUTO_LEAD = 60  # renew this long before a session enters the refresh window
RETRY_AFTER = 60  # after a failed or declined renewal, wait this long
PANE_MIN_WIDTH = 100  # narrower terminals start with the detail pane hidden


class BoardScreen(DoctorKey, RoleActions, RunMarks, ConsoleAction, FilterKeys,
                  EndpointKeys, AuditKey, Screen):
    """Every role, its session and countdown; the selected one in the detail pane."""

    BINDINGS = bindings.BINDINGS
    HINT_PRIORITY = bindings.HINT_PRIORITY

    def __init__(self) -> None:
        super().__init__()
        self.snap: snapshot.Snapshot | None = None
        self.board: Board | None = None
        self.detail: Detail | None = None
        self.load_error: RolecallError | None = None
        self.pane: bool | None = None  # None: by the terminal's width
        self._live: set[str] = set()
        self._retry_at: dict[str, float] = {}
        self._auto_running = False
        self._loaded = threading.Event()
        self.asked: dict[str, int] = {}
        self.denied: set[str] = set()
        self.chain_options: dict[str, str | None] = {}
        self.refused: dict[str, str] = {}

    @property
    def rc(self) -> RolecallApp:
        return self.app  # type: ignore[return-value]

    @property
    def ws(self) -> Workspace | None:
        return self.rc.ws

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text("rolecall · loading roles…"), id="top")
        with Horizontal(id="main"):
            yield Board(id="board")
            yield Detail(id="detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.board = self.query_one(Board)
        self.detail = self.query_one(Detail)
        self.detail.styles_map = self._state_styles()
        self._apply_pane()
        self.board.focus()
        if not self._load_now():
            self.reload()
        if self.rc.ticking:
            self.set_interval(1.0, self.tick)
        if self.rc.hints.welcome:
            self.rc.say(self.rc.hints.welcome, title=self.rc.hints.banner, timeout=12)

    def on_unmount(self) -> None:
        self.stop_endpoint_now()

    def _state_styles(self) -> dict[str, str]:
        colours = self.app.theme_variables
        return {"active": colours.get("success", "green"),
                "expiring": f"bold {colours.get('warning', 'yellow')}",
                "expired": "dim", "none": "dim"}

    def _apply_pane(self) -> None:
        if self.detail is None:
            return
        show = self.pane if self.pane is not None else self.app.size.width >= PANE_MIN_WIDTH
        if self.detail.display != show:
            self.detail.display = show
            if show:
                self.show_detail()

    def on_resize(self) -> None:
        self._apply_pane()

    def action_pane(self) -> None:
        assert self.detail is not None
        self.pane = not self.detail.display
        self._apply_pane()

    # -- time and data --------------------------------------------------------------------

    def now(self) -> float:
        """The injected clock, corrected by the clock skew STS last reported."""
        return self.rc.clock() + (self.snap.skew if self.snap else 0.0)

    @property
    def window(self) -> int:
        return self.ws.refresh_window if self.ws else 300

    def role_names(self) -> list[str]:
        return sorted(r.name for r in self.snap.rows) if self.snap else []

    def row(self, name: str | None) -> RoleRow | None:
        if name is None or self.board is None:
            return None
        return self.board.rows.get(name)

    def _snapshot(self, inv: Inventory | None = None) -> snapshot.Snapshot:
        """Every role and session now (the workspace is made on first use)."""
        from tui.board import snapshot  # the core's readers, kept off the first frame

        return snapshot.load(self.rc.workspace(inv))

    @work(thread=True, exclusive=True, group="load")
    def reload(self, select: str | None = None) -> None:
        """Read the inventory (first time) and every session; show them."""
        try:
            snap = self._snapshot()
        except RolecallError as exc:
            self.app.call_from_thread(self._load_failed, exc)
            return
        self.app.call_from_thread(self.apply_snapshot, snap, select)

    def _load_now(self) -> bool:
        """The first load, inline, if the inventory comes from a current snapshot (or
        was injected); False leaves it to the worker (parsing the config takes long)."""
        inv = None
        if self.ws is None:
            from profiles.config import snapshot as config_snapshot  # see _snapshot

            inv = config_snapshot.read()  # None unless the snapshot matches the files
            if inv is None:
                return False
        try:
            snap = self._snapshot(inv)
        except RolecallError as exc:
            self._load_failed(exc)
            return True
        self.apply_snapshot(snap)
        return True

    async def loaded(self, timeout: float = 30) -> None:
        """Wait until the first snapshot (or load failure) has been applied."""
        deadline = time.monotonic() + timeout
        while not self._loaded.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError("roles did not load")
            await asyncio.sleep(0.01)

    def _load_failed(self, exc: RolecallError) -> None:
        self.load_error = exc
        self.query_one("#top", Static).update(
            Text(f"rolecall · cannot load roles: {shown(exc.message)}"))
        self.rc.fail("loading roles", exc)
        self._loaded.set()

    def apply_snapshot(self, snap: snapshot.Snapshot, select: str | None = None) -> None:
        assert self.board is not None
        if self.snap is None:  # the first load: stale SSO listings are listed again
            # lazy: the SSO listing code only on the board's first load
            from tui.board.registries import sync_due
            from tui.board.sso import sync_stale

            self.call_after_refresh(sync_stale, self)
            self.call_after_refresh(sync_due, self)
        self.snap = snap
        self.load_error = None
        now = self.now()
        self._live |= {r.name for r in snap.rows if r.session and r.session.seconds_left(now) > 0}
        if not snap.rows:
            # lazy: a first run's words only when there is no role at all
            from profiles import paths
            from tui.board import firstrun

            self.board.empty = firstrun.lines(paths.aws_config_file(), paths.catalog_file())
        self.board.set_rows(snap.rows, now, self.window)
        if select:
            self.board.select(select)
        self.show_detail()
        self.update_status()
        self._loaded.set()
        self.rc.rows_shown()

    def update_status(self) -> None:
        if self.snap is None or self.board is None:
            return
        rows = self.snap.rows
        now = self.now()
        live = sum(1 for r in rows if r.session and r.session.seconds_left(now) > 0)
        accounts = len({r.account.id for r in rows})
        text = (f"{self.rc.hints.banner or 'rolecall'} · {len(rows)} roles in {accounts} "
                f"accounts · {live} live")
        if endpoint := self.endpoint_label():
            text += f" · {endpoint}"
        if self.board.query:  # before the sort: at 80 columns the line is cut at the end
            text += f" · filter “{self.board.query}”: {len(self.board.visible_names)} shown"
        text += self.marked_status()
        text += f" · sort: {self.board.sort} (o)"
        self.query_one("#top", Static).update(Text(shown(text)))  # the filter is typed text

    def show_detail(self) -> None:
        if self.board is None or self.detail is None or not self.detail.display:
            return
        row = self.row(self.board.selected)
        if row is None or self.snap is None or self.ws is None:
            self.detail.show(None, [], [], self.now(), self.window)
            return
        from tui.board import snapshot  # see _snapshot

        try:
            hops = snapshot.hops(self.ws, self.snap, row.name)
        except RolecallError:
            hops = []
        self.detail.show(row, hops, snapshot.children(self.snap, row.name), self.now(),
                         self.window, self.board.busy.get(row.name),
                         self.ws.inventory.settings.mfa_mode, self.snap.adhoc.get(row.name),
                         shown_role(self.ws.inventory, row.name))

    def tick(self) -> None:
        """Once a second: countdown cells, the detail pane, and due renewals."""
        if self.snap is None or self.board is None:
            return
        now = self.now()
        self.board.tick(now)
        self.show_detail()
        self.update_status()
        if self.rc.auto_renew:
            self.renew_due(now)

    def renew_due(self, now: float) -> str | None:
        """Start one renewal of a live session about to enter the refresh window."""
        if self._auto_running or self.snap is None or self.board is None:
            return None
        for row in self.snap.rows:
            session = row.session
            if session is None or row.name not in self._live or row.name in self.board.busy:
                continue
            left = session.seconds_left(now)
            if 0 < left <= self.window + AUTO_LEAD and self._retry_at.get(row.name, 0) <= now:
                self._retry_at[row.name] = now + RETRY_AFTER
                self._auto_running = True
                self._refresh(row.name, auto=True)
                return row.name
        return None

    # -- sort, routing --------------------------------------------------------------------

    def action_sort(self) -> None:
        if self.board is not None:
            sort = self.board.cycle_sort()
            self.update_status()
            self.rc.say(f"sorted by {sort}", timeout=2)

    def run_on(self, verb: str, name: str) -> None:
        """Run an action on a named role (the command palette routes here)."""
        if self.board is not None and self.board.select(name):
            getattr(self, f"action_{verb}")()

    @on(Board.Highlighted)
    def _highlighted(self, event: Board.Highlighted) -> None:
        self.show_detail()
