"""The assume dialog: asks only for what this assumption needs.

An MFA code only when no cached MFA session covers the chain; an external id only when
the role has none configured and STS denied it last time (third-party trust policies
ask for one; the dialog says so); the duration always optional, with its allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Static

from profiles.durations import CHAIN_CAP, format_duration
from profiles.errors import UsageError
from profiles.sessions.engine import DEFAULT_DURATION, check_mfa_code
from tui.screens.dialog import Dialog, literal, markup, parse_duration_field

if TYPE_CHECKING:
    from profiles.workspace import Workspace

DENIED_WHY = ("STS denied the last attempt. A third party's role usually requires an "
              "ExternalId in its trust policy: enter the one its owner gave you, or leave "
              "it empty. To keep it, add external_id to the profile.")


@dataclass(frozen=True)
class AssumeNeeds:
    """What a fresh assumption of ``role`` needs from the operator (read in a worker)."""

    role: str
    mfa_serial: str | None
    max_duration: int
    chained: bool
    default_duration: int | None = None
    external_id_why: str | None = None  # ask for an external id, and why
    mfa_hint: str = ""  # e.g. the demo's "any 6 digits"


@dataclass(frozen=True)
class AssumeRequest:
    role: str
    duration: int | None
    external_id: str | None
    mfa_code: str | None


def needs_of(ws: Workspace, name: str, denied: bool, mfa_hint: str = "") -> AssumeNeeds:
    """What the dialog must ask for ``name`` (``needs_mfa`` reads the keyring: a worker)."""
    role = ws.inventory.role(name)
    plan = ws.engine.plan(name)
    limit = ws.engine.max_duration(name)
    default = role.duration or ws.inventory.settings.duration or DEFAULT_DURATION
    why = DENIED_WHY if denied and role.external_id is None else None
    return AssumeNeeds(role=name, mfa_serial=ws.engine.needs_mfa(name), max_duration=limit,
                       chained=plan.steps[-1].chained, default_duration=min(default, limit),
                       external_id_why=why, mfa_hint=mfa_hint)


class AssumeModal(Dialog):
    """MFA code when needed; external id when it may be what STS wants; duration."""

    OK = "Assume"

    def __init__(self, needs: AssumeNeeds) -> None:
        super().__init__(markup("Assume [b]$role[/b]", role=needs.role))
        self.needs = needs

    def fields(self) -> ComposeResult:
        n = self.needs
        if n.mfa_serial:
            yield Static(markup("MFA code (6 digits) for [b]$serial[/b]",
                                             serial=n.mfa_serial), classes="label")
            if n.mfa_hint:
                yield Static(literal(n.mfa_hint), classes="hint")
            yield Input(id="mfa", max_length=6, restrict=r"\d*")
        if n.external_id_why:
            yield Static(literal("External id (optional)"), classes="label")
            yield Static(literal(n.external_id_why), classes="hint")
            yield Input(id="external-id")
        default = format_duration(n.default_duration) if n.default_duration else "default"
        yield Static(markup(
            "Duration [dim](15m to $most; empty: $default, or the cached session)[/dim]",
            most=format_duration(n.max_duration), default=default), classes="label")
        yield Input(placeholder="1h, 45m, 2h30m", id="duration")
        if n.chained:
            yield Static(literal(f"{n.role} is assumed from temporary credentials (role "
                                 "chaining): STS caps it at 1 hour."), classes="note")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        n = self.needs
        code = None
        try:
            if n.mfa_serial:
                code = check_mfa_code(self.query_one("#mfa", Input).value)
            duration = parse_duration_field(
                self.query_one("#duration", Input).value,
                min(n.max_duration, CHAIN_CAP) if n.chained else n.max_duration)
        except UsageError as exc:
            self.error(str(exc))
            return
        external = None
        if n.external_id_why:
            external = self.query_one("#external-id", Input).value.strip() or None
        self.dismiss(AssumeRequest(n.role, duration, external, code))
