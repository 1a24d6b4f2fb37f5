"""What a run knows about each target while it runs and after: its state, final status,
exit code, times, session, error and the tail of its output; and the ``--json`` shape.

Statuses (see docs/architecture.md, Run across accounts): ``ok``, ``failed`` (shown ``failed (exit
N)``), ``assume failed``,
``timed out``, ``skipped``. A running target stopped by ``--fail-fast`` or Ctrl-C is
``failed`` with the exit status its signal gave (143 for SIGTERM, 137 for SIGKILL) and
an ``error`` saying why; one that never started is ``skipped``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from profiles.ops.run.targets import Target

OK, FAILED, ASSUME_FAILED, TIMED_OUT, SKIPPED = (
    "ok", "failed", "assume failed", "timed out", "skipped")
STATUSES = (OK, FAILED, ASSUME_FAILED, TIMED_OUT, SKIPPED)
QUEUED, ASSUMING, RUNNING, STOPPING = "queued", "assuming", "running", "stopping"
TAIL = 1 << 20  # the output kept per target: the last 1 MiB


class Tail:
    """The last ``limit`` bytes of a stream, and how many came in all."""

    def __init__(self, limit: int = TAIL) -> None:
        self.limit = limit
        self.total = 0  # bytes added since the start
        self._data = bytearray()

    def add(self, data: bytes) -> None:
        self._data += data
        self.total += len(data)
        if len(self._data) > 2 * self.limit:  # trimmed in batches: amortised O(1)
            del self._data[:len(self._data) - self.limit]

    def data(self) -> bytes:
        return bytes(self._data[-self.limit:])

    @property
    def dropped(self) -> int:
        """Bytes no longer kept (the stream's start)."""
        return self.total - min(len(self._data), self.limit)

    def since(self, offset: int) -> bytes:
        """What came after the first ``offset`` bytes (as far as it is still kept)."""
        kept = self.data()
        return kept[max(0, len(kept) - (self.total - offset)):] if offset < self.total else b""

    def text(self) -> str:
        return self.data().decode("utf-8", "replace")


@dataclass
class TargetResult:
    """One target's state (``queued`` .. ``stopping``) and, once done, its status."""

    target: Target
    state: str = QUEUED
    status: str | None = None
    exit_code: int | None = None
    session_name: str | None = None
    assumed_role_arn: str | None = None
    error: str | None = None
    started: float | None = None
    ended: float | None = None
    pid: int | None = None
    stopped: str | None = None  # why rolecall signalled it (fail-fast, Ctrl-C, timeout)
    output: Tail = field(default_factory=Tail)

    @property
    def done(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def finish(self, status: str, now: float, *, exit_code: int | None = None,
               error: str | None = None) -> None:
        self.exit_code, self.error = exit_code, error
        if self.started is None:
            self.started = now
        self.ended = now
        self.state = status
        self.status = status  # last: a reader seeing it sees the rest

    def seconds(self, now: float) -> float:
        if self.started is None:
            return 0.0
        return max(0.0, (self.ended if self.ended is not None else now) - self.started)

    @property
    def label(self) -> str:
        """The summary's status: ``failed (exit 3)``, or the state while it runs."""
        if self.status == FAILED and self.exit_code is not None:
            return f"failed (exit {self.exit_code})"
        return self.status or self.state

    def to_json(self) -> dict[str, object]:
        t = self.target
        return {
            "role": t.role, "account_id": t.account_id, "account_alias": t.account_alias,
            "status": self.status, "exit_code": self.exit_code,
            "seconds": round(self.seconds(self.ended or 0.0), 3),
            "session_name": self.session_name, "assumed_role_arn": self.assumed_role_arn,
            "error": self.error, "output": self.output.text(),
        }


def summary_json(results: list[TargetResult]) -> dict[str, object]:
    """``{"results": [...], "ok": N, "failed": N}``; ``failed`` counts every target that
    is not ``ok`` (failed, assume failed, timed out, skipped)."""
    ok = sum(r.ok for r in results)
    return {"results": [r.to_json() for r in results], "ok": ok, "failed": len(results) - ok}
