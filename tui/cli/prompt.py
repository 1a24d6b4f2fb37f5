"""Asking on the controlling terminal: the MFA code prompt, without echo.

The code is read from ``/dev/tty``, never from stdin (which may carry a script's data)
and the prompt goes there too, never to stdout (which ``eval "$(rolecall env ...)"``
captures). Like the AWS CLI (botocore prompts with ``getpass``) and unlike aws-vault,
the typed code is not echoed: it stays out of scrollback, screen recordings and shared
tmux panes, and a mistyped code is refused at once (6 digits) or by STS.
"""

from __future__ import annotations

import os

from profiles.doors.terminal import shown
from profiles.errors import UsageError

MAX_LINE = 1024


def mfa_code(serial: str, role: str, *, cancel: int | None = None, intro: str = "") -> str:
    """The MFA code for ``serial``, typed on the controlling terminal; with none, say how
    to pass it. ``cancel``: a file descriptor whose becoming readable ends the wait."""
    question = f"{intro}MFA code for {shown(serial)} ({shown(role)}): "
    try:
        fd = os.open("/dev/tty", os.O_RDWR | getattr(os, "O_NOCTTY", 0))
    except OSError:
        if console := _windows_console():
            return console(question)
        raise UsageError(f"{role} needs an MFA code for {serial} and there is no terminal "
                         "to ask on", fix="pass --mfa-code 123456") from None
    try:
        return read_hidden(fd, question, cancel)
    finally:
        os.close(fd)


def _windows_console():
    """Where there is no ``/dev/tty`` but a Windows console (a feature test: msvcrt),
    getpass, which reads the console itself (never stdin) without echo; else None."""
    try:
        import msvcrt  # noqa: F401 - lazy: the feature test
    except ImportError:
        return None
    import getpass  # lazy: only on such a console
    import sys

    return lambda question: getpass.getpass(question, stream=sys.stderr).strip()


def read_hidden(fd: int, prompt: str, cancel: int | None = None) -> str:
    """Write ``prompt`` to terminal ``fd`` and read one line with echo off (restored
    however the read ends, Ctrl-C or ``cancel`` included)."""
    # lazy: termios only when a terminal is asked (not on Windows, not on a hit)
    import termios

    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        saved = None
    if saved is not None:
        quiet = list(saved)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
    try:
        os.write(fd, prompt.encode("utf-8", "replace"))
        return _read_line(fd, cancel)
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
        os.write(fd, b"\n")


def _read_line(fd: int, cancel: int | None = None) -> str:
    data = b""
    while b"\n" not in data and len(data) < MAX_LINE:
        if cancel is not None:
            # lazy: select only when a prompt can be cancelled (the endpoint's renewals)
            import select

            if cancel in select.select([fd, cancel], [], [])[0]:
                raise UsageError("the MFA prompt was cancelled")
        chunk = os.read(fd, MAX_LINE)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
