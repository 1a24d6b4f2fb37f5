"""The board and IAM Identity Center listings: once per board, the SSO sessions whose
listing is older than ``sso_ttl`` (or missing) are listed again in a worker when their
login still holds, then the board reloads with what was found; a session that needs a
login says so once (assuming any of its roles offers the login)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.board.screen import BoardScreen


def sync_stale(screen: BoardScreen) -> None:
    ws = screen.ws
    if ws is None or not ws.inventory.sso_sessions:
        return
    # lazy: the core's SSO modules only for a board with SSO sessions
    from profiles.estate import discovery

    stale = discovery.stale(ws.inventory.sso_sessions, ws.inventory.settings.sso_ttl,
                            screen.rc.clock())
    if not stale:
        return

    def job() -> Any:
        from profiles.estate.tokens import LoginRequired  # loaded with discovery

        listed, waiting = 0, []
        for session in stale:
            try:
                found, _ = discovery.run(ws.inventory, ws.cache, session)
            except LoginRequired:
                waiting.append(session.name)
            else:
                listed += found.role_count
        return listed, waiting

    def done(result: tuple[int, list[str]]) -> None:
        listed, waiting = result
        if listed:
            screen.rc.say(f"{listed} IAM Identity Center roles listed", timeout=5)
            screen.rc.ws = None  # the next load reads them
            screen.reload(select=screen.board.selected if screen.board else None)
        if waiting:
            screen.rc.say("sign in to list their roles: assume any role of theirs, or run "
                          "`rolecall sso login`", title="SSO: " + ", ".join(waiting),
                          severity="warning", timeout=10)

    names = ", ".join(s.name for s in stale)
    screen.background(names, None, job, done, verb="list the SSO roles of", reload=False)
