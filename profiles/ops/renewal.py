"""Renewal behind the credential endpoint (see docs/architecture.md, Credential endpoint): sessions
that outlive a run.

A request is answered from memory while the role's session has more than 16 minutes
left by the local clock (docs/architecture.md, Trust boundary: botocore re-fetches inside 15).
Under 20 minutes a
renewal starts in the background and the request still gets the current session. At 16
or less the request joins the role's renewal: one at a time per role (concurrent
requests wait for it, no stampede), in a thread of its own, as ``Engine.assume`` with
``min_left`` (every hop that needs it re-assumed from the cached MFA session or the base
identity; the engine's per-key locks keep one STS call per hop). A request waits a
bounded time (under botocore's 2-second timeout); if the renewal is still going, it gets
the current session while that is valid, else a 503 with what is awaited.

A renewal that needs an MFA code asks through an :class:`MfaDesk`: one question per
device at a time, asked in its own thread by the face's prompt (the terminal, the board,
a hook), waited for a bounded time. A code typed after that wait is kept for a minute
and starts the renewal itself, so the endpoint recovers without another prompt.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from profiles.config.follow import Follower
from profiles.durations import format_duration
from profiles.errors import AwsError, RolecallError, UsageError
from profiles.estate.tokens import LoginRequired
from profiles.model import Session
from profiles.sessions.engine import Engine, MfaPrompt, check_mfa_code
from profiles.sessions.fastpath import PROCESS_MIN_LEFT

MIN_LEFT = PROCESS_MIN_LEFT  # served from memory above this (botocore refreshes under 15m)
RENEW_AT = 20 * 60  # under this, renewed in the background while still served
STALE_MIN = 60  # while a renewal runs, a session with more than this left is still served
REQUEST_WAIT = 1.5  # seconds a request waits for a renewal (botocore gives up at 2)
FAILURE_HOLD = 5.0  # seconds a failed renewal's error is answered before trying again
EARLY_RETRY = 60.0  # seconds between background renewals of one role
PROMPT_TIMEOUT = 300.0  # seconds a renewal waits for an MFA code
CODE_KEEP = 60.0  # seconds a code typed after its renewal gave up is kept for the next


class MfaWanted(RolecallError):
    """A renewal needs an MFA code and has none: still awaited, not typed in time,
    cancelled, or there is nowhere to ask. The endpoint answers 503."""


@dataclass
class _Ask:
    serial: str
    role: str
    answered: threading.Event = field(default_factory=threading.Event)
    code: str | None = None
    error: RolecallError | None = None
    at: float = 0.0  # monotonic time of the answer


class MfaDesk:
    """The MFA codes renewals need, asked through ``prompt(serial, role)`` (called in a
    thread of the desk's: it may block as long as the face likes)."""

    def __init__(self, prompt: MfaPrompt, *, where: str = "where rolecall runs",
                 timeout: float = PROMPT_TIMEOUT, keep: float = CODE_KEEP,
                 on_answer: Callable[[str], None] | None = None) -> None:
        self.prompt = prompt
        self.where = where  # "in the board", "on the terminal running rolecall serve"
        self.timeout = timeout
        self.keep = keep
        self.on_answer = on_answer  # called with the role whose question was answered
        self._guard = threading.Lock()
        self._asks: dict[str, _Ask] = {}
        self._closed = False

    def pending(self) -> list[tuple[str, str]]:
        """``(serial, role)`` of every question still unanswered."""
        with self._guard:
            return [(a.serial, a.role) for a in self._asks.values() if not a.answered.is_set()]

    def __call__(self, serial: str, role: str) -> str:
        """The code for ``serial``: one typed lately, or asked now (joining a question
        already asked); raises :class:`MfaWanted` when none comes in time."""
        with self._guard:
            if self._closed:
                raise MfaWanted("the endpoint is stopping")
            ask = self._asks.get(serial)
            if ask is not None and ask.answered.is_set() and (
                    ask.code is None or time.monotonic() - ask.at > self.keep):
                ask = None  # a failed question, or a code too old to be current
            if ask is None:
                ask = self._asks[serial] = _Ask(serial, role)
                threading.Thread(target=self._ask, args=(ask,), daemon=True,
                                 name=f"mfa {serial}").start()
        if not ask.answered.wait(self.timeout):
            raise MfaWanted(f"no MFA code for {serial} came within "
                            f"{format_duration(int(self.timeout))}",
                            fix=f"type it {self.where}; the next request uses it")
        with self._guard:
            if self._asks.get(serial) is ask:
                del self._asks[serial]  # a code is used once
        if ask.code is None:
            raise ask.error or MfaWanted(f"the MFA prompt for {serial} was cancelled")
        return ask.code

    def _ask(self, ask: _Ask) -> None:
        try:
            ask.code = check_mfa_code(self.prompt(ask.serial, ask.role))
        except RolecallError as exc:
            ask.error = MfaWanted(exc.message, fix=exc.fix)
        except Exception:  # noqa: BLE001 - a face's prompt dismissed (the board's dialog)
            ask.error = MfaWanted(f"the MFA prompt for {ask.serial} was cancelled",
                                  fix=f"the next request asks again {self.where}")
        ask.at = time.monotonic()
        ask.answered.set()
        if ask.code is not None and self.on_answer is not None and not self._closed:
            self.on_answer(ask.role)

    def close(self) -> None:
        """No more questions; a face's prompt that can be cancelled is."""
        with self._guard:
            self._closed = True
            for ask in self._asks.values():  # renewals waiting on a question end now
                if not ask.answered.is_set():
                    ask.error = MfaWanted("the endpoint stopped")
                    ask.answered.set()
        cancel = getattr(self.prompt, "cancel", None)
        if cancel is not None:
            cancel()


@dataclass
class Event:
    """What the endpoint did, for the face to show (never a secret)."""

    kind: str  # renewed, failed, mfa, stale
    role: str
    detail: str = ""
    seconds_left: float = 0.0
    error: RolecallError | None = None  # a failure's own error (its words, no secret)


@dataclass
class _Flight:
    early: bool
    done: threading.Event = field(default_factory=threading.Event)
    session: Session | None = None
    error: RolecallError | None = None
    awaiting: str | None = None  # the MFA serial it waits on
    made: bool = False  # it called STS (not only the cache)
    generation: int = 0  # of the inventory it started with


class NotServed(UsageError):
    """A role this endpoint does not serve (unknown, broken, or not the exec's)."""


class Renewer:
    """Sessions for the endpoint's requests, renewed in time; shared by its threads."""

    def __init__(self, engine: Engine, desk: MfaDesk, *, roles: Collection[str] | None = None,
                 options: Mapping[str, dict] | None = None, wait: float = REQUEST_WAIT,
                 hold: float = FAILURE_HOLD,
                 on_event: Callable[[Event], None] | None = None,
                 follow: Follower | None = None) -> None:
        self.engine = engine
        self.follow = follow  # the files as they are now: edits reach every request
        self.desk = desk
        self.roles = set(roles) if roles is not None else None  # None: every configured role
        self.options = dict(options or {})  # per role: duration, session_name, external_id
        self.wait = wait
        self.hold = hold
        self.on_event = on_event
        self.clock = engine.clock
        self._guard = threading.Lock()
        self._last: dict[str, Session] = {}
        self._flights: dict[str, _Flight] = {}
        self._failed: dict[str, tuple[float, RolecallError]] = {}
        self._early_after: dict[str, float] = {}
        self._local = threading.local()
        self._generation = 0  # of the inventory: a renewal begun before an edit is dropped
        self.waiting: dict[str, int] = {}  # requests waiting per role (for the tests)
        engine.mfa_prompt = self._prompt
        if desk.on_answer is None:
            desk.on_answer = self.kick

    def _follow(self) -> None:
        """Take up the inventory as the files say now: a role whose plan changed (another
        ARN, source, external id...) or that is gone loses the session kept for it, so
        its next request gets a new one, or a 404."""
        if self.follow is None:
            return
        inventory = self.follow.current()  # a file that no longer parses: its error
        if inventory is self.engine.inventory:
            return
        with self._guard:
            if inventory is self.engine.inventory:
                return
            self.engine.use(inventory)
            self._generation += 1
            self._failed.clear()
            for name, session in list(self._last.items()):
                try:
                    key = self.engine.plan(name).steps[-1].key
                except RolecallError:
                    key = None
                if key != session.key:
                    del self._last[name]

    def check(self, name: str) -> None:
        """Raise :class:`NotServed` unless ``name`` is a role this endpoint serves."""
        self._follow()
        if self.roles is not None and name not in self.roles:
            raise NotServed(f"this endpoint serves only {', '.join(sorted(self.roles))}")
        if name not in self.engine.inventory.roles:
            try:
                self.engine.inventory.role(name)
            except UsageError as exc:
                raise NotServed(exc.message, fix=exc.fix) from None

    def seed(self, name: str, session: Session) -> None:
        """Serve ``session`` (just assumed by the face) until it needs renewing."""
        with self._guard:
            self._last[name] = session

    def get(self, name: str) -> Session:
        """The session to answer a request for ``name`` with (see docs/architecture.md, Trust
        boundary; Credential endpoint)."""
        self.check(name)
        with self._guard:
            last = self._last.get(name)
            left = last.seconds_left(self.clock()) if last else 0.0
            if left > MIN_LEFT:
                if left <= RENEW_AT and time.monotonic() >= self._early_after.get(name, 0):
                    self._early_after[name] = time.monotonic() + EARLY_RETRY
                    self._start(name, early=True)
                return last  # type: ignore[return-value]
            flight = self._flights.get(name)
            if flight is not None and flight.generation != self._generation:
                flight = None  # begun before an edit: its session is of the old config
            held = self._failed.get(name)
            if flight is None and held is not None and held[0] > time.monotonic():
                return self._fallback(name, last, held[1])
            if flight is None:
                flight = self._start(name, early=False)
            self.waiting[name] = self.waiting.get(name, 0) + 1
        try:
            valid = last is not None and last.seconds_left(self.clock()) > STALE_MIN
            if not (flight.awaiting and valid):  # awaiting a code: the valid one at once
                flight.done.wait(self.wait)
        finally:
            with self._guard:
                self.waiting[name] -= 1
        if flight.session is not None:
            return self._fresh(name, flight.session)
        if flight.error is not None:
            return self._fallback(name, last, flight.error)
        pending = flight.awaiting
        error = MfaWanted(f"waiting for the MFA code for {pending} ({name})",
                          fix=f"type it {self.desk.where}") if pending else \
            MfaWanted(f"renewing the session of {name}", fix="retry in a moment")
        return self._fallback(name, last, error)

    def _fresh(self, name: str, session: Session) -> Session:
        if session.seconds_left(self.clock()) <= 0:
            raise AwsError(f"the new session of {name} is already expired by the local clock",
                           fix="sync this machine's clock (timedatectl, chrony)")
        return session

    def _fallback(self, name: str, last: Session | None, error: RolecallError) -> Session:
        """The current session while it is still valid (see docs/architecture.md, Trust boundary),
        else the error. With
        none in memory, the cached one (assumed before the endpoint started)."""
        if last is None and not any(self.options.get(name, {}).values()):
            last = self._cached(name)
        if last is not None and (left := last.seconds_left(self.clock())) > STALE_MIN:
            self._emit(Event("stale", name, error.message, left))
            return last
        raise error

    def _cached(self, name: str) -> Session | None:
        try:
            session = self.engine.cache.get(self.engine.plan(name).steps[-1].key)
        except RolecallError:
            return None
        return session if session is not None and session.credentials is not None else None

    def kick(self, name: str) -> None:
        """Renew ``name`` now unless a renewal runs (a late MFA code came)."""
        with self._guard:
            if name not in self._flights:
                self._failed.pop(name, None)
                self._start(name, early=False)

    def _start(self, name: str, early: bool) -> _Flight:
        flight = self._flights[name] = _Flight(early, generation=self._generation)
        threading.Thread(target=self._fly, args=(name, flight), daemon=True,
                         name=f"renew {name}").start()
        return flight

    def _fly(self, name: str, flight: _Flight) -> None:
        self._local.flight = flight
        try:
            result = self.engine.assume(name, min_left=RENEW_AT if flight.early else MIN_LEFT,
                                        **self.options.get(name, {}))
            flight.session, flight.made = result.session, not all(result.cached)
        except RolecallError as exc:
            flight.error = exc
        except Exception as exc:  # noqa: BLE001 - the requests waiting get it as a 500
            flight.error = RolecallError(f"internal error: {type(exc).__name__}: {exc}",
                                         fix="run the command with --debug and report it")
        with self._guard:
            if flight.session is not None and flight.generation == self._generation:
                self._last[name] = flight.session
                self._failed.pop(name, None)
            elif flight.error is not None and not isinstance(flight.error, LoginRequired) \
                    and flight.generation == self._generation:
                # (a login is a person's to mend, as an MFA code: the next request tries
                # again at once, and finds no token without any call)
                self._failed[name] = (time.monotonic() + self.hold, flight.error)
            if self._flights.get(name) is flight:
                del self._flights[name]
        flight.done.set()
        if flight.session is not None:
            if flight.made:
                self._emit(Event("renewed", name, flight.session.arn,
                                 flight.session.seconds_left(self.clock())))
        elif flight.error is not None:
            self._emit(Event("failed", name, str(flight.error), error=flight.error))

    def _prompt(self, serial: str, role: str) -> str:
        """The engine's MFA prompt while it renews: the desk, the flight marked meanwhile."""
        flight = getattr(self._local, "flight", None)
        if flight is not None:
            flight.awaiting = serial
        self._emit(Event("mfa", role, serial))
        try:
            return self.desk(serial, role)
        finally:
            if flight is not None:
                flight.awaiting = None

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            with contextlib.suppress(Exception):  # a face's display never stops a renewal
                self.on_event(event)

    def close(self) -> None:
        self.desk.close()
