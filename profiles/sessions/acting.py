"""Which path an engine's STS calls are journaled as (see docs/architecture.md, Audit and journal):
the engine's own
``via`` (``cli``, ``board``, ``process``...), or, per thread, the one a caller names for a
block (``run`` and ``serve`` share one engine with the board)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from profiles.ops import journal


class Acting:
    """A mixin of :class:`profiles.sessions.engine.Engine`."""

    via: str
    _acting: threading.local

    @contextlib.contextmanager
    def acting_as(self, via: str | None) -> Iterator[None]:
        """Journal the STS calls this thread makes inside the block as ``via`` instead of
        the engine's own (None: as before)."""
        if via is not None and via not in journal.VIAS:
            raise ValueError(f"unknown via {via!r}")
        before = getattr(self._acting, "via", None)
        self._acting.via = via or before
        try:
            yield
        finally:
            self._acting.via = before

    @property
    def acting_via(self) -> str:
        """The path this thread's STS calls are journaled as now."""
        return getattr(self._acting, "via", None) or self.via
