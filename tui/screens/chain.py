"""The chain dialog: a role from the catalog, or a pasted role ARN, assumed from the
selected session (role chaining: at most 1 hour)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from profiles.durations import CHAIN_CAP
from profiles.errors import UsageError
from profiles.model import ROLE_ARN
from tui.screens.dialog import Dialog, literal, markup, parse_duration_field

SHOWN = 500  # roles listed at once; typing narrows them


@dataclass(frozen=True)
class ChainRequest:
    source: str
    target: str | None  # a role from the catalog
    role_arn: str | None  # or a typed ARN
    duration: int | None = None


def _options(names: list[str]) -> list[Option]:
    return [Option(literal(name), id=name) for name in names[:SHOWN]]


class ChainModal(Dialog):
    """Pick a role from the catalog or type a role ARN."""

    OK = "Chain"
    DEFAULT_CSS = """
    ChainModal #roles { height: auto; max-height: 8; }
    """

    def __init__(self, source: str, roles: list[str]) -> None:
        super().__init__(markup("Chain from [b]$source[/b]", source=source))
        self.source = source
        self.roles = [r for r in roles if r != source]

    def fields(self) -> ComposeResult:
        yield Static(literal("Type to filter the roles, or paste a role ARN"))
        yield Input(placeholder="role name or arn:aws:iam::123456789012:role/Name",
                    id="target")
        yield OptionList(*_options(self.roles), id="roles")
        yield Static(markup("Duration [dim](15m to 1h: a chained session is "
                                         "capped at 1 hour; empty: 1h)[/dim]"),
                     classes="label")
        yield Input(placeholder="1h", id="duration")

    @on(Input.Changed, "#target")
    def _filter(self, event: Input.Changed) -> None:
        words = event.value.lower().split()
        options = self.query_one("#roles", OptionList)
        options.clear_options()
        shown = [r for r in self.roles if all(w in r.lower() for w in words)]
        options.add_options(_options(shown))
        if shown:
            options.highlighted = 0

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._finish(str(event.option.id), None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        text = self.query_one("#target", Input).value.strip()
        if ROLE_ARN.fullmatch(text):
            self._finish(None, text)
            return
        options = self.query_one("#roles", OptionList)
        if text in self.roles:
            self._finish(text, None)
        elif options.highlighted is not None and options.option_count:
            self._finish(str(options.get_option_at_index(options.highlighted).id), None)
        else:
            self.error("pick a role from the list or type a full role ARN\n"
                       "  fix: arn:aws:iam::123456789012:role/RoleName")

    def _finish(self, target: str | None, arn: str | None) -> None:
        try:
            duration = parse_duration_field(self.query_one("#duration", Input).value,
                                            CHAIN_CAP)
        except UsageError as exc:
            self.error(str(exc))
            return
        self.dismiss(ChainRequest(self.source, target, arn, duration))
