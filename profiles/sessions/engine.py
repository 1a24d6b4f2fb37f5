"""The assumption engine: plan a role's chain, reuse cached hops, call STS for the rest.

A chain is planned as steps from the base identity to the target: an optional MFA
session (``GetSessionToken``, session mode), then one ``AssumeRole`` per role. Every
step has a cache key built from its assume parameters and its parent's key, never
from the generated session name. Everything checkable is checked before STS is called.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from profiles.config.inventory import Inventory
from profiles.durations import (
    CHAIN_CAP,
    MAX_DURATION,
    MIN_DURATION,
    format_duration,
    parse_duration,
)
from profiles.errors import AwsError, UsageError
from profiles.model import Base, Role, Session
from profiles.sessions import fastpath
from profiles.sessions import names as session_names
from profiles.sessions.cache import SessionCache

DEFAULT_DURATION = 3600
SKEW_WARNING = 300
SKEW_NOISE = 2  # the Date header has 1 s resolution, plus latency
MfaPrompt = Callable[[str, str], str]


@dataclass(frozen=True)
class Step:
    """One hop of a plan: an MFA session or a role assumption."""

    kind: str  # "mfa" or "role"
    key: str
    label: str
    role: Role | None = None
    serial: str | None = None  # the MFA device for an MFA step or a direct-mode hop
    chained: bool = False  # signed by temporary credentials: the 1-hour cap applies


@dataclass(frozen=True)
class Plan:
    name: str
    base: Base
    steps: tuple[Step, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        labels = self.__dict__.get("_labels")  # plans are memoized: computed once each
        if labels is None:
            labels = self.__dict__["_labels"] = (self.base.label,
                                                 *(s.label for s in self.steps))
        return labels


@dataclass
class Result:
    session: Session
    hops: list[Session]
    cached: list[bool]
    notes: list[str] = field(default_factory=list)


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def plan_of(inventory: Inventory, name: str) -> Plan:
    """The chain of ``name`` as steps, each with its cache key: a function of the
    inventory alone (the inventory snapshot stores what the board needs of it)."""
    base, roles = inventory.chain(name)
    steps: list[Step] = []
    parent = f"base:{base.name}"
    for index, role in enumerate(roles):
        mode = role.mfa_mode or inventory.settings.mfa_mode
        direct = bool(role.mfa_serial) and (mode == "direct" or index > 0)
        if role.mfa_serial and not direct:
            parent = _key("mfa", parent, role.mfa_serial)
            steps.append(Step("mfa", parent, f"mfa:{role.mfa_serial}",
                              serial=role.mfa_serial))
        parent = _key("role", parent, role.role_arn, role.external_id or "",
                      role.mfa_serial if direct else "")
        steps.append(Step("role", parent, role.name, role=role,
                          serial=role.mfa_serial if direct else None,
                          chained=bool(steps)))
    return Plan(name, base, tuple(steps))


def check_mfa_code(code: str) -> str:
    code = code.strip()
    if not re.fullmatch(r"\d{6}", code):
        raise UsageError("an MFA code is 6 digits", fix="type the current code from the device")
    return code


def explicit_duration(text: str | int | None, role: Role, chained: bool) -> int | None:
    """Validate a requested duration against STS's rules before any call."""
    if text is None:
        return None
    seconds = parse_duration(text)
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise UsageError(f"duration {format_duration(seconds)} is outside 15m to 12h",
                         fix="ask for 900 to 43200 seconds")
    if role.max_duration and seconds > role.max_duration:
        raise UsageError(
            f"duration {format_duration(seconds)} exceeds the MaxSessionDuration of "
            f"{role.name} ({format_duration(role.max_duration)})",
            fix=f"ask for at most {format_duration(role.max_duration)}")
    if chained and seconds > CHAIN_CAP:
        raise UsageError(
            f"duration {format_duration(seconds)} exceeds the 1 hour session limit for "
            f"roles assumed by role chaining ({role.name} is assumed from temporary "
            "credentials)", fix="ask for 1h or less")
    return seconds


class Engine:
    """Plans, caches and performs assumptions. One per thread (or guarded by the caller)."""

    def __init__(self, inventory: Inventory, cache: SessionCache, *,
                 clock: Callable[[], float] = time.time,
                 mfa_prompt: MfaPrompt | None = None) -> None:
        self.inventory = inventory
        self.cache = cache
        self.clock = clock
        self.mfa_prompt = mfa_prompt
        self._plans: dict[str, Plan] = {}  # the inventory never changes once loaded
        cfg, cat = inventory.config_file, inventory.catalog_file
        self.stamp = fastpath.stamp(str(cfg) if cfg else None, str(cat) if cat else None)

    # -- planning -------------------------------------------------------------------------

    def plan(self, name: str) -> Plan:
        if (known := self._plans.get(name)) is not None:
            return known
        plan = self._plans[name] = plan_of(self.inventory, name)
        return plan

    def needs_mfa(self, name: str) -> str | None:
        """The MFA serial a fresh assumption of ``name`` would prompt for, if any."""
        for step in self.plan(name).steps:
            if step.serial and self._fresh(step.key, self._threshold(step, last=False)) is None:
                return step.serial
        return None

    def max_duration(self, name: str) -> int:
        """The longest duration ``name`` may be asked for."""
        step = self.plan(name).steps[-1]
        role = step.role
        assert role is not None
        limit = role.max_duration or MAX_DURATION
        return min(limit, CHAIN_CAP) if step.chained else limit

    # -- cache ----------------------------------------------------------------------------

    def _threshold(self, step: Step, last: bool) -> float:
        window = self.inventory.settings.refresh_window
        return window if last else max(window, MIN_DURATION)

    def _fresh(self, key: str, threshold: float) -> Session | None:
        session = self.cache.get(key)
        if session is not None and session.seconds_left(self.now()) > threshold:
            return session
        return None

    def now(self) -> float:
        """STS's idea of now: the local clock corrected by the last measured skew."""
        return self.clock() + self.cache.clock_skew

    def cached(self, name: str) -> Session | None:
        """The target's cached session if it is fresh enough to reuse."""
        step = self.plan(name).steps[-1]
        return self._fresh(step.key, self._threshold(step, last=True))

    def session_for(self, name: str) -> Session | None:
        """The target's indexed session (no secrets), fresh or not, for display."""
        key = self.plan(name).steps[-1].key
        return next((s for s in self.cache.sessions() if s.key == key), None)

    # -- assumption -----------------------------------------------------------------------

    def assume(self, name: str, *, duration: str | int | None = None,
               session_name: str | None = None, external_id: str | None = None,
               mfa_code: str | None = None, refresh: bool = False) -> Result:
        plan = self.plan(name)
        last = plan.steps[-1]
        assert last.role is not None
        requested = explicit_duration(duration, last.role, last.chained)
        if session_name is not None:
            session_names.resolve(session_name, "{unix}", name)
        if mfa_code is not None:
            mfa_code = check_mfa_code(mfa_code)
        try:
            return self._run(plan, requested, session_name, external_id, mfa_code, refresh)
        except AwsError as exc:
            if "run with --refresh" not in (exc.fix or "") or refresh:
                raise
            # A cached parent was revoked or expired behind our back: renew once.
            return self._run(plan, requested, session_name, external_id, mfa_code, True,
                             renew_parents=True)

    def _run(self, plan: Plan, requested: int | None, session_name: str | None,
             external_id: str | None, mfa_code: str | None, refresh: bool,
             renew_parents: bool = False) -> Result:
        last = plan.steps[-1]
        if not refresh and (target := self._fresh(last.key, self._threshold(last, True))):
            # Warm: the target alone is enough; parents are shown from the index.
            indexed = {s.key: s for s in self.cache.sessions()}
            hops = [indexed[s.key] for s in plan.steps[:-1] if s.key in indexed] + [target]
            notes = [self.cache.warning] if self.cache.warning else []
            return Result(target, hops, [True] * len(hops), notes)
        hops: list[Session] = []
        cached: list[bool] = []
        notes: list[str] = []
        parent: Session | None = None
        codes = [mfa_code] if mfa_code else []
        for index, step in enumerate(plan.steps):
            is_last = index == len(plan.steps) - 1
            force = (refresh and is_last) or (renew_parents and not is_last)
            session = None if force else self._fresh(step.key, self._threshold(step, is_last))
            if session is None:
                session = self._call(plan, step, parent, requested if is_last else None,
                                     session_name if is_last else None,
                                     external_id if is_last else None, codes, notes)
                self.cache.put(session, self.stamp, self.inventory.settings.refresh_window)
                cached.append(False)
            else:
                cached.append(True)
            hops.append(session)
            parent = session
        if self.cache.warning:
            notes.append(self.cache.warning)
        return Result(hops[-1], hops, cached, notes)

    def _code(self, serial: str, name: str, codes: list[str]) -> str:
        if codes:
            return codes.pop(0)
        if self.mfa_prompt is None:
            raise UsageError(f"{name} needs an MFA code for {serial}",
                             fix="pass --mfa-code 123456 (the device's current code)")
        return check_mfa_code(self.mfa_prompt(serial, name))

    def _call(self, plan: Plan, step: Step, parent: Session | None, requested: int | None,
              session_name: str | None, external_id: str | None, codes: list[str],
              notes: list[str]) -> Session:
        from profiles.sessions import sts

        now = self.now()
        settings = self.inventory.settings
        region = sts.region_for(step.role.region if step.role else None, plan.base.region)
        caller = parent.arn if parent and parent.kind == "role" else plan.base.label
        client = sts.client(region, parent.credentials if parent else None, plan.base)
        if step.kind == "mfa":
            assert step.serial is not None
            issued = sts.get_session_token(
                client, duration=settings.mfa_duration, serial=step.serial,
                code=self._code(step.serial, plan.name, codes), caller=caller)
            role_name, session_name_used, role_arn = step.label, "", ""
        else:
            role = step.role
            assert role is not None
            seconds = requested or role.duration or settings.duration or DEFAULT_DURATION
            if requested is None:
                if step.chained:
                    seconds = min(seconds, CHAIN_CAP)
                if role.max_duration:
                    seconds = min(seconds, role.max_duration)
            if parent is not None:
                left = int(parent.seconds_left(now))
                if left < seconds:
                    if requested:
                        notes.append(f"{role.name} capped at {format_duration(left)}: a chained "
                                     f"session never outlives its parent ({parent.role})")
                    seconds = max(min(left, seconds), MIN_DURATION)
            session_name_used = session_names.resolve(
                session_name, role.session_name or settings.session_name, role.name)
            issued = sts.assume_role(
                client, role_arn=role.role_arn, session_name=session_name_used,
                duration=seconds, external_id=external_id or role.external_id,
                serial=step.serial,
                code=self._code(step.serial, plan.name, codes) if step.serial else None,
                caller=caller)
            role_name, role_arn = role.name, role.role_arn
        if issued.server_time is not None:
            skew = issued.server_time.timestamp() - time.time()  # the system clock's error
            self.cache.clock_skew = skew if abs(skew) >= SKEW_NOISE else 0.0
            if abs(skew) > SKEW_WARNING:
                notes.append(f"the local clock differs from STS by {int(skew)}s (countdowns "
                             "are corrected); signatures fail at 15 minutes: sync the clock")
        return Session(
            key=step.key, role=role_name, kind=step.kind, arn=issued.arn,
            expires_at=issued.credentials.expiration,
            issued_at=datetime.fromtimestamp(now, UTC), session_name=session_name_used,
            role_arn=role_arn, parent=parent.key if parent else None,
            region=step.role.region if step.role else plan.base.region,
            credentials=issued.credentials,
        )
