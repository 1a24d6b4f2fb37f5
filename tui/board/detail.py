"""The detail pane: the selected role's session, expiry, and its chain hop by hop.

Every text from the AWS files or the catalog is a ``Text`` (never markup) that went
through the terminal door (``profiles.doors.terminal``). ARNs and
hop labels wrap at their own separators (``:``, ``/``, ``>``), not mid-word, and the
chain table keeps its hop-type column whole however long a hop's label is.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from profiles.config.tags import label as tags_label
from profiles.doors.terminal import block, shown
from profiles.durations import format_countdown
from profiles.model import iso, session_state
from tui.board.columns import chain_text
from tui.board.render import WARNING_TAGS, row_error

if TYPE_CHECKING:
    from profiles.config.inventory import Inventory
    from profiles.model import Role, Session
    from profiles.workspace import RoleRow
    from tui.board.snapshot import Hop

STATE_STYLE = {"active": "green", "expiring": "bold yellow", "expired": "dim", "none": "dim"}
NOTES = {"mfa": "MFA session", "chained": "chained, 1h cap", "role": "assumed role",
         "base": "base identity", "sso": "SSO role"}
NOTE_W = max(len(n) for n in NOTES.values())
LEFT_W = 8  # "11:59:59"
LABEL_MIN = 16  # narrower than this for the hop labels, and the chain is stacked
ARN_BREAKS = ":/"
LABEL_BREAKS = ">/:-_. "


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _left(seconds: float) -> str:
    text = format_countdown(seconds)
    return text if text == "expired" else f"{text} left"


class BreakAt:
    """Text that wraps only after one of ``breaks`` (an ARN at ``:`` and ``/``); a piece
    longer than the width is folded as a last resort."""

    def __init__(self, text: str, breaks: str = ARN_BREAKS, style: str = "",
                 hang: int = 0) -> None:
        text = shown(text)  # an ARN or a chain from the config: through the terminal door
        self.text, self.style, self.hang = text, style, hang  # hang: continuation indent
        self.pieces = [p for p in re.split(f"(?<=[{re.escape(breaks)}])", text) if p]

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(p) for p in self.pieces), default=0) + self.hang
        return Measurement(min(widest, options.max_width), cell_len(self.text))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width, 1)
        hang = " " * min(self.hang, width // 2)
        lines, line = [], ""
        for piece in self.pieces:
            if line.strip() and cell_len(line) + cell_len(piece) > width:
                lines.append(line)
                line = hang
            line += piece
        lines.append(line)
        text = Text("\n".join(lines), style=self.style, no_wrap=False, overflow="fold")
        yield from text.__rich_console__(console, options)


class Detail(Static):
    """Re-rendered on selection and on each tick (one widget, a few lines)."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id)
        self.styles_map = dict(STATE_STYLE)
        self.shown: object = Text("")
        self._last: tuple | None = None

    def update(self, content="") -> None:  # type: ignore[override]
        self.shown = content
        super().update(content)

    @property
    def plain(self) -> str:
        """The pane as plain text at its own width (for tests and screen readers)."""
        width = self.content_region.width or 200
        console = Console(width=width, no_color=True, force_terminal=False)
        with console.capture() as capture:
            console.print(self.shown)
        return capture.get()

    def on_resize(self) -> None:
        if self._last is not None:  # the chain's layout depends on the width
            self.show(*self._last)

    def show(self, row: RoleRow | None, hops: list[Hop], children: list[str], now: float,
             window: int, busy: str | None = None, mfa_mode: str = "session",
             source: str | None = None, role: Role | None = None) -> None:
        self._last = (row, hops, children, now, window, busy, mfa_mode, source, role)
        if row is None:
            self.update(Text("No role selected.\n\nEdit ~/.aws/config or the rolecall "
                             "catalog to add roles.", style="dim"))
            return
        self.update(self.render_detail(row, hops, children, now, window, busy, source, role))

    def _state(self, state: str) -> str:
        return self.styles_map.get(state, "")

    def _facts(self, row: RoleRow, now: float, window: int, busy: str | None,
               source: str | None, role: Role | None = None) -> Table:
        account = row.account
        acct = Text(f"{shown(account.alias)}  " if account.alias else "", style="bold")
        acct.append(shown(account.id), style="dim")
        for tag in account.tags:
            acct.append("  ")
            acct.append(f" {shown(tag)} ", style="black on yellow" if tag.lower() in WARNING_TAGS
                        else "reverse")
        facts = Table.grid(padding=(0, 1))
        facts.add_column(style="dim", no_wrap=True)
        facts.add_column()
        facts.add_row("account", acct)
        facts.add_row("role", BreakAt(row.role_arn))
        facts.add_row("chain", BreakAt(chain_text(row.chain), LABEL_BREAKS))
        if source is not None:
            facts.add_row("from", Text(f"chained by hand from {shown(source)}"))
        if row.registry is not None:
            facts.add_row("from", Text(f"registry {shown(row.registry)}", style="dim"))
        for label, text in tagging_rows(role, row.session):
            facts.add_row(label, text)
        if role is not None and role.eks_clusters:
            eks = Text(shown(", ".join(f"{name}@{region}" if region else name
                                            for name, region in role.eks_clusters)))
            eks.append("  ^p kubeconfig", style="dim")
            facts.add_row("eks", eks)
        session = row.session
        state = row.state(now, window)
        if error := row_error(row):
            facts.add_row("broken", Text(block(error), style="bold red"))
        elif busy:
            facts.add_row("session", Text(shown(busy), style="bold cyan"))
        elif session is None:
            facts.add_row("session", Text("none — press enter to assume", style="dim"))
        else:
            left = session.seconds_left(now)
            facts.add_row("session", Text(f"{state}  {_left(left)}", style=self._state(state)))
            facts.add_row("assumed", BreakAt(session.arn))
            facts.add_row("name", Text(shown(session.session_name or "-")))
            facts.add_row("expires",
                          Text(f"{_local(session.expires_at)}\n{iso(session.expires_at)}"))
        facts.add_row("profiles", Text(shown(", ".join(row.profiles))) if row.profiles
                      else Text("not written", style="dim"))
        return facts

    def render_detail(self, row: RoleRow, hops: list[Hop], children: list[str], now: float,
                      window: int, busy: str | None, source: str | None = None,
                      role: Role | None = None) -> Group:
        parts: list = [Text(shown(row.name), style="bold"),
                       self._facts(row, now, window, busy, source, role),
                       Text(""), Text("Chain", style="bold"), self._chain(hops, now, window)]
        mfa_hops = [h for h in hops if h.kind == "mfa"]
        if mfa_hops or row.mfa_serial:
            parts += [Text(""), Text("MFA", style="bold"), self._mfa(row, mfa_hops, now, window)]
        if children:
            parts += [Text(""), Text("Chained from this session", style="bold")]
            parts += [Text(f"  → {shown(child)}") for child in children]
        return Group(*parts)

    def _chain(self, hops: list[Hop], now: float, window: int) -> Table:
        """Hop, what it is, its countdown: the labels wrap at their separators, the other
        columns stay whole; in a narrow pane what each hop is goes under its label."""
        width = self.content_region.width or 60
        stacked = width - NOTE_W - LEFT_W - 2 < LABEL_MIN
        chain = Table.grid(padding=(0, 1))
        chain.add_column(ratio=1)
        if not stacked:
            chain.add_column(no_wrap=True, min_width=NOTE_W)
        chain.add_column(justify="right", no_wrap=True, min_width=LEFT_W)
        for index, hop in enumerate(hops):
            marker = ("  " * min(index - 1, 3) + "└ ") if index else ""
            label = "mfa:" + hop.label.rsplit("/", 1)[-1] if hop.kind == "mfa" else hop.label
            kind = "chained" if hop.kind == "role" and hop.chained else hop.kind
            left = Text("") if hop.kind == "base" else self._hop_left(hop, now, window)
            name = BreakAt(marker + label, LABEL_BREAKS, hang=len(marker))
            note = Text(NOTES.get(kind, kind), style="dim")
            if stacked:
                chain.add_row(name, left)
                chain.add_row(Text(" " * (len(marker) or 2)) + note, Text(""))
            else:
                chain.add_row(name, note, left)
        return chain

    def _mfa(self, row: RoleRow, mfa_hops: list[Hop], now: float, window: int) -> Table:
        mfa = Table.grid(padding=(0, 1))
        mfa.add_column(style="dim", no_wrap=True)
        mfa.add_column()
        device = row.mfa_serial or (mfa_hops[0].label[4:] if mfa_hops else "")
        mfa.add_row("device", BreakAt(device))
        if mfa_hops:
            hop = mfa_hops[0]
            mfa.add_row("mode", Text("session (one code per working day, hops chained)"))
            if hop.session is None:
                mfa.add_row("session", Text("none — a code is asked on assume", style="dim"))
            else:
                st = session_state(hop.session, now, window)
                mfa.add_row("session", Text(f"{st}  {_left(hop.session.seconds_left(now))}",
                                            style=self._state(st)))
        else:
            mfa.add_row("mode", Text("direct (a code each time the session is renewed)"))
        return mfa

    def _hop_left(self, hop: Hop, now: float, window: int) -> Text:
        if hop.session is None:
            return Text("no session", style="dim")
        state = session_state(hop.session, now, window)
        return Text(format_countdown(hop.session.seconds_left(now)), style=self._state(state))


def tagging_rows(role: Role | None, session: Session | None) -> list[tuple[str, Text]]:
    """What CloudTrail will tie the session to: its source identity (the session's, else
    the template a new one renders) and its session tags, shown literally."""
    rows: list[tuple[str, Text]] = []
    if role is None:
        return rows
    params = session.params if session is not None else {}
    identity = params.get("source_identity")
    if isinstance(identity, str):
        rows.append(("identity", Text(shown(identity))))
    elif role.source_identity:
        rows.append(("identity", Text(f"{shown(role.source_identity)} (set when assumed)")))
    if role.tags:
        rows.append(("tags", Text(shown(tags_label(role.tags, role.transitive_tag_keys)))))
    return rows


def shown_role(inventory: Inventory, name: str) -> Role | None:
    """The configured role ``name`` as the pane shows it (the catalog's default source
    identity filled in), or None (an ad-hoc chain)."""
    role = inventory.roles.get(name)
    default = inventory.settings.source_identity
    if role is not None and default and not role.source_identity:
        role = replace(role, source_identity=default)
    return role
