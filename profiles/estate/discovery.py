"""Discovery: every account and role an IAM Identity Center session reaches, listed with
``ListAccounts`` and ``ListAccountRoles`` (every page of each) and kept in the roster.

Peers break at 50 to 200 accounts on the portal's rate limit; here every call passes
one limiter shared by the workers — at most ``RATE`` calls in any second as the portal
sees them, a few workers so the portal's latency does not set the pace — and botocore's
own retries are off, so no retry escapes the count. A throttled call (``TooManyRequestsException``)
pauses every worker, then is tried again with exponential back-off and jitter.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from profiles.config.sso_roles import SsoSession
from profiles.errors import AwsError
from profiles.estate import roster
from profiles.estate.tokens import LoginRequired, TokenStore, usable

RATE = 10  # calls per second, at most (see docs/architecture.md, IAM Identity Center)
WORKERS = 4
PAGE = 100  # the portal's largest page
BACKOFF = 0.5  # first back-off after a throttled call; doubled each time, to CAP
CAP = 8.0
TRIES = 8
THROTTLED = ("TooManyRequestsException", "ThrottlingException", "Throttling")
Progress = Callable[[int, int], None]  # (accounts listed, accounts found so far)


class Limiter:
    """At most ``rate`` calls in any ``period`` seconds across threads, counted from
    when each call *finished* (and every call in flight counts): the portal, which sees a
    call between its start and its end, never sees more than ``rate`` in a second,
    whatever the latency. ``pause`` holds every caller back (after a throttle). Clock and
    sleep are injectable."""

    def __init__(self, rate: int = RATE, period: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = time.sleep) -> None:
        self.rate, self.period, self.clock, self.sleep = rate, period, clock, sleep
        self._done: deque[float] = deque()  # when recent calls finished
        self._running = 0
        self._resume = 0.0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a slot, hold it for one call."""
        self._acquire()
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._done.append(self.clock())
                self._cond.notify_all()

    def _acquire(self) -> None:
        while True:
            with self._cond:
                now = self.clock()
                while self._done and self._done[0] <= now - self.period:
                    self._done.popleft()
                delay = self._resume - now
                if delay <= 0:
                    if self._running + len(self._done) < self.rate:
                        self._running += 1
                        return
                    if not self._done:  # every slot is in flight: wait for one to end
                        self._cond.wait(1.0)
                        continue
                    delay = self._done[0] + self.period - now
            self.sleep(max(delay, 0.001))

    def pause(self, seconds: float) -> None:
        with self._cond:
            self._resume = max(self._resume, self.clock() + seconds)


def _code(exc: Exception) -> str | None:
    # lazy: botocore only once the portal is called (`list` checks staleness without it)
    from profiles.estate.clients import error_code

    return error_code(exc)


class Lister:
    """The paged calls of one sync, paced by a limiter, retried when throttled."""

    def __init__(self, session: SsoSession, access_token: str, limiter: Limiter,
                 page: int = PAGE, rng: random.Random | None = None) -> None:
        self.session = session
        self.page = page
        self.token = access_token
        self.limiter = limiter
        self.rng = rng or random.Random()
        from profiles.estate import clients  # botocore: only when the portal is called

        self.client = clients.bearer("sso", session.region, attempts=1, pool=WORKERS + 2)
        self.calls = 0
        self.throttled = 0
        self._count = threading.Lock()

    def _call(self, operation: str, **params) -> dict:
        for attempt in range(TRIES):
            with self._count:
                self.calls += 1
            try:
                with self.limiter.slot():
                    return getattr(self.client, operation)(accessToken=self.token, **params)
            except Exception as exc:  # noqa: BLE001 - every failure becomes one line
                code = _code(exc)
                if code in THROTTLED and attempt < TRIES - 1:
                    with self._count:
                        self.throttled += 1
                    delay = min(CAP, BACKOFF * 2 ** attempt)
                    self.limiter.pause(delay * (0.5 + self.rng.random() / 2))
                    continue
                raise self._failure(exc, code, operation) from None
        raise AssertionError("unreachable")

    def _failure(self, exc: Exception, code: str | None, operation: str) -> AwsError:
        name = self.session.name
        if code == "UnauthorizedException":
            return LoginRequired(name, "is no longer logged in (the portal refused the token)",
                                 code=code)
        if code in THROTTLED:
            error = AwsError(f"{operation} for {name!r}: still throttled after {TRIES} tries",
                             fix="try `rolecall sso sync` again in a minute")
        elif code is None:
            error = AwsError(f"the IAM Identity Center portal ({self.session.region}) is "
                             f"unreachable: {exc}", fix="check the network and sso_region")
        else:
            message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
            error = AwsError(f"{operation} for {name!r} failed: {code}: {message}")
        error.code = code
        return error

    def pages(self, operation: str, key: str, **params) -> list[dict]:
        items: list[dict] = []
        token = None
        while True:
            extra = {"nextToken": token} if token else {}
            answer = self._call(operation, maxResults=self.page, **params, **extra)
            items += [i for i in answer.get(key, []) if isinstance(i, dict)]
            token = answer.get("nextToken")
            if not token:
                return items


def sync(session: SsoSession, access_token: str, *, limiter: Limiter | None = None,
         workers: int = WORKERS, progress: Progress | None = None, page: int = PAGE,
         clock: Callable[[], float] = time.time) -> tuple[roster.Found, Lister]:
    """List every account and role of ``session``; the listing and how it went. After
    a failure no new account is started; the first failure is raised."""
    lister = Lister(session, access_token, limiter or Limiter(), page)
    accounts = [a for a in (roster.listed(e.get("accountId"), e.get("accountName"), ())
                            for e in lister.pages("list_accounts", "accountList"))
                if a is not None]
    accounts = list({a.account_id: a for a in accounts}.values())
    done = 0
    lock = threading.Lock()
    if progress is not None:
        progress(0, len(accounts))

    failed = threading.Event()

    def roles(account: roster.Listed) -> roster.Listed | None:
        nonlocal done
        if failed.is_set():
            return None
        try:
            found = lister.pages("list_account_roles", "roleList",
                                 accountId=account.account_id)
        except BaseException:
            failed.set()
            raise
        listed = roster.listed(account.account_id, account.name,
                               [r.get("roleName") for r in found])
        with lock:
            done += 1
            if progress is not None:
                progress(done, len(accounts))
        assert listed is not None
        return listed

    with ThreadPoolExecutor(max_workers=max(1, workers),
                            thread_name_prefix="rolecall-sso") as pool:
        listed = list(pool.map(roles, accounts))
    return roster.Found(session.start_url, clock(), tuple(a for a in listed if a)), lister


def record(file: Path, session: SsoSession, found: roster.Found) -> None:
    roster.save(file, session.name, found)


def stale(sessions: dict[str, SsoSession], ttl: int, now: float) -> list[SsoSession]:
    """Sessions whose roles were never listed, or longer ago than ``ttl`` (0: never
    automatically)."""
    return [s for s in sessions.values()
            if s.synced_at is None or (ttl > 0 and now - s.synced_at > ttl)]


def run(inv, cache, session: SsoSession, *, progress: Progress | None = None,
        limiter: Limiter | None = None, page: int = PAGE,
        clock: Callable[[], float] = time.time) -> tuple[roster.Found, Lister]:
    """Sync ``session`` with its usable token (raises LoginRequired) into the roster."""
    token = usable(session, TokenStore.of(cache), clock())
    found, lister = sync(session, token.access_token, limiter=limiter, progress=progress,
                         page=page, clock=clock)
    record(inv.sso_file or roster.path(), session, found)
    return found, lister
