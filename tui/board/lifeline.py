"""The board's lifeline: when its terminal goes, rolecall goes too.

A hang-up (an SSH drop, a closed window) signals only the terminal's session leader.
rolecall started from a shell line (``rolecall demo; ...``, a script, an editor's
terminal) is not one, and while the board's subshell holds the terminal, not even the
foreground group's SIGHUP is its: left alone it would read end-of-file forever. So the
board watches its terminal itself: once the terminal is gone (every call on it fails),
or on SIGHUP or SIGTERM, the subshell (if one runs) is hung up and the board ends as on
``q``, whose cleanup runs as usual. Should that not end the process within
:data:`GRACE` seconds, the cleanups given here run and the process exits all the same.

The board's writes to a terminal that has gone are dropped, and end it at once (the
first failed write is the earliest sign): Textual's writer thread would otherwise die
on the error and leave the app's way out blocked behind it.

The watch is a feature test, not a platform check: it runs where ``termios`` can ask
the terminal for its settings (every POSIX system); SIGHUP is caught where it exists.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable

from profiles.doors import children

WATCH_EVERY = 0.5  # seconds between looks at the terminal
GRACE = 8.0  # seconds the usual way out has before the last resort
HANGUP_STATUS = 128 + getattr(signal, "SIGHUP", 1)


def _terminal_gone(fd: int) -> bool:
    """Whether the terminal on ``fd`` has hung up (or is no terminal any more): a hung-up
    terminal fails every request with EIO. Reads nothing, so no input is lost."""
    import termios  # lazy: only where there is a POSIX terminal to watch

    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return True
    return False


def watchable(fd: int | None) -> bool:
    """Whether the terminal on ``fd`` can be watched here (a terminal, and termios)."""
    try:
        import termios  # noqa: F401 - lazy: the feature test itself
    except ImportError:
        return False
    return fd is not None and os.isatty(fd) and not _terminal_gone(fd)


class _Tolerant:
    """A terminal's output stream whose writes, once the terminal has gone, are dropped
    and reported (once) to ``gone`` instead of raising."""

    def __init__(self, stream, gone: Callable[[], None]) -> None:
        self._stream = stream
        self._gone = gone
        self._dead = False

    def _failed(self) -> None:
        if not self._dead:
            self._dead = True
            self._gone()

    def write(self, text: str) -> int:
        if not self._dead:
            try:
                return self._stream.write(text)
            except OSError:
                self._failed()
        return len(text)

    def flush(self) -> None:
        if not self._dead:
            try:
                self._stream.flush()
            except OSError:
                self._failed()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def tolerant(driver_class: type) -> type:
    """``driver_class`` (Textual's POSIX driver) writing through :class:`_Tolerant`, so a
    terminal that goes away ends the app's lifeline instead of its writer thread."""

    class TolerantDriver(driver_class):  # type: ignore[misc, valid-type]
        def __init__(self, app, *args, **kwargs) -> None:
            super().__init__(app, *args, **kwargs)
            if getattr(self, "_file", None) is not None:
                self._file = _Tolerant(self._file, lambda: _hung_up(app))

    TolerantDriver.__name__ = TolerantDriver.__qualname__ = f"Tolerant{driver_class.__name__}"
    return TolerantDriver


def _hung_up(app) -> None:
    lifeline = getattr(app, "lifeline", None)
    if lifeline is not None:
        lifeline.end("its terminal went away", HANGUP_STATUS)


class Lifeline:
    """While entered: SIGTERM and SIGHUP, and the terminal on ``fd`` going away, end the
    app through ``exit_app(status)`` (called on the app's event loop, once :attr:`loop`
    is set), then ``cleanups`` and a hard exit after :data:`GRACE` seconds if need be."""

    def __init__(self, exit_app: Callable[[int], None], fd: int | None,
                 cleanups: Iterable[Callable[[], None]] = ()) -> None:
        self.exit_app = exit_app
        self.fd = fd
        self.cleanups = list(cleanups)
        self.loop = None  # the app's asyncio loop, set when the app mounts
        self.child: subprocess.Popen | None = None  # the subshell, while it runs
        self.status: int | None = None
        self.reason: str | None = None
        self._lock = threading.Lock()
        self._left = threading.Event()
        self._saved: dict[int, object] = {}

    def __enter__(self) -> Lifeline:
        for name in ("SIGTERM", "SIGHUP"):
            if (sig := getattr(signal, name, None)) is not None:
                self._saved[sig] = signal.signal(sig, self._signalled)
        if watchable(self.fd):
            threading.Thread(target=self._watch, name="rolecall-lifeline", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._left.set()
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _signalled(self, signum: int, _frame: object) -> None:
        self.end(f"got {signal.Signals(signum).name}", 128 + signum)

    def _watch(self) -> None:
        assert self.fd is not None
        while not self._left.wait(WATCH_EVERY):
            if _terminal_gone(self.fd):
                self.end("its terminal went away", HANGUP_STATUS)
                return

    def end(self, reason: str, status: int) -> None:
        """End the app (once): hang up the subshell, ask the app to exit, and arm the
        last resort."""
        with self._lock:
            if self.status is not None:
                return
            self.status, self.reason = status, reason
        child = self.child
        if child is not None and child.poll() is None:
            with contextlib.suppress(OSError):
                child.send_signal(getattr(signal, "SIGHUP", signal.SIGTERM))
        loop = self.loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(self.exit_app, status)
        threading.Thread(target=self._last_resort, name="rolecall-last-resort",
                         daemon=True).start()

    def _last_resort(self) -> None:
        """After the grace, whatever still runs: the cleanups, then exit. (A daemon
        thread: a process that ended in time never gets here.)"""
        threading.Event().wait(GRACE)
        for cleanup in self.cleanups:
            with contextlib.suppress(Exception):
                cleanup()
        os._exit(self.status or HANGUP_STATUS)

    def run_child(self, command: list[str], variables: dict[str, str]) -> int:
        """Run ``command`` (the subshell, with the session's ``variables``) and wait for
        it, known to the lifeline so a hang-up reaches it too; its exit status."""
        child = subprocess.Popen(command, env=children.environ(variables))
        self.child = child
        try:
            if self.status is not None:  # ended before the child started: hang it up
                with contextlib.suppress(OSError):
                    child.send_signal(getattr(signal, "SIGHUP", signal.SIGTERM))
            return child.wait()
        finally:
            self.child = None
