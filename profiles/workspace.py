"""One façade over the core for the CLI and the TUI: load, list, assume, write, forget."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from profiles import paths
from profiles.config import inventory
from profiles.config import snapshot as config_snapshot
from profiles.errors import UsageError
from profiles.model import ROLE_ARN, Account, Role, Session, iso, session_state
from profiles.output import credfile, environment
from profiles.sessions.cache import SessionCache
from profiles.sessions.engine import Engine, MfaPrompt, Result
from profiles.sessions.fastpath import PROCESS_MIN_LEFT


class ChangesChains(UsageError):
    """``write`` would make other roles chain from the written session (see
    :meth:`Workspace.rerouted`): the board asks, the CLI wants ``--force``."""


@dataclass(frozen=True)
class RoleRow:
    """Everything a list or board row shows about one role."""

    name: str
    role_arn: str
    role_name: str
    account: Account
    chain: tuple[str, ...]
    region: str | None
    mfa_serial: str | None
    session: Session | None
    profiles: tuple[str, ...] = ()
    error: str | None = None  # why the role cannot be used (``broken``), naming it
    registry: str | None = None  # the registry (a team's shared catalog) it came from

    def state(self, now: float, window: float) -> str:
        if self.error is not None:
            return "broken"
        return "none" if self.session is None else session_state(self.session, now, window)


def session_json(session: Session, now: float, window: float) -> dict[str, object]:
    return {
        "role": session.role, "kind": session.kind, "arn": session.arn,
        "session_name": session.session_name, "role_arn": session.role_arn,
        "expires_at": iso(session.expires_at),
        "seconds_left": max(0, int(session.seconds_left(now))),
        "state": session_state(session, now, window),
    }


def _row(**fields: object) -> RoleRow:
    """A RoleRow from all its fields, without the frozen dataclass's per-field
    ``object.__setattr__`` (a third of building 5,000 rows)."""
    row = object.__new__(RoleRow)
    row.__dict__.update(fields)
    return row


class Workspace:
    """Lazily loads the inventory, cache and engine; thread workers may share it."""

    def __init__(self, *, clock: Callable[[], float] = time.time,
                 mfa_prompt: MfaPrompt | None = None, cache: SessionCache | None = None,
                 inv: inventory.Inventory | None = None, via: str = "cli") -> None:
        self.clock = clock
        self.cache = cache or SessionCache()
        self.inventory = inv or config_snapshot.load()
        self.engine = Engine(self.inventory, self.cache, clock=clock, mfa_prompt=mfa_prompt,
                             via=via)

    @property
    def refresh_window(self) -> int:
        return self.inventory.settings.refresh_window

    def now(self) -> float:
        """STS's now, for countdowns (the local clock corrected by the measured skew)."""
        return self.engine.now()

    def rows(self) -> list[RoleRow]:
        """Every role with its chain, account and indexed session: one index read in all
        (roles from the inventory snapshot come planned); then each broken role, with
        its error and nothing else."""
        sessions = {s.key: s for s in self.cache.sessions()}
        written: dict[str, list[str]] = {}
        for section in credfile.managed():
            role = section.values.get("x_rolecall_role", "").strip()
            if role:
                written.setdefault(role, []).append(section.name)
        out = []
        planned = self.inventory.row_plans  # from the inventory snapshot: no planning
        for name, role in self.inventory.roles.items():
            known = planned.get(name)
            if known is None:
                plan = self.engine.plan(name)
                key, chain = plan.steps[-1].key, plan.labels
            else:
                key, chain = known
            out.append(_row(
                name=name, role_arn=role.role_arn, role_name=role.role_short_name,
                account=self.inventory.account(role.account_id), chain=chain,
                region=role.region, mfa_serial=role.mfa_serial,
                session=sessions.get(key), profiles=tuple(written.get(name, ())),
                error=None, registry=role.registry,
            ))
        for name, error in self.inventory.broken.items():
            out.append(_row(
                name=name, role_arn="", role_name="", account=Account(""), chain=(),
                region=None, mfa_serial=None, session=None,
                profiles=tuple(written.get(name, ())), error=error.message,
                registry=self.inventory.broken_from.get(name),
            ))
        return out

    def assume(self, name: str, **options) -> Result:
        """``Engine.assume``: its options, ``via=`` included (the journal's path name)."""
        return self.engine.assume(name, **options)

    def process(self, name: str, via: str | None = None) -> Result:
        """The session ``credential_process`` hands out: more than 15 minutes left
        (botocore refreshes inside that) whenever a new one would last longer (``serve``
        hands out the same, journaled ``via="serve"``)."""
        return self.engine.assume(name, min_left=PROCESS_MIN_LEFT, via=via)

    def chain(self, source: str, role_arn: str, *, label: str | None = None,
              duration: str | int | None = None, external_id: str | None = None,
              session_name: str | None = None) -> Result:
        """Assume any ``role_arn`` from the cached session of role ``source`` (an ad-hoc
        hop the config does not name; role chaining, so at most 1 hour). The session is
        cached under ``label`` (default ``SOURCE>RoleName``) with ``source``'s as parent;
        its region is ``source``'s as configured now."""
        match = ROLE_ARN.fullmatch(role_arn.strip())
        if match is None:
            raise UsageError(f"malformed role ARN {role_arn!r}",
                             fix="use arn:aws:iam::123456789012:role/RoleName")
        plan = self.engine.plan(source)
        region = self.inventory.role(source).region or plan.base.region
        role = Role(name=label or f"{source}>{match.group(3)}", role_arn=role_arn.strip(),
                    source=source, external_id=external_id or None, region=region,
                    origin="chain")
        return self.engine.assume_adhoc(source, role, duration=duration,
                                        session_name=session_name, external_id=external_id)

    def _region(self, name: str, session: Session) -> str | None:
        """The region of the profile in use, as configured now (an ad-hoc hop: its own)."""
        role = self.inventory.roles.get(name)
        return session.region if role is None else role.region

    def environment(self, name: str, session: Session) -> dict[str, str]:
        assert session.credentials is not None
        return environment.build(name, session.credentials.to_process_json(),
                                 self._region(name, session), self.refresh_window)

    def write(self, name: str, session: Session, profile: str | None = None,
              force: bool = False) -> Path:
        """Write ``session`` as ``profile`` (default ``name``), recorded as ``name``'s.
        Refused unless ``force`` when the section would change how other roles chain
        (:meth:`rerouted`)."""
        profile = profile or name
        if not force and (others := self.rerouted(profile)):
            credfile.check_name(profile)
            path = paths.aws_credentials_file()
            shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more"
                                              if len(others) > 5 else "")
            raise ChangesChains(
                f"profile {profile!r} is the source_profile of {shown}: a [{profile}] "
                f"section with this session's keys in {path} makes botocore (the AWS CLI, "
                f"SDKs, rolecall) sign their AssumeRole with those keys instead of assuming "
                f"{profile} first, so they would chain from a 1-hour session and fail once "
                "it expires",
                fix=f"write it under another name (--as {profile}-session), or pass --force "
                "to change how they chain")
        if session.role != name:
            session = replace(session, role=name)
        return credfile.write(session, profile, force=force)

    def rerouted(self, profile: str) -> list[str]:
        """The roles a new ``[profile]`` section with keys in the credentials file would
        re-route: those assumed from profile ``profile`` (botocore uses a source profile's
        static keys when it has any), unless that profile has keys already."""
        base = self.inventory.bases.get(profile)
        if base is not None and base.static:
            return []  # they chain from its keys already
        return sorted(r.name for r in self.inventory.roles.values() if r.source == profile
                      and not (r.credential_source or r.sso_session or r.keys))

    def sessions(self) -> list[Session]:
        return sorted(self.cache.sessions(), key=lambda s: (s.role, s.expires_at))

    def forget(self, name: str | None) -> int:
        """Drop the cached sessions of role ``name`` (or an ``mfa:`` label), or all."""
        entries = self.cache.sessions()
        if name is None:
            keys = [s.key for s in entries] + self.cache.orphans()
        else:
            keys = [s.key for s in entries if s.role == name]
            if not keys and name not in self.inventory.roles:
                self.inventory.role(name)  # raises the unknown-role error
        return self.cache.forget(keys)

    def clean(self) -> list[str]:
        """Remove written profiles expired by the local clock (the callers' clock; the
        skew STS shows never counts)."""
        return credfile.remove(expired_before=self.clock())

