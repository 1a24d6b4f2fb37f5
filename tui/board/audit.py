"""The board's ``a`` key: the audit page of the selected role (see docs/architecture.md, Audit and
journal)."""

from __future__ import annotations


class AuditKey:
    """A mixin of ``BoardScreen``: opens :class:`tui.screens.audit.AuditPage`."""

    def action_audit(self) -> None:
        if (name := self._picked()) is None:  # RoleActions': loaded, and a role selected
            return
        # lazy: the page (and CloudTrail's reader) only when a opens it
        from tui.screens.audit import AuditPage

        self.app.push_screen(AuditPage(name))
