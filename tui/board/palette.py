"""Command palette entries: "assume: NAME", "write: NAME", "shell: NAME" for every role."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tui.board.app import RolecallApp

VERBS = (
    ("assume", "assume the role (asks for what it needs)"),
    ("chain", "chain from the role's active session to another role"),
    ("write", "write the session to the credentials file"),
    ("shell", "open a subshell with the session's credentials"),
    ("refresh", "get a new session now"),
    ("forget", "drop the cached session"),
)
DISCOVER = ("assume", "write", "shell")


class RoleCommands(Provider):
    """Every verb on every role; the selected role first when the palette opens."""

    @property
    def _app(self) -> RolecallApp:
        return self.app  # type: ignore[return-value]

    def _run(self, verb: str, name: str) -> None:
        self._app.run_on(verb, name)

    async def discover(self) -> Hits:
        app = self._app
        selected = app.board.selected if app.board is not None else None
        names = app.role_names()
        if selected:
            names = [selected] + [n for n in names if n != selected]
        for name in names[:50]:
            for verb in DISCOVER:
                yield DiscoveryHit(f"{verb}: {name}", partial(self._run, verb, name),
                                   help=dict(VERBS)[verb])

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        count = 0
        for name in self._app.role_names():
            for verb, help_text in VERBS:
                text = f"{verb}: {name}"
                score = matcher.match(text)
                if score > 0:
                    yield Hit(score, matcher.highlight(text), partial(self._run, verb, name),
                              help=help_text)
                    count += 1
            if count >= 400:
                return
