"""The board's ``d`` (see docs/architecture.md, The board; Doctor and lint): the doctor's checklist
for the selected role, and
its offer after a denied assume.

A mixin of ``BoardScreen``, before ``RoleActions``: when STS denies an assume (or a
refresh, or a renewal) and the core's fix names ``rolecall doctor``, the notification
says to press ``d`` instead, and the page opened then shows STS's words above the
checks. The checks themselves run in the page's worker (``tui/screens/doctor.py``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from profiles.errors import RolecallError, UsageError
from tui.board.render import row_error

if TYPE_CHECKING:
    from profiles.trust.doctor import Report

CLI_DOCTOR = re.compile(r"`rolecall doctor [^`]*` checks both")
BOARD_DOCTOR = "press d on {name} and the doctor checks both"
OFFERED = ("assume", "refresh", "renew")  # verbs whose job name is the role denied


def offer_doctor(exc: RolecallError, name: str) -> RolecallError | None:
    """``exc`` with the board's words for the doctor of role ``name``, or None when the
    core's fix names no doctor (a throttle, an expired token: nothing to diagnose)."""
    if not exc.fix or "rolecall doctor" not in exc.fix:
        return None
    words = BOARD_DOCTOR.format(name=name)
    fix = CLI_DOCTOR.sub(lambda _: words, exc.fix)
    if fix == exc.fix:
        fix += f"; {words} sides"
    offered = type(exc)(exc.message, fix=fix)
    offered.code = exc.code
    return offered


class DoctorKey:
    """``d`` on the board, and the denials it is offered after."""

    refused: dict[str, str]  # role -> STS's words when its last assume was denied

    def action_doctor(self) -> None:
        if self.ws is None or self.snap is None or self.board is None:
            self.rc.say("still loading the roles", severity="warning")
            return
        name = self.board.selected
        if name is None:
            self.rc.say("no role selected", severity="warning")
            return
        row = self.row(name)
        if row is not None and (error := row_error(row)):
            self.rc.fail(f"doctor {name}", UsageError(
                f"{name} is broken: {error}", fix="correct the profile in the AWS config or "
                "the catalog; the doctor checks a role that loads"))
            return
        if name not in self.ws.inventory.roles:
            self.rc.say(f"{name} is a chain made by hand: the doctor checks configured roles "
                        "(its target's own profile, if it has one)", severity="warning",
                        title="doctor", timeout=8)
            return
        ws, duration = self.ws, self.asked.get(name)

        def check() -> Report:
            # lazy: the checks (IAM policy reading) only when a doctor is asked
            from profiles.trust.doctor import diagnose

            return diagnose(ws, name, duration=duration, clock=ws.clock)

        # lazy: the page only when it opens, as the board's other screens
        from tui.screens.doctor import DoctorPage

        self.app.push_screen(DoctorPage(name, check, denial=self.refused.get(name)))

    def explained(self, name: str, verb: str, exc: RolecallError) -> RolecallError:
        """A job's failure as the board says it: a denial offers ``d``."""
        offered = offer_doctor(exc, name) if verb in OFFERED else None
        if offered is None:
            return super().explained(name, verb, exc)  # type: ignore[misc]
        self.refused[name] = exc.message
        return offered

    def _assumed(self, name: str, result: Any, verb: str = "assume") -> None:
        self.refused.pop(name, None)  # it worked since: the denial is history
        super()._assumed(name, result, verb)  # type: ignore[misc]
