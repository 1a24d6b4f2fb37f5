"""The assumption engine: reuse cached hops of a plan, call STS for the rest.

Plans and the checks made before STS live in :mod:`profiles.sessions.plan`. Freshness is
judged by the local clock (the caller's); the skew STS's ``Date`` header shows is
measured on every call and corrects displayed countdowns only.

Safe under many threads (``run``, ``serve`` and the board share one engine): botocore
sessions are per thread (:mod:`profiles.sessions.sts`), the index and keyring are written
under their locks, and one assumption per cache key runs at a time, so targets sharing
a parent hop assume it once. Every STS call is journaled (:mod:`profiles.ops.journal`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from profiles.config.inventory import Inventory
from profiles.durations import CHAIN_CAP, MAX_DURATION, MIN_DURATION
from profiles.errors import AwsError, UsageError
from profiles.model import Role, Session
from profiles.sessions import fastpath, mfa, sso_step
from profiles.sessions import names as session_names
from profiles.sessions.acting import Acting
from profiles.sessions.ask import Ask, matches
from profiles.sessions.cache import SessionCache
from profiles.sessions.calling import Calling
from profiles.sessions.plan import (  # noqa: F401 - re-exported: the engine's vocabulary
    DEFAULT_DURATION,
    MfaCodes,
    MfaPrompt,
    Plan,
    Result,
    Step,
    _key,
    check_mfa_code,
    explicit_duration,
    mfa_codes,
    plan_of,
)


class Engine(Acting, Calling):
    """Plans, caches and performs assumptions; one engine may serve many threads."""

    def __init__(self, inventory: Inventory, cache: SessionCache, *,
                 clock: Callable[[], float] = time.time,
                 mfa_prompt: MfaPrompt | None = None, via: str = "cli") -> None:
        self.cache = cache
        self.clock = clock
        self.mfa_prompt = mfa_prompt
        self.via = via  # who asked, for the journal: cli, board, run, serve, process
        self.sign_in = None  # an IAM Identity Center sign-in this caller may start (signin)
        self._acting = threading.local()  # a per-call ``via`` (see acting_as)
        self._guard = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._made: dict[str, int] = {}  # sessions made per key (under its lock)
        self._plans: dict[str, Plan] = {}  # of this inventory (see use())
        self.use(inventory)

    def use(self, inventory: Inventory) -> None:
        """Plan from ``inventory`` from now on (a long-lived process following edits);
        calls under way finish with the one they started with."""
        cfg, cat, sso = inventory.config_file, inventory.catalog_file, inventory.sso_file
        stamp = fastpath.stamp(*(str(f) if f else None for f in (cfg, cat, sso)))
        with self._guard:
            self.inventory, self._plans, self.stamp = inventory, {}, stamp

    # -- planning -------------------------------------------------------------------------

    def plan(self, name: str) -> Plan:
        plans = self._plans  # before the inventory: use() replaces it after (no old plan
        if (known := plans.get(name)) is not None:  # lands among the new inventory's)
            return known
        plan = plans[name] = plan_of(self.inventory, name)
        return plan

    def needs_mfa(self, name: str) -> str | None:
        """The first MFA serial a fresh assumption of ``name`` would prompt for, if any."""
        return next(iter(self.mfa_serials(name)), None)

    def mfa_serials(self, name: str) -> list[str]:
        """Every MFA serial a fresh assumption of ``name`` would prompt for, in order (a
        device whose codes a command supplies is never prompted for)."""
        out: list[str] = []
        plan = self.plan(name)
        for step in plan.steps:
            if step.serial and step.serial not in out and mfa.source(plan, step.serial) is None \
                    and self._usable(step, self._threshold(step, last=False)) is None:
                out.append(step.serial)  # a code from mfa_process or the hook is not asked
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
        if step.kind == "sso":  # the permission set decides; what a renewal may give
            return DEFAULT_DURATION
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
               min_left: float = 0, via: str | None = None) -> Result:
        """The session of ``name``: cached if it is fresh, matches every explicit option
        and (with ``min_left``) lasts that long when a new one could; else new. ``via``
        names the path in the journal for this call (default: the engine's)."""
        plan = self.plan(name)
        last = plan.steps[-1]
        assert last.role is not None
        if last.kind == "sso":
            sso_step.check_options(name, duration, session_name, external_id)
        ask = Ask(explicit_duration(duration, last.role, last.chained), session_name,
                  external_id or None, min_left)
        if session_name is not None:
            session_names.resolve(session_name, "{unix}", name)
        codes = mfa_codes(plan, mfa_code)
        with self.acting_as(via):
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
        with self._lock(step.key):
            session = self._call(Plan(role.name, plan.base, (*plan.steps, step)), step,
                                 parent, ask, {}, notes)
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
            threshold = self._threshold(step, is_last, need)
            hop_ask = ask if is_last else None
            session = None if force else self._usable(step, threshold, hop_ask)
            fresh = session is None
            if fresh:
                session, fresh = self._assume_step(plan, step, parent, hop_ask, threshold,
                                                   force, codes, notes)
            cached.append(not fresh)
            hops.append(session)
            parent = session
        return Result(hops[-1], hops, cached, notes + self._notes())

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._key_locks.setdefault(key, threading.Lock())

    def _assume_step(self, plan: Plan, step: Step, parent: Session | None,
                     ask: Ask | None, threshold: float, force: bool, codes: dict[str, str],
                     notes: list[str]) -> tuple[Session, bool]:
        """A new session for ``step``, one thread per cache key at a time: a thread that
        waited takes the session the one before it made (fresh enough; for a forced
        renewal, made while it waited) instead of calling STS again. Returns the session
        and whether this call made it."""
        made_before = self._made.get(step.key, 0)
        with self._lock(step.key):
            if not force or self._made.get(step.key, 0) != made_before:
                made = self._usable(step, threshold, ask)
                if made is not None:
                    return made, False
            session = self._call(plan, step, parent, ask or Ask(), codes, notes)
            self.cache.put(session, self.stamp, self.inventory.settings.refresh_window)
            self._made[step.key] = self._made.get(step.key, 0) + 1
            return session, True
