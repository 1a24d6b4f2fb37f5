"""The board and registries: once per board, a failed sync not yet said is said (once),
and the registries due their daily sync are synced in a worker with no terminal (git
never asks for a password over the board); the board reloads when a copy changed. The
board never waits for a remote: it shows the copies at hand meanwhile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from profiles.doors.terminal import shown

if TYPE_CHECKING:
    from tui.board.screen import BoardScreen


def _warn(screen: BoardScreen, name: str, message: str, fix: str | None) -> None:
    screen.rc.say(shown(message) + (f"\nfix: {shown(fix)}" if fix else ""),
                  title=f"registry {name}: sync failed, its last good copy is used",
                  severity="warning", timeout=12)


def sync_due(screen: BoardScreen) -> None:
    ws = screen.ws
    if ws is None or not ws.inventory.registries:
        return
    # lazy: the registries' modules only for a board with registries
    from profiles.registries import copies, sync

    registries = ws.inventory.registries
    earlier = sync.unreported(registries, copies.statuses())
    for registry, status in earlier:
        _warn(screen, registry.name, str(status.get("error")), status.get("fix"))
    sync.mark_reported([r.name for r, _ in earlier])
    clock = screen.rc.clock
    if not sync.due(registries, copies.statuses(), clock()):
        return

    def job() -> Any:
        outcomes = sync.sync_due(registries, clock=clock)
        sync.mark_reported([o.name for o in outcomes if not o.ok])
        return outcomes

    def done(outcomes: list[sync.Outcome]) -> None:
        for outcome in outcomes:
            if not outcome.ok and outcome.error is not None:
                _warn(screen, outcome.name, outcome.error.message, outcome.error.fix)
        if any(o.changed for o in outcomes):
            screen.rc.say("registries synced", timeout=4)
            screen.rc.ws = None  # the next load reads the new copies
            screen.reload(select=screen.board.selected if screen.board else None)

    screen.background("registries", None, job, done, verb="sync", reload=False)
