"""The fan-out: each target assumed (cache first) and its command run in a process of
its own, at most ``parallel`` at a time, from one shared workspace (the engine is safe
under many threads: targets sharing a parent hop assume it once).

Each child gets the role's environment (see docs/architecture.md, Command-line contract) plus
``ROLECALL_ACCOUNT_ID`` and
``ROLECALL_ACCOUNT_ALIAS`` and nothing of any other target; stdin is /dev/null; stdout
and stderr are one pipe, read line by line. Every child leads a session of its own, so
the terminal's Ctrl-C reaches rolecall alone and rolecall signals the child's whole
process group: SIGTERM, then SIGKILL after ``grace`` seconds. Credentials exist only in
the children's environments (and this process's memory).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from profiles.doors import children
from profiles.durations import format_duration
from profiles.errors import RolecallError
from profiles.ops.run.results import (
    ASSUME_FAILED,
    ASSUMING,
    FAILED,
    OK,
    RUNNING,
    SKIPPED,
    STOPPING,
    TIMED_OUT,
    TargetResult,
)
from profiles.ops.run.targets import Target, codes_for

GRACE = 10.0  # seconds between SIGTERM and SIGKILL
LINE_MAX = 64 * 1024  # a longer line is passed on in pieces of this size
LINGER = 1.0  # after the child exits, how long its pipe may stay open (a grandchild)
_TICK = 0.25  # how often a reader looks at its child while the pipe is quiet


class Events:
    """What a face hears from a run (called from worker threads; must not block long)."""

    def line(self, index: int, data: bytes) -> None:
        """One line of target ``index``'s output (newline included when it had one)."""

    def changed(self, index: int) -> None:
        """Target ``index`` changed state (or finished: its ``status`` is set)."""


class Runner:
    """Runs ``command`` for every target; ``start`` and ``wait``, or ``run``."""

    def __init__(self, ws, targets: list[Target], command: list[str], *, parallel: int = 8,
                 fail_fast: bool = False, timeout: float | None = None,
                 grace: float = GRACE, codes: Mapping[str, str] | None = None,
                 options: Mapping[str, object] | None = None, events: Events | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ws = ws
        self.command = list(command)
        self.results = [TargetResult(t) for t in targets]
        self.parallel = max(1, min(parallel, len(targets) or 1))
        self.fail_fast = fail_fast
        self.timeout = timeout
        self.grace = grace
        self.codes = dict(codes or {})
        self.options = dict(options or {})
        self.events = events or Events()
        self.clock = clock
        self.notes: list[str] = []  # the engine's notes, each once
        self.stop_reason: str | None = None
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen] = {}
        self._timers: list[threading.Timer] = []
        self._left = len(targets)
        self._done = threading.Event()
        self._held = contextlib.ExitStack()
        if not targets:
            self._done.set()

    # -- driving ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers and return at once. What the workers share is made here,
        once: the parsed AWS files before they start; the keyring backend (importing
        keyring takes ~0.2 s) while their first STS calls are in flight (a worker that
        needs it first waits on its lock)."""
        if self.results:
            self.ws.inventory.aws_files  # noqa: B018
            self._held.enter_context(self.ws.cache.secrets.held())  # one keyring connection
        pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="rolecall-run")
        for index in range(len(self.results)):
            pool.submit(self._guarded, index)
        pool.shutdown(wait=False)
        if self.results:
            with contextlib.suppress(Exception):  # a worker meets the same failure itself
                self.ws.cache.backend  # noqa: B018

    def wait(self, timeout: float | None = None) -> bool:
        """Whether every target is done (waiting up to ``timeout`` seconds)."""
        return self._done.wait(timeout)

    def run(self) -> list[TargetResult]:
        self.start()
        self.wait()
        return self.results

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def stop(self, reason: str) -> None:
        """Start nothing new; SIGTERM every running child, SIGKILL after the grace."""
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
            running = list(self._procs.items())
        for index, proc in running:
            self._terminate(index, proc, reason)

    def kill(self) -> None:
        """SIGKILL every running child now (a second Ctrl-C)."""
        self.stop("interrupted")
        with self._lock:
            for proc in self._procs.values():
                _signal_group(proc, signal.SIGKILL)

    # -- one target -------------------------------------------------------------------

    def _guarded(self, index: int) -> None:
        result = self.results[index]
        try:
            self._target(index, result)
        except BaseException as exc:  # noqa: BLE001 - a worker reports, never dies silently
            if not result.done:
                result.finish(FAILED, self.clock(),
                              error=f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self._changed(index)
            with self._lock:
                self._left -= 1
                last = self._left == 0
                if last:
                    for timer in self._timers:
                        timer.cancel()
            if last:
                self._held.close()
                self._done.set()

    def _changed(self, index: int) -> None:
        with contextlib.suppress(Exception):  # a face that went away must not stop a run
            self.events.changed(index)

    def _target(self, index: int, result: TargetResult) -> None:
        target = result.target
        if self.stop_reason is not None:
            result.finish(SKIPPED, self.clock(), error=self.stop_reason)
            return
        result.started = self.clock()
        result.state = ASSUMING
        self._changed(index)
        try:
            assumed = self.ws.assume(target.role, mfa_code=codes_for(target, self.codes),
                                     **self.options)
        except RolecallError as exc:
            result.finish(ASSUME_FAILED, self.clock(), error=str(exc))
            self._failed(target.role, ASSUME_FAILED)
            return
        session = assumed.session
        result.session_name, result.assumed_role_arn = session.session_name, session.arn
        with self._lock:
            self.notes.extend(n for n in assumed.notes if n not in self.notes)
        env = children.environ({**self.ws.environment(target.role, session),
                             "ROLECALL_ACCOUNT_ID": target.account_id,
                             "ROLECALL_ACCOUNT_ALIAS": target.account_alias or ""})
        with self._lock:  # under the lock: stop() sees every child that starts
            if self.stop_reason is not None:
                result.finish(SKIPPED, self.clock(), error=self.stop_reason)
                return
            try:
                proc = subprocess.Popen(
                    self.command, cwd=target.cwd, env=env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            except (OSError, ValueError) as exc:
                missing = isinstance(exc, FileNotFoundError | NotADirectoryError)
                reason = "command not found" if missing else \
                    getattr(exc, "strerror", None) or str(exc)
                result.finish(FAILED, self.clock(), exit_code=127 if missing else 126,
                              error=f"cannot run {self.command[0]!r}: {reason}")
                failed = True
            else:
                failed = False
                self._procs[index] = proc
        if failed:
            self._failed(target.role, FAILED)
            return
        result.pid, result.state = proc.pid, RUNNING
        self._changed(index)
        timer = None
        if self.timeout:
            timer = self._later(self.timeout, self._expire, index, proc)
        try:
            self._pump(index, result, proc)
            status = proc.wait()
        finally:
            if timer is not None:
                timer.cancel()
            with self._lock:
                self._procs.pop(index, None)
        code = 128 - status if status < 0 else status  # 128 + N: ended by signal N
        if result.stopped and result.stopped.startswith("timed out"):
            result.finish(TIMED_OUT, self.clock(), exit_code=code, error=result.stopped)
        elif code == 0:
            result.finish(OK, self.clock(), exit_code=0)
        else:
            result.finish(FAILED, self.clock(), exit_code=code,
                          error=f"stopped: {result.stopped}" if result.stopped else None)
        if not result.ok and not (result.stopped and result.status == FAILED):
            self._failed(target.role, result.label)

    def _pump(self, index: int, result: TargetResult, proc: subprocess.Popen) -> None:
        """Read the child's output line by line until the pipe closes, or until LINGER
        after the child exited (a grandchild it left behind may hold the pipe)."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        pending = b""
        exited_at = None
        poller = select.poll()  # not select(): a run with many targets may pass fd 1024
        poller.register(fd, select.POLLIN)
        try:
            while True:
                ready = poller.poll(_TICK * 1000)
                if not ready:
                    if proc.poll() is None:
                        continue
                    now = time.monotonic()
                    exited_at = exited_at or now
                    if now - exited_at < LINGER:
                        continue
                    break
                chunk = os.read(fd, LINE_MAX)
                if not chunk:
                    break
                whole, pending = split_lines(pending + chunk)
                for line in whole:
                    self._line(index, result, line)
            if pending:
                self._line(index, result, pending)
        finally:
            proc.stdout.close()

    def _line(self, index: int, result: TargetResult, data: bytes) -> None:
        result.output.add(data)
        with contextlib.suppress(Exception):
            self.events.line(index, data)

    # -- stopping ---------------------------------------------------------------------

    def _failed(self, role: str, status: str) -> None:
        if self.fail_fast:
            self.stop(f"--fail-fast: {role} {status}")

    def _expire(self, index: int, proc: subprocess.Popen) -> None:
        assert self.timeout is not None
        self._terminate(index, proc, f"timed out after {format_duration(int(self.timeout))}",
                        force=True)

    def _terminate(self, index: int, proc: subprocess.Popen, reason: str,
                   force: bool = False) -> None:
        result = self.results[index]
        with self._lock:
            if self._procs.get(index) is not proc or (result.stopped and not force):
                return
            if result.stopped is None or force:
                result.stopped = reason
            result.state = STOPPING
            _signal_group(proc, signal.SIGTERM)
        self._changed(index)
        self._later(self.grace, self._kill_one, index, proc)

    def _kill_one(self, index: int, proc: subprocess.Popen) -> None:
        with self._lock:
            if self._procs.get(index) is proc:  # still being read: its group lives
                _signal_group(proc, signal.SIGKILL)

    def _later(self, seconds: float, func, *args) -> threading.Timer:
        timer = threading.Timer(seconds, func, args)
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()
        return timer


def split_lines(data: bytes) -> tuple[list[bytes], bytes]:
    """Every whole line of ``data`` (newline kept; a longer one in LINE_MAX pieces),
    and the unfinished rest."""
    lines, start = [], 0
    while True:
        cut = data.find(b"\n", start, start + LINE_MAX)
        if cut >= 0:
            end = cut + 1
        elif len(data) - start >= LINE_MAX:
            end = start + LINE_MAX
        else:
            return lines, data[start:]
        lines.append(data[start:end])
        start = end


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal the child's process group (it leads one: start_new_session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
