"""The board's ``a`` key: the audit page of the selected role (DESIGN §11)."""

from __future__ import annotations


class AuditKey:
    """A mixin of ``BoardScreen``: opens :class:`tui.screens.audit.AuditPage`."""

    def action_audit(self) -> None:
        if self.ws is None or self.board is None:
            self.rc.say("still loading the roles", severity="warning")
            return
        name = self.board.selected
        if name is None:
            self.rc.say("no role selected", severity="warning")
            return
        # lazy: the page (and CloudTrail's reader) only when a opens it
        from tui.screens.audit import AuditPage

        self.app.push_screen(AuditPage(name))
