"""What the board shows, read from the core in one go (in a thread worker): every role
with its session, the indexed sessions by key, and sessions chained by hand from the TUI."""

from __future__ import annotations

from dataclasses import dataclass, field

from profiles.errors import RolecallError
from profiles.model import ROLE_ARN, Session
from profiles.output import credfile
from profiles.workspace import RoleRow, Workspace


@dataclass(frozen=True)
class Hop:
    """One link of a chain as the detail pane shows it."""

    label: str
    kind: str  # "base", "mfa" or "role"
    session: Session | None = None
    chained: bool = False


@dataclass
class Snapshot:
    rows: list[RoleRow]
    sessions: dict[str, Session]
    adhoc: dict[str, str] = field(default_factory=dict)  # chained label -> source role
    skew: float = 0.0


def load(ws: Workspace) -> Snapshot:
    """Rows plus sessions; blocking (index and credentials-file reads)."""
    rows = ws.rows()
    sessions = {s.key: s for s in ws.sessions()}
    owner = {r.session.key: r.name for r in rows if r.session is not None}
    by_name = {r.name: r for r in rows}
    written: dict[str, tuple[str, ...]] | None = None
    adhoc: dict[str, str] = {}
    every_key: dict[str, str] | None = None
    for session in sessions.values():
        if session.kind != "role" or session.role in ws.inventory.roles:
            continue
        match = ROLE_ARN.fullmatch(session.role_arn)
        if match is None or not session.parent:
            continue
        source = owner.get(session.parent)
        if source is None:  # its source's session was forgotten: the child still lives
            if every_key is None:
                every_key = _role_keys(ws)
            source = every_key.get(session.parent)
        if source is None or source not in by_name:
            continue
        if written is None:
            written = _written()
        parent = by_name[source]
        adhoc[session.role] = source
        rows.append(RoleRow(
            name=session.role, role_arn=session.role_arn, role_name=match.group(3),
            account=ws.inventory.account(match.group(1)),
            chain=(*parent.chain, session.role), region=session.region, mfa_serial=None,
            session=session, profiles=written.get(session.role, ()),
        ))
    return Snapshot(rows, sessions, adhoc, ws.cache.clock_skew)


def _written() -> dict[str, tuple[str, ...]]:
    """Credentials-file profiles by the role they hold."""
    found: dict[str, list[str]] = {}
    for section in credfile.managed():
        role = section.values.get("x_rolecall_role", "").strip()
        if role:
            found.setdefault(role, []).append(section.name)
    return {role: tuple(names) for role, names in found.items()}


def _role_keys(ws: Workspace) -> dict[str, str]:
    """The cache key of each configured role's own session -> the role (planned only
    when a chained session outlived its source's)."""
    planned = ws.inventory.row_plans
    keys: dict[str, str] = {}
    for name in ws.inventory.roles:
        known = planned.get(name)
        try:
            key = known[0] if known else ws.engine.plan(name).steps[-1].key
        except RolecallError:  # a broken profile has no plan
            continue
        keys[key] = name
    return keys


def hops(ws: Workspace, snap: Snapshot, name: str) -> list[Hop]:
    """The chain of ``name`` from its base identity, each hop with its indexed session."""
    source = snap.adhoc.get(name)
    plan = ws.engine.plan(source or name)
    out = [Hop(plan.base.label, "base")]
    for step in plan.steps:
        out.append(Hop(step.label, step.kind, snap.sessions.get(step.key), step.chained))
    if source is not None:
        session = next((s for s in snap.sessions.values() if s.role == name), None)
        out.append(Hop(name, "role", session, True))
    return out


def children(snap: Snapshot, name: str) -> list[str]:
    """Sessions chained by hand from ``name``."""
    return sorted(label for label, source in snap.adhoc.items() if source == name)
