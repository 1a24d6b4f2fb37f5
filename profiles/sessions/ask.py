"""What a caller asks of the engine explicitly, and whether a cached session is that.

An explicit ``--duration``, ``--session-name`` or ``--external-id`` that a cached
session was not assumed with means a new session (see docs/architecture.md, Trust boundary); the
session records what
it was asked with in the index (never the external id itself, only a digest of it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from profiles.model import Session


@dataclass(frozen=True)
class Ask:
    """What a caller asked for explicitly (None: the profile's own setting), and how long
    the session it is handed must last (``process``: ``fastpath.PROCESS_MIN_LEFT``)."""

    duration: int | None = None
    session_name: str | None = None
    external_id: str | None = None
    min_left: float = 0


def digest(external_id: str | None) -> str | None:
    """What the index keeps of an external id: enough to compare, not the value."""
    if not external_id:
        return None
    return hashlib.sha256(f"rolecall-external-id\x1f{external_id}".encode()).hexdigest()[:16]


def matches(session: Session, ask: Ask) -> bool:
    """Whether ``session`` is what ``ask`` explicitly asks for (a session indexed before
    its parameters were recorded matches no explicit option)."""
    params = session.params
    if ask.duration is not None and ask.duration not in (params.get("duration"),
                                                         params.get("requested")):
        return False
    if ask.session_name is not None and ask.session_name != params.get("template") \
            and ask.session_name != session.session_name:
        return False
    return ask.external_id is None or digest(ask.external_id) == params.get("external_id")
