"""The detail pane: the selected role's session, expiry, and its chain hop by hop."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from profiles.durations import format_countdown
from profiles.model import iso, session_state
from tui.board.table import WARNING_TAGS, chain_text

if TYPE_CHECKING:
    from profiles.workspace import RoleRow
    from tui.board.snapshot import Hop

STATE_STYLE = {"active": "green", "expiring": "bold yellow", "expired": "dim", "none": "dim"}


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _left(seconds: float) -> str:
    text = format_countdown(seconds)
    return text if text == "expired" else f"{text} left"


class Detail(Static):
    """Re-rendered on selection and on each tick (one widget, a few lines)."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id)
        self.styles_map = dict(STATE_STYLE)
        self.shown: object = Text("")

    def update(self, content="") -> None:  # type: ignore[override]
        self.shown = content
        super().update(content)

    @property
    def plain(self) -> str:
        """The pane as plain text (for tests and screen readers)."""
        from rich.console import Console

        console = Console(width=200, no_color=True,
                          force_terminal=False)
        with console.capture() as capture:
            console.print(self.shown)
        return capture.get()

    def show(self, row: RoleRow | None, hops: list[Hop], children: list[str], now: float,
             window: int, busy: str | None = None, mfa_mode: str = "session") -> None:
        if row is None:
            self.update(Text("No role selected.\n\nEdit ~/.aws/config or the rolecall "
                             "catalog to add roles.", style="dim"))
            return
        self.update(self.render_detail(row, hops, children, now, window, busy, mfa_mode))

    def _state(self, state: str) -> str:
        return self.styles_map.get(state, "")

    def render_detail(self, row: RoleRow, hops: list[Hop], children: list[str], now: float,
                      window: int, busy: str | None, mfa_mode: str) -> Group:
        title = Text(row.name, style="bold")
        account = row.account
        acct = Text(f"{account.alias}  " if account.alias else "", style="bold")
        acct.append(account.id, style="dim")
        for tag in account.tags:
            acct.append("  ")
            acct.append(f" {tag} ", style="black on yellow" if tag.lower() in WARNING_TAGS
                        else "reverse")
        facts = Table.grid(padding=(0, 1))
        facts.add_column(style="dim", no_wrap=True)
        facts.add_column(overflow="fold")
        facts.add_row("account", acct)
        facts.add_row("role", row.role_arn)
        facts.add_row("chain", chain_text(row.chain))
        session = row.session
        state = row.state(now, window)
        if busy:
            facts.add_row("session", Text(busy, style="bold cyan"))
        elif session is None:
            facts.add_row("session", Text("none — press enter to assume", style="dim"))
        else:
            left = session.seconds_left(now)
            facts.add_row("session", Text(f"{state}  {_left(left)}", style=self._state(state)))
            facts.add_row("assumed", session.arn)
            facts.add_row("name", session.session_name or "-")
            facts.add_row("expires", f"{_local(session.expires_at)}\n{iso(session.expires_at)}")
        facts.add_row("profiles", ", ".join(row.profiles) or Text("not written", style="dim"))
        parts: list = [title, facts, Text("")]
        parts.append(Text("Chain", style="bold"))
        chain = Table.grid(padding=(0, 1))
        chain.add_column(no_wrap=True)
        chain.add_column()
        chain.add_column(justify="right", no_wrap=True)
        mfa_hops = [h for h in hops if h.kind == "mfa"]
        for index, hop in enumerate(hops):
            marker = "  " * index + ("└ " if index else "")
            if hop.kind == "base":
                chain.add_row(marker + hop.label, Text("base identity", style="dim"), "")
                continue
            label = "mfa:" + hop.label.rsplit("/", 1)[-1] if hop.kind == "mfa" else hop.label
            note = "MFA session" if hop.kind == "mfa" else ("chained, 1h cap" if hop.chained
                                                             else "assumed role")
            chain.add_row(marker + label, Text(note, style="dim"), self._hop_left(hop, now,
                                                                                   window))
        parts.append(chain)
        if mfa_hops or row.mfa_serial:
            parts += [Text(""), Text("MFA", style="bold")]
            mfa = Table.grid(padding=(0, 1))
            mfa.add_column(style="dim", no_wrap=True)
            mfa.add_column(overflow="fold")
            mfa.add_row("device", row.mfa_serial or (mfa_hops[0].label[4:] if mfa_hops else ""))
            if mfa_hops:
                hop = mfa_hops[0]
                mfa.add_row("mode", "session (one code per working day, hops chained)")
                if hop.session is None:
                    mfa.add_row("session", Text("none — a code is asked on assume", style="dim"))
                else:
                    st = session_state(hop.session, now, window)
                    mfa.add_row("session", Text(f"{st}  {_left(hop.session.seconds_left(now))}",
                                                style=self._state(st)))
            else:
                mfa.add_row("mode", "direct (a code each time the session is renewed)")
            parts.append(mfa)
        if children:
            parts += [Text(""), Text("Chained from this session", style="bold")]
            parts += [Text(f"  → {child}") for child in children]
        return Group(*parts)

    def _hop_left(self, hop: Hop, now: float, window: int) -> Text:
        if hop.session is None:
            return Text("no session", style="dim")
        state = session_state(hop.session, now, window)
        return Text(format_countdown(hop.session.seconds_left(now)), style=self._state(state))
