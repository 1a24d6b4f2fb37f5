"""The board's console key (``b``): the AWS console as the selected role, in the
browser (see docs/architecture.md, Console, discovery and long-lived keys). A mixin of
``BoardScreen``: the sign-in (an assumption if the
session needs one, the federation call, the browser hand-off) runs in a worker."""

from __future__ import annotations

import shlex
from typing import Any

from profiles.errors import RolecallError, UsageError


class ConsoleAction:
    """``action_console`` for a screen with ``_selected``, ``background``, ``ws``, ``rc``."""

    rc: Any
    ws: Any
    _selected: Any
    background: Any

    def action_console(self) -> None:
        row = self._selected()
        if row is None:
            return
        name, ws = row.name, self.ws
        # lazy: the core only when the key is pressed (kept off the board's first frame)
        from profiles.estate import handoff

        if name not in ws.inventory.roles:
            self.rc.say(f"{name} is chained by hand: it has no profile to sign in with",
                        severity="warning")
            return
        if not handoff.graphical():
            self.rc.fail("console", UsageError(
                "no graphical web browser here (no DISPLAY, WAYLAND_DISPLAY or BROWSER)",
                fix=f"in a shell: rolecall console {shlex.quote(name)} --print"))
            return

        def job() -> Any:
            from profiles.estate import console  # lazy: as above

            found = console.signin(ws, name)
            if not handoff.open_secret(found.url):
                raise RolecallError("the browser did not open the sign-in page",
                                    fix="set BROWSER, or in a shell: rolecall console "
                                    f"{shlex.quote(name)} "
                                    "--print")
            return found

        def done(found: Any) -> None:
            ends = found.expires_at.astimezone().strftime("%H:%M")
            capped = " (a role-chained session: AWS caps it at 1 hour)" if found.chained else ""
            self.rc.say(f"{found.destination}\nthe console session ends by {ends}{capped}",
                        title=f"console {name} opened", timeout=8)

        self.background(name, "console…", job, done, verb="console")
