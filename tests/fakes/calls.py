"""What every fake records and how it throttles: a call log and a rate limiter."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict, deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.clock import Clock

# Request fields that hold secrets: kept for assertions, never shown by repr().
SENSITIVE = frozenset({
    "clientSecret", "deviceCode", "refreshToken", "accessToken", "codeVerifier", "code",
    "Session", "SigninToken", "sessionKey", "sessionToken",
})


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<redacted>" if k in SENSITIVE else redact(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Call:
    """One request a fake answered."""

    service: str
    operation: str
    params: dict[str, Any]
    credential: str | None  # the bearer token, access key id or client id used
    time: float  # the fake's clock when it arrived
    status: int = 200
    error: str | None = None  # the error code answered, if any

    def __repr__(self) -> str:  # never a secret on a failing assert
        cred = None if self.credential is None else f"{self.credential[:4]}..."
        return (f"Call({self.service}.{self.operation} {redact(self.params)!r} "
                f"cred={cred} status={self.status} error={self.error})")


@dataclass
class CallLog:
    """Thread-safe list of :class:`Call`; ``log.count("ListAccounts")``, ``log.ops()``."""

    _calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def __iter__(self) -> Iterator[Call]:
        with self._lock:
            return iter(list(self._calls))

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def __getitem__(self, index: int) -> Call:
        with self._lock:
            return self._calls[index]

    def of(self, operation: str) -> list[Call]:
        return [c for c in self if c.operation == operation]

    def count(self, operation: str | None = None, *, ok: bool | None = None) -> int:
        return sum(1 for c in self if (operation is None or c.operation == operation)
                   and (ok is None or (c.error is None) == ok))

    def ops(self) -> list[str]:
        return [c.operation for c in self]

    def errors(self) -> Counter[str]:
        return Counter(c.error for c in self if c.error)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


class Throttle:
    """Decides which calls get the service's throttling error.

    ``tps``: at most this many admitted calls per key in any one-second window of the
    fake's clock (rejected calls do not count, like a token bucket); ``every``: every
    Nth call is rejected; ``fail_next(n)``: the next n calls are rejected.
    """

    def __init__(self, clock: Clock, tps: float | None = None, every: int | None = None):
        self.clock = clock
        self.tps = tps
        self._every = every
        self._next = 0
        self._seen = 0
        self._windows: dict[Hashable, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    @property
    def every(self) -> int | None:
        return self._every

    @every.setter
    def every(self, n: int | None) -> None:
        """Reject every nth call from now on (counting restarts)."""
        with self._lock:
            self._every, self._seen = n, 0

    def fail_next(self, n: int = 1) -> None:
        with self._lock:
            self._next += n

    def reset(self) -> None:
        with self._lock:
            self.tps = self._every = None
            self._next = self._seen = 0
            self._windows.clear()

    def admit(self, key: Hashable = None) -> bool:
        with self._lock:
            self._seen += 1
            if self._next > 0:
                self._next -= 1
                return False
            if self._every and self._seen % self._every == 0:
                return False
            if self.tps is not None:
                now = self.clock()
                window = self._windows[key]
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= self.tps:
                    return False
                window.append(now)
            return True
