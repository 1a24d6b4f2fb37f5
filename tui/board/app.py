"""The Textual app: the board, the detail pane, and every action of DESIGN §4.

All STS, keyring and file work runs in thread workers; results come back with
``call_from_thread``. The one exception is the first load when the inventory snapshot
is current: reading it, the session index and the credentials file (local files, no
parsing, no keyring) happens in ``on_mount``, so the first frame already shows the
roles; otherwise (a first run, a changed config) the worker parses while the board
shows "loading roles…". Failures arrive as notifications carrying the core's message and
fix. Time comes from an injected clock so countdowns are deterministic in tests.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from profiles import paths
from profiles.durations import format_countdown
from profiles.errors import RolecallError, UsageError
from profiles.output import environment
from tui.board.detail import Detail
from tui.board.keybar import KeyBar
from tui.board.table import Board

if TYPE_CHECKING:
    from profiles.config.inventory import Inventory
    from profiles.workspace import RoleRow, Workspace
    from tui.board import snapshot
    from tui.screens.modals import AssumeRequest, ChainRequest, WriteRequest

# Not needed for the first frame, so imported on first use: the modals, the palette and
# the shell when the operator asks for them; the core (workspace, engine, cache,
# snapshot) in the load worker, while the event loop shows the board.


def _role_commands() -> type:
    from tui.board.palette import RoleCommands

    return RoleCommands


AUTO_LEAD = 60  # renew this long before a session enters the refresh window
RETRY_AFTER = 60  # after a failed or declined renewal, wait this long
BOARD_ACTIONS = {"assume", "chain", "write", "shell", "refresh", "forget", "filter", "sort",
                 "help", "clear_filter"}


class PromptCancelled(Exception):
    """The operator dismissed an MFA prompt that a worker was waiting on."""


class RolecallApp(App[int]):
    """The board of roles. ``clock`` and ``workspace`` are injectable for tests."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "rolecall"
    COMMANDS = App.COMMANDS | {_role_commands}
    BINDINGS = [
        Binding("enter", "assume", "Assume", id="assume"),
        Binding("c", "chain", "Chain", id="chain"),
        Binding("w", "write", "Write", id="write"),
        Binding("s", "shell", "Shell", id="shell"),
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("x", "forget", "Forget", id="forget"),
        Binding("slash", "filter", "Filter", id="filter", key_display="/"),
        Binding("o", "sort", "Sort", id="sort"),
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear-filter"),
    ]

    def __init__(self, clock: Callable[[], float] = time.time,
                 workspace: Workspace | None = None, *, auto_renew: bool = True,
                 ticking: bool = True) -> None:
        super().__init__()
        self.clock = clock
        self.ws = workspace
        self.auto_renew = auto_renew
        self.ticking = ticking
        self.snap: snapshot.Snapshot | None = None
        self.board: Board | None = None
        self.detail: Detail | None = None
        self.load_error: RolecallError | None = None
        self._live: set[str] = set()
        self._retry_at: dict[str, float] = {}
        self._auto_running = False
        self._pending: list[Future] = []
        self._loaded = threading.Event()
        if workspace is not None and workspace.engine.mfa_prompt is None:
            workspace.engine.mfa_prompt = self._prompt_mfa

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("rolecall · loading roles…", id="top")
        with Horizontal(id="main"):
            yield Board(id="board")
            yield Detail(id="detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.board = self.query_one(Board)
        self.detail = self.query_one(Detail)
        self.detail.styles_map = self._state_styles()
        self.board.focus()
        if not self._load_now():
            self.reload()
        if self.ticking:
            self.set_interval(1.0, self.tick)

    def _state_styles(self) -> dict[str, str]:
        colours = self.theme_variables
        return {"active": colours.get("success", "green"),
                "expiring": f"bold {colours.get('warning', 'yellow')}",
                "expired": "dim", "none": "dim"}

    def on_unmount(self) -> None:
        if self._heap_frozen:
            gc.unfreeze()  # what this app leaves behind is collectable again
        for future in self._pending:
            if not future.done():
                future.set_result(None)

    # -- time and data --------------------------------------------------------------------

    def now(self) -> float:
        """The injected clock, corrected by the clock skew STS last reported."""
        return self.clock() + (self.snap.skew if self.snap else 0.0)

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
        """Every role and session now; the workspace is made on first use (from ``inv``
        if given, else by loading the inventory)."""
        from profiles.workspace import Workspace
        from tui.board import snapshot

        if self.ws is None:
            self.ws = Workspace(clock=self.clock, mfa_prompt=self._prompt_mfa, inv=inv,
                                via="board")
        return snapshot.load(self.ws)

    @work(thread=True, exclusive=True, group="load")
    def reload(self, select: str | None = None) -> None:
        """Read the inventory (first time) and every session; show them."""
        try:
            snap = self._snapshot()
        except RolecallError as exc:
            self.call_from_thread(self._load_failed, exc)
            return
        self.call_from_thread(self.apply_snapshot, snap, select)

    def _load_now(self) -> bool:
        """The first load, inline, if the inventory comes from a current snapshot (or
        was injected); False leaves it to the worker (parsing the config takes long)."""
        inv = None
        if self.ws is None:
            from profiles.config import snapshot as config_snapshot

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
        import asyncio

        deadline = time.monotonic() + timeout
        while not self._loaded.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError("roles did not load")
            await asyncio.sleep(0.01)

    def _load_failed(self, exc: RolecallError) -> None:
        self.load_error = exc
        self.query_one("#top", Static).update(f"rolecall · cannot load roles: {exc.message}")
        self.fail("loading roles", exc)
        self._loaded.set()

    def apply_snapshot(self, snap: snapshot.Snapshot, select: str | None = None) -> None:
        assert self.board is not None
        self.snap = snap
        self.load_error = None
        now = self.now()
        self._live |= {r.name for r in snap.rows if r.session and r.session.seconds_left(now) > 0}
        self.board.set_rows(snap.rows, now, self.window)
        if select:
            self.board.select(select)
        self.show_detail()
        self.update_status()
        self._loaded.set()
        if not self._heap_frozen:
            self._heap_frozen = True
            self.call_after_refresh(gc.freeze)

    # After the first rows are up, everything alive (Textual, the inventory, thousands of
    # rows) is moved out of the cyclic collector's reach: its full passes over that heap
    # took 50-170 ms at 5,000 roles and could land on a keystroke. Frozen objects are
    # still freed by reference counting; later ones are collected as usual.
    _heap_frozen = False

    def update_status(self) -> None:
        if self.snap is None or self.board is None:
            return
        rows = self.snap.rows
        now = self.now()
        live = sum(1 for r in rows if r.session and r.session.seconds_left(now) > 0)
        accounts = len({r.account.id for r in rows})
        text = (f"rolecall · {len(rows)} roles in {accounts} accounts · {live} live · "
                f"sort: {self.board.sort} (o)")
        if self.board.query:
            text += f" · filter “{self.board.query}”: {len(self.board.visible_names)} shown"
        self.query_one("#top", Static).update(text)

    def show_detail(self) -> None:
        if self.board is None or self.detail is None:
            return
        name = self.board.selected
        row = self.row(name)
        if row is None or self.snap is None or self.ws is None:
            self.detail.show(None, [], [], self.now(), self.window)
            return
        from tui.board import snapshot

        try:
            hops = snapshot.hops(self.ws, self.snap, row.name)
        except RolecallError:
            hops = []
        self.detail.show(row, hops, snapshot.children(self.snap, row.name), self.now(),
                         self.window, self.board.busy.get(row.name),
                         self.ws.inventory.settings.mfa_mode)

    def tick(self) -> None:
        """Once a second: countdown cells, the detail pane, and due renewals."""
        if self.snap is None or self.board is None:
            return
        now = self.now()
        self.board.tick(now)
        self.show_detail()
        self.update_status()
        if self.auto_renew:
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

    # -- bindings -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in BOARD_ACTIONS and len(self.screen_stack) > 1)

    def _selected(self, need_session: bool = False) -> RoleRow | None:
        if self.ws is None or self.snap is None or self.board is None:
            self.notify("still loading the roles", severity="warning")
            return None
        row = self.row(self.board.selected)
        if row is None:
            self.notify("no role selected", severity="warning")
            return None
        if row.name in self.board.busy:
            self.notify(f"{row.name}: {self.board.busy[row.name]} already", severity="warning")
            return None
        if need_session and (row.session is None or row.session.seconds_left(self.now()) <= 0):
            self.notify(f"{row.name} has no active session",
                        title="press enter to assume it first", severity="warning")
            return None
        return row

    def run_on(self, verb: str, name: str) -> None:
        """Run an action on a named role (the command palette's entry point)."""
        if self.board is not None and self.board.select(name):
            getattr(self, f"action_{verb}")()

    def action_assume(self) -> None:
        row = self._selected()
        if row is None:
            return
        if self._source(row.name):
            from tui.screens.modals import ChainRequest

            self._chain(ChainRequest(self._source(row.name), None, row.role_arn), row.name)
            return
        self._prepare_assume(row.name)

    def action_chain(self) -> None:
        row = self._selected(need_session=True)
        if row is None or self.ws is None:
            return
        from tui.screens.modals import ChainModal

        self.push_screen(ChainModal(row.name, sorted(self.ws.inventory.roles)),
                         partial(self._chain_chosen))

    def action_write(self) -> None:
        row = self._selected(need_session=True)
        if row is None:
            return
        from tui.screens.modals import WriteModal

        self.push_screen(WriteModal(row.name, str(paths.aws_credentials_file())),
                         self._write_chosen)

    def action_shell(self) -> None:
        from tui.board.shell import nested_guard

        try:
            nested_guard()
        except UsageError as exc:
            self.fail("shell", exc)
            return
        row = self._selected(need_session=True)
        if row is None:
            return
        self._background(row.name, "opening shell…", partial(self._shell_env, row),
                         partial(self.open_shell, row.name), verb="shell")

    def action_refresh(self) -> None:
        row = self._selected()
        if row is not None:
            self._refresh(row.name)

    def action_forget(self) -> None:
        row = self._selected()
        if row is None or self.ws is None:
            return
        ws = self.ws
        self._background(row.name, "forgetting…", partial(ws.forget, row.name),
                         lambda n: self.notify(f"forgot {n} session{'s' * (n != 1)} of "
                                               f"{row.name}"), verb="forget")

    async def action_filter(self) -> None:
        field = self.filter_field()
        if field is None:  # mounted on first use: the first frame does without it
            field = Input(placeholder="filter: name, account, alias, tag or ARN", id="filter")
            await self.mount(field, before="#main")  # awaited: the next keys land in it
        field.display = True
        self.screen.set_focus(field)

    def filter_field(self) -> Input | None:
        found = self.query("#filter").results(Input)
        return next(found, None)

    def action_clear_filter(self) -> None:
        field = self.filter_field()
        if field is not None and (field.value or field.display):
            field.value = ""
            field.display = False
            if self.board is not None:
                self.board.set_query("")
                self.board.focus()
            self.update_status()

    def action_sort(self) -> None:
        if self.board is not None:
            sort = self.board.cycle_sort()
            self.update_status()
            self.notify(f"sorted by {sort}", timeout=2)

    def action_help(self) -> None:
        from tui.screens.modals import HelpScreen

        self.push_screen(HelpScreen(self.binding_rows()))

    def action_quit(self) -> None:
        self.exit(0)

    def binding_rows(self) -> list[tuple[str, str, str]]:
        rows = [(self.get_key_display(b), b.description, b.id or "")
                for b in self.BINDINGS if isinstance(b, Binding)]
        if self.board is not None:
            rows += [(self.get_key_display(b), b.description, "board")
                     for b in Board.BINDINGS if isinstance(b, Binding)]
        rows.append(("ctrl+p", "command palette: assume / write / shell any role",
                     "command_palette"))
        return rows

    # -- filter ---------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.board is not None:
            self.board.set_query(event.value)
            self.update_status()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        if self.board is not None:
            self.board.focus()

    @on(Board.Highlighted)
    def _highlighted(self, event: Board.Highlighted) -> None:
        self.show_detail()

    # -- assume ---------------------------------------------------------------------------

    def _source(self, name: str) -> str | None:
        return self.snap.adhoc.get(name) if self.snap else None

    @work(thread=True, group="core")
    def _prepare_assume(self, name: str) -> None:
        """Find out what the modal must ask (needs_mfa reads the keyring)."""
        from profiles.sessions.engine import DEFAULT_DURATION
        from tui.screens.modals import AssumeModal, AssumeNeeds

        ws = self.ws
        assert ws is not None
        try:
            role = ws.inventory.role(name)
            plan = ws.engine.plan(name)
            limit = ws.engine.max_duration(name)
            default = role.duration or ws.inventory.settings.duration or DEFAULT_DURATION
            needs = AssumeNeeds(
                role=name, mfa_serial=ws.engine.needs_mfa(name),
                ask_external_id=role.external_id is None, max_duration=limit,
                chained=plan.steps[-1].chained, default_duration=min(default, limit))
        except RolecallError as exc:
            self.call_from_thread(self.fail, f"assume {name}", exc)
            return
        self.call_from_thread(self.push_screen, AssumeModal(needs), self._assume_chosen)

    def _assume_chosen(self, request: AssumeRequest | None) -> None:
        if request is None or self.ws is None:
            return
        ws = self.ws
        fresh = request.duration is not None or request.external_id is not None
        job = partial(ws.assume, request.role, duration=request.duration,
                      external_id=request.external_id, mfa_code=request.mfa_code,
                      refresh=fresh)
        self._background(request.role, "assuming…", job, partial(self._assumed, request.role),
                         verb="assume")

    def _assumed(self, name: str, result: Any, verb: str = "assume") -> None:
        session = result.session
        origin = "cached" if result.cached[-1] else "new"
        left = format_countdown(session.seconds_left(self.now()))
        self.notify(f"{session.arn}\n{origin} session, {left} left",
                    title=f"{verb} {name}", timeout=5)
        for note in result.notes:
            self.notify(note, title=name, severity="warning", timeout=10)
        self._live.add(name)
        self._retry_at.pop(name, None)

    def _refresh(self, name: str, auto: bool = False) -> None:
        ws = self.ws
        assert ws is not None
        source = self._source(name)
        if source:
            row = self.row(name)
            assert row is not None
            job = partial(ws.chain, source, row.role_arn, label=name)
        else:
            job = partial(ws.assume, name, refresh=True)
        verb = "renew" if auto else "refresh"
        self._background(name, "renewing…" if auto else "refreshing…", job,
                         partial(self._assumed, name, verb=verb), verb=verb, auto=auto)

    # -- chain ----------------------------------------------------------------------------

    def _chain_chosen(self, request: ChainRequest | None) -> None:
        if request is None:
            return
        label = f"{request.source}>{request.target}" if request.target else None
        self._chain(request, label)

    def _chain(self, request: ChainRequest, label: str | None) -> None:
        ws = self.ws
        assert ws is not None
        if request.target is not None:
            role = ws.inventory.role(request.target)
            if request.source in ws.engine.plan(request.target).labels:
                # Its own configuration already chains through the source: assume it.
                job = partial(ws.assume, request.target, duration=request.duration)
                label = request.target
            else:
                job = partial(ws.chain, request.source, role.role_arn, label=label,
                              duration=request.duration, external_id=role.external_id)
        else:
            assert request.role_arn is not None
            job = partial(ws.chain, request.source, request.role_arn, label=label,
                          duration=request.duration)

        def done(result: Any) -> None:
            self._assumed(result.session.role, result, verb="chain")
            self.reload(select=result.session.role)

        self._background(request.source, "chaining…", job, done, verb="chain",
                         reload=False)

    # -- write ----------------------------------------------------------------------------

    def _credentials(self, row: RoleRow):
        """The row's session with its secrets (a keyring read: workers only)."""
        assert self.ws is not None and row.session is not None
        session = self.ws.cache.get(row.session.key)
        if session is None or session.credentials is None:
            raise UsageError(f"the session of {row.name} is no longer in the keyring",
                             fix="press enter to assume it again")
        return session

    def _write_chosen(self, request: WriteRequest | None, force: bool = False) -> None:
        if request is None or self.ws is None:
            return
        row = self.row(request.role)
        if row is None:
            return
        ws = self.ws

        def job() -> object:
            session = self._credentials(row)
            try:
                return ws.write(row.name, session, request.profile, force=force)
            except UsageError as exc:
                if force:
                    raise
                return exc  # the name is valid, so this is an unmanaged section

        def done(outcome: object) -> None:
            if isinstance(outcome, UsageError):
                from tui.screens.modals import ConfirmModal

                self.push_screen(ConfirmModal(
                    f"Replace [{request.profile}]?",
                    f"{outcome.message}.\n\nReplacing it loses the keys it holds now.",
                    yes=f"Replace [{request.profile}]"),
                    lambda yes: self._write_chosen(request, force=True) if yes else None)
                return
            self.notify(f"wrote [{request.profile}] to {outcome}",
                        title=f"write {row.name}", timeout=5)

        self._background(row.name, "writing…", job, done, verb="write")

    # -- shell ----------------------------------------------------------------------------

    def _shell_env(self, row: RoleRow) -> dict[str, str]:
        assert self.ws is not None
        session = self._credentials(row)
        if self._source(row.name):
            assert session.credentials is not None
            return environment.build(row.name, session.credentials.to_process_json(),
                                     session.region)
        return self.ws.environment(row.name, session)

    def open_shell(self, name: str, variables: dict[str, str]) -> None:
        """Suspend the TUI, run $SHELL with the session, come back when it exits."""
        from tui.board.shell import run_shell

        try:
            with self.suspend():
                print(f"rolecall: shell with {name}; exit to return to the board", flush=True)
                status = run_shell(variables)
        except SuspendNotSupported:
            self.notify("this terminal cannot suspend the TUI",
                        title="shell", severity="error")
            return
        except RolecallError as exc:
            self.fail(f"shell {name}", exc)
            return
        self.notify(f"shell for {name} exited with status {status}", timeout=4)

    # -- workers --------------------------------------------------------------------------

    def _background(self, name: str, busy: str, job: Callable[[], Any],
                    done: Callable[[Any], None], *, verb: str, auto: bool = False,
                    reload: bool = True) -> None:
        if self.board is not None:
            self.board.set_busy(name, busy)
        self.show_detail()
        self._run_job(name, job, done, verb, auto, reload)

    @work(thread=True, group="core")
    def _run_job(self, name: str, job: Callable[[], Any], done: Callable[[Any], None],
                 verb: str, auto: bool, reload: bool) -> None:
        try:
            value = job()
        except PromptCancelled:
            self.call_from_thread(self.notify, f"{verb} {name} cancelled", timeout=3)
        except RolecallError as exc:
            self.call_from_thread(self.fail, f"{verb} {name}", exc)
        except Exception as exc:  # noqa: BLE001 - a worker must not take the app down
            self.call_from_thread(self.fail, f"{verb} {name}",
                                  RolecallError(f"internal error: {type(exc).__name__}: {exc}",
                                                fix="run `rolecall --debug` with the same "
                                                "command line and report it"))
        else:
            self.call_from_thread(done, value)
        finally:
            self.call_from_thread(self._job_over, name, auto, reload)

    def _job_over(self, name: str, auto: bool, reload: bool) -> None:
        if self.board is not None:
            self.board.set_busy(name, None)
        if auto:
            self._auto_running = False
        if reload:
            self.reload(select=self.board.selected if self.board else None)
        self.show_detail()

    def fail(self, what: str, exc: RolecallError) -> None:
        """A failure as a notification: the core's message and its fix."""
        self.notify(str(exc), title=f"{what} failed", severity="error", timeout=15)

    def _prompt_mfa(self, serial: str, role: str) -> str:
        """The engine's MFA prompt, called in a worker thread: shows the MFA modal and
        waits for the operator."""
        if threading.current_thread() is threading.main_thread():
            raise UsageError(f"{role} needs an MFA code for {serial}",
                             fix="assume it from the board")
        from tui.screens.modals import MfaModal

        future: Future = Future()
        self._pending.append(future)
        self.call_from_thread(self.push_screen, MfaModal(serial, role), future.set_result)
        try:
            code = future.result(timeout=900)
        except FutureTimeout:
            code = None
        finally:
            self._pending.remove(future)
        if code is None:
            raise PromptCancelled(role)
        return code


def run_app(clock: Callable[[], float] = time.time, workspace: Workspace | None = None) -> int:
    """Open the board; returns the exit status."""
    status = RolecallApp(clock=clock, workspace=workspace).run()
    return status if isinstance(status, int) else 0

