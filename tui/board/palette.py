"""Command palette entries: "assume: NAME" for every role; "write: NAME", "shell: NAME"
and the other session verbs only for roles with a live session, and for those
"kubeconfig: NAME CLUSTER" for each EKS cluster the catalog lists. Shown literally."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from profiles.doors.terminal import shown

if TYPE_CHECKING:
    from tui.board.app import RolecallApp
    from tui.board.screen import BoardScreen

VERBS = (
    ("assume", "assume the role (asks for what it needs)"),
    ("chain", "chain from the role's active session to another role"),
    ("write", "write the session to the credentials file"),
    ("shell", "open a subshell with the session's credentials"),
    ("refresh", "get a new session now"),
    ("forget", "drop the cached session"),
    ("doctor", "why the role can or cannot be assumed, hop by hop"),
)
LIVE_ONLY = frozenset({"chain", "write", "shell"})
KUBECONFIG = "write the cluster's kubeconfig entry (rolecall eks kubeconfig)"
DISCOVER = ("assume", "write", "shell")
MATCH_STYLE = "underline"


def highlight(text: str, offsets: tuple[int, ...] | list[int]) -> Content:
    """``text`` literally, with the matched characters underlined (Textual's own
    highlighter parses the candidate as markup)."""
    content = Content(text)
    for offset in offsets:
        if offset < len(text) and not text[offset].isspace():
            content = content.stylize(MATCH_STYLE, offset, offset + 1)
    return content


class RoleCommands(Provider):
    """Every verb a role can take now; the selected role first when the palette opens."""

    @property
    def _board(self) -> BoardScreen:
        app: RolecallApp = self.app  # type: ignore[assignment]
        return app.board_screen

    def _run(self, verb: str, name: str) -> None:
        self.app.run_on(verb, name)  # type: ignore[attr-defined]

    def _live(self) -> set[str]:
        board = self._board
        if board.snap is None:
            return set()
        now = board.now()
        return {r.name for r in board.snap.rows
                if r.session is not None and r.session.seconds_left(now) > 0}

    def _verbs(self, name: str, live: set[str], verbs: tuple[str, ...]) -> list[str]:
        return [v for v in verbs if name in live or v not in LIVE_ONLY]

    def _clusters(self, name: str, live: set[str]) -> list[tuple[str, object]]:
        """``(text, run)`` of each "kubeconfig: NAME CLUSTER" a live role offers."""
        board = self._board
        role = board.ws.inventory.roles.get(name) if board.ws is not None else None
        if role is None or name not in live:
            return []
        return [(f"kubeconfig: {shown(name)} {shown(cluster)}",
                 partial(board.kubeconfig, name, cluster))
                for cluster, _region in role.eks_clusters]

    async def discover(self) -> Hits:
        board = self._board
        selected = board.board.selected if board.board is not None else None
        names = board.role_names()
        if selected:
            names = [selected] + [n for n in names if n != selected]
        live = self._live()
        for name in names[:50]:
            for verb in self._verbs(name, live, DISCOVER):
                text = f"{verb}: {shown(name)}"  # a name from a shared config: through the door
                yield DiscoveryHit(Content(text), partial(self._run, verb, name),
                                   text=text, help=dict(VERBS)[verb])
            for text, run in self._clusters(name, live):
                yield DiscoveryHit(Content(text), run, text=text, help=KUBECONFIG)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        live = self._live()
        verbs = tuple(v for v, _ in VERBS)
        count = 0
        for name in self._board.role_names():
            for verb in self._verbs(name, live, verbs):
                text = f"{verb}: {shown(name)}"
                score, offsets = matcher.fuzzy_search.match(query, text)
                if score > 0:
                    yield Hit(score, highlight(text, offsets), partial(self._run, verb, name),
                              text=text, help=dict(VERBS)[verb])
                    count += 1
            for text, run in self._clusters(name, live):
                score, offsets = matcher.fuzzy_search.match(query, text)
                if score > 0:
                    yield Hit(score, highlight(text, offsets), run, text=text, help=KUBECONFIG)
                    count += 1
            if count >= 400:
                return
