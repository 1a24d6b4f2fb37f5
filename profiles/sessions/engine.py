"""The assumption engine: plan a role's chain, reuse cached hops, call STS for the rest.

A chain is planned as steps from the base identity to the target: an optional MFA
session (``GetSessionToken``, session mode), then one ``AssumeRole`` per role. Every
step has a cache key built from its assume parameters, its profile's name (each
profile's sessions are its own) and its parent's key, never from the generated session
name: roles whose chains share a hop share that hop's session. Everything checkable is
checked before STS is called.

Freshness is judged by the local clock (the caller's); the skew STS's ``Date`` header
shows is measured on every call and corrects displayed countdowns only.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
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
from profiles.sessions.ask import Ask, digest, matches
from profiles.sessions.cache import SessionCache

DEFAULT_DURATION = 3600
SKEW_WARNING = 300
SKEW_NOISE = 2  # the Date header has 1 s resolution, plus latency
MfaPrompt = Callable[[str, str], str]
# One code for the first device that needs one, or codes by MFA serial (a chain may
# have a device on more than one hop, as botocore prompts once per hop).
MfaCodes = str | Mapping[str, str] | None


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
                      role.mfa_serial if direct else "", role.name)  # role.name: per profile
        steps.append(Step("role", parent, role.name, role=role,
                          serial=role.mfa_serial if direct else None,
                          chained=bool(steps)))
    return Plan(name, base, tuple(steps))


def mfa_codes(plan: Plan, given: MfaCodes) -> dict[str, str]:
    """Codes by serial (``""``: the first device asked for), each checked."""
    if given is None:
        return {}
    if isinstance(given, str):
        return {"": check_mfa_code(given)}
    serials = {step.serial for step in plan.steps if step.serial}
    for serial in given:
        if serial and serial not in serials:
            raise UsageError(f"{plan.name} has no MFA device {serial!r} in its chain",
                             fix="devices: " + (", ".join(sorted(serials)) or "none"))
    return {serial: check_mfa_code(code) for serial, code in given.items()}


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
            if step.serial and self._usable(step, self._threshold(step, last=False)) is None:
                return step.serial
        return None

    def mfa_serials(self, name: str) -> list[str]:
        """Every MFA serial a fresh assumption of ``name`` would prompt for, in order."""
        out: list[str] = []
        for step in self.plan(name).steps:
            if step.serial and step.serial not in out and \
                    self._usable(step, self._threshold(step, last=False)) is None:
                out.append(step.serial)
        return out

    def max_duration(self, name: str) -> int:
        """The longest duration ``name`` may be asked for."""
        step = self.plan(name).steps[-1]
        role = step.role
        assert role is not None
        limit = role.max_duration or MAX_DURATION
        return min(limit, CHAIN_CAP) if step.chained else limit

    # -- cache ----------------------------------------------------------------------------

    def _duration(self, step: Step, requested: int | None = None) -> int:
        """Seconds a new session for ``step`` would be asked for (before a parent caps it)."""
        settings = self.inventory.settings
        if step.kind == "mfa":
            return settings.mfa_duration
        role = step.role
        assert role is not None
        seconds = requested or role.duration or settings.duration or DEFAULT_DURATION
        if requested is None:
            if step.chained:
                seconds = min(seconds, CHAIN_CAP)
            if role.max_duration:
                seconds = min(seconds, role.max_duration)
        return seconds

    def _threshold(self, step: Step, last: bool, need: float = 0) -> float:
        """Seconds a cached session of ``step`` must have left to be reused. A parent needs
        15 minutes (the shortest child STS grants), and, when the target must last
        ``need`` seconds, that much too if a renewal gives more and asks for no MFA code."""
        window = self.inventory.settings.refresh_window
        if last:
            return max(window, need)
        floor = max(window, MIN_DURATION)
        if need > floor and not step.serial and self._duration(step) > need:
            return need
        return floor

    def _need(self, step: Step, ask: Ask) -> float:
        """How long the target must last: ``ask.min_left`` if a new session would last
        longer (else the best available is whatever a renewal gives)."""
        if ask.min_left and self._duration(step, ask.duration) > ask.min_left:
            return ask.min_left
        return 0

    def _usable(self, step: Step, threshold: float, ask: Ask | None = None,
                index: dict | None = None) -> Session | None:
        """The cached session of ``step`` if it has more than ``threshold`` seconds left by
        the local clock and matches what ``ask`` asks for explicitly."""
        session = self.cache.get(step.key, index)
        if session is None or session.seconds_left(self.clock()) <= threshold:
            return None
        if ask is not None and not matches(session, ask):
            return None
        return session

    def now(self) -> float:
        """STS's idea of now, for display only: the local clock corrected by the skew the
        last STS call measured. Freshness is always judged by :attr:`clock`."""
        return self.clock() + self.cache.clock_skew

    def cached(self, name: str, min_left: float = 0) -> Session | None:
        """The target's cached session if it is fresh enough to reuse."""
        step = self.plan(name).steps[-1]
        return self._usable(step, self._threshold(step, True, self._need(step, Ask(
            min_left=min_left))))

    def session_for(self, name: str) -> Session | None:
        """The target's indexed session (no secrets), fresh or not, for display."""
        key = self.plan(name).steps[-1].key
        return next((s for s in self.cache.sessions() if s.key == key), None)

    def _notes(self) -> list[str]:
        warning = self.cache.take_warning()
        return [warning] if warning else []

    def _region(self, plan: Plan, step: Step) -> str | None:
        return step.role.region if step.role else plan.base.region

    # -- assumption -----------------------------------------------------------------------

    def assume(self, name: str, *, duration: str | int | None = None,
               session_name: str | None = None, external_id: str | None = None,
               mfa_code: MfaCodes = None, refresh: bool = False,
               min_left: float = 0) -> Result:
        """The session of ``name``: cached if it is fresh, matches every explicit option
        and (with ``min_left``) lasts that long when a new one could; else new."""
        plan = self.plan(name)
        last = plan.steps[-1]
        assert last.role is not None
        ask = Ask(explicit_duration(duration, last.role, last.chained), session_name,
                  external_id or None, min_left)
        if session_name is not None:
            session_names.resolve(session_name, "{unix}", name)
        codes = mfa_codes(plan, mfa_code)
        try:
            return self._run(plan, ask, codes, refresh)
        except AwsError as exc:
            if "run with --refresh" not in (exc.fix or "") or refresh:
                raise
            # A cached parent was revoked or expired behind our back: renew once.
            return self._run(plan, ask, codes, True, renew_parents=True)

    def assume_adhoc(self, source: str, role: Role, *, duration: str | int | None = None,
                     session_name: str | None = None,
                     external_id: str | None = None) -> Result:
        """A new session of ``role`` (one the config does not name) assumed from the fresh
        cached session of role ``source``: role chaining, so at most 1 hour. It is cached
        under ``role.name``, with ``source``'s session as its parent."""
        if role.name in self.inventory.roles:
            raise UsageError(f"{role.name!r} names a configured role; an ad-hoc chain needs "
                             "another label", fix="assume that role by its name instead")
        plan = self.plan(source)
        parent = self.cached(source)
        if parent is None:
            raise UsageError(f"{source} has no active session to chain from",
                             fix=f"assume {source} first")
        ask = Ask(explicit_duration(duration, role, chained=True), session_name,
                  external_id or None)
        if session_name is not None:
            session_names.resolve(session_name, "{unix}", role.name)
        step = Step("role", _key("chain", parent.key, role.role_arn, external_id or "",
                                 role.name), role.name, role=role, chained=True)
        notes: list[str] = []
        session = self._call(Plan(role.name, plan.base, (*plan.steps, step)), step, parent,
                             ask, {}, notes)
        self.cache.put(session, self.stamp, self.inventory.settings.refresh_window)
        return Result(session, [parent, session], [True, False], notes + self._notes())

    def _warm(self, plan: Plan, target: Session, index: dict) -> Result:
        """A warm hit: the target alone is enough; parents are shown from the index. The
        index entry is brought up to the profile as configured now (stamp, refresh window,
        region) so the fast path serves it again after a config edit."""
        entry = index["sessions"].get(target.key, {})
        window, region = self.inventory.settings.refresh_window, self._region(plan, plan.steps[-1])
        if (entry.get("stamp"), entry.get("refresh_window"), entry.get("region")) != (
                self.stamp, window, region):
            self.cache.restamp(target.key, self.stamp, window, region)
            target = replace(target, region=region)
        hops = [s for step in plan.steps[:-1] if (s := self.cache.indexed(step.key, index))]
        return Result(target, [*hops, target], [True] * (len(hops) + 1), self._notes())

    def _run(self, plan: Plan, ask: Ask, mfa_codes: dict[str, str], refresh: bool,
             renew_parents: bool = False) -> Result:
        last = plan.steps[-1]
        need = self._need(last, ask)
        if not refresh:
            index = self.cache.read_index()
            target = self._usable(last, self._threshold(last, True, need), ask, index)
            if target is not None:
                return self._warm(plan, target, index)
        hops: list[Session] = []
        cached: list[bool] = []
        notes: list[str] = []
        parent: Session | None = None
        codes = dict(mfa_codes)
        for index, step in enumerate(plan.steps):
            is_last = index == len(plan.steps) - 1
            force = (refresh and is_last) or (renew_parents and not is_last)
            session = None if force else self._usable(
                step, self._threshold(step, is_last, need), ask if is_last else None)
            if session is None:
                session = self._call(plan, step, parent, ask if is_last else Ask(), codes,
                                     notes)
                self.cache.put(session, self.stamp, self.inventory.settings.refresh_window)
                cached.append(False)
            else:
                cached.append(True)
            hops.append(session)
            parent = session
        return Result(hops[-1], hops, cached, notes + self._notes())

    def _code(self, serial: str, name: str, codes: dict[str, str]) -> str:
        """The code for ``serial``: given for it, or the one unnamed code (used once)."""
        code = codes.get(serial) or codes.pop("", None)
        if code:
            return code
        if self.mfa_prompt is None:
            raise UsageError(f"{name} needs an MFA code for {serial}",
                             fix="pass --mfa-code 123456 (the device's current code)")
        return check_mfa_code(self.mfa_prompt(serial, name))

    def _client(self, plan: Plan, parent: Session | None):
        """The STS client for the next hop: signed by the parent hop's session, or by the
        base identity for the first; made as botocore makes it for the plan's target."""
        from profiles.sessions import sts

        target = plan.steps[-1].role
        assert target is not None
        return sts.client(self.inventory, target.name, target.region,
                          parent.credentials if parent else None, plan.base)

    def _call(self, plan: Plan, step: Step, parent: Session | None, ask: Ask,
              codes: dict[str, str], notes: list[str]) -> Session:
        from profiles.sessions import sts  # botocore: only when STS is called (not on hits)

        now = self.now()
        settings = self.inventory.settings
        caller = parent.arn if parent and parent.kind == "role" else plan.base.label
        client = self._client(plan, parent)
        seconds = self._duration(step, ask.duration)
        if step.kind == "mfa":
            assert step.serial is not None
            issued = sts.get_session_token(
                client, duration=seconds, serial=step.serial,
                code=self._code(step.serial, plan.name, codes), caller=caller)
            role_name, session_name_used, role_arn = step.label, "", ""
            params: dict[str, object] = {"duration": seconds}
        else:
            role = step.role
            assert role is not None
            if parent is not None:
                left = int(parent.seconds_left(now))  # both instants are STS's: skewed now
                if left < seconds:
                    if ask.duration:
                        notes.append(f"{role.name} capped at {format_duration(left)}: a chained "
                                     f"session never outlives its parent ({parent.role})")
                    seconds = max(min(left, seconds), MIN_DURATION)
            template = ask.session_name or role.session_name or settings.session_name
            # An explicit name (flag, then the role's own setting) is sent as written;
            # a template is rendered and sanitised.
            session_name_used = session_names.resolve(
                ask.session_name if ask.session_name is not None else role.session_name,
                settings.session_name, role.name)
            external_id = ask.external_id or role.external_id
            issued = sts.assume_role(
                client, role_arn=role.role_arn, session_name=session_name_used,
                duration=seconds, external_id=external_id, serial=step.serial,
                code=self._code(step.serial, plan.name, codes) if step.serial else None,
                caller=caller, role=plan.name)
            role_name, role_arn = role.name, role.role_arn
            params = {"duration": seconds, "requested": ask.duration, "template": template,
                      "external_id": digest(external_id)}
        if issued.server_time is not None:  # measured on every call, 0 when clocks agree
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
            region=self._region(plan, step), credentials=issued.credentials, params=params,
        )
