"""MFA codes from anywhere: a profile's ``mfa_process`` or the ``ROLECALL_MFA_PROMPT``
command prints the code, so a YubiKey (``ykman oath accounts code --single NAME``), a
password manager or a desktop dialog supplies it, and renewals in the board or a server
never need a terminal.

Precedence (the engine's): a code given explicitly (``--mfa-code``), then the
``mfa_process`` of the profile that declares the device, then ``ROLECALL_MFA_PROMPT``,
then the terminal's or the board's prompt. Either command is split as a shell would
split it (``shlex``) and run with no shell, no stdin, in its own process group, with
``ROLECALL_MFA_SERIAL`` and ``ROLECALL_MFA_ROLE`` in its environment and no AWS
credentials (:mod:`profiles.doors.children`: a code reader needs none); it has
:data:`TIMEOUT` seconds (a touch, a dialog) to print the code. The code is the one
6-digit number standing alone in its output; anything else is a clear error. What it
prints is never shown, logged or kept (a failing command's last stderr line excepted).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Mapping

from profiles.doors import children
from profiles.doors.terminal import shown
from profiles.errors import RolecallError, UsageError

HOOK = "ROLECALL_MFA_PROMPT"
TIMEOUT = 60
CODE = re.compile(rb"(?<![0-9])[0-9]{6}(?![0-9])")
_SHOWN = 200  # characters of a failing command's last stderr line


def split_command(text: str) -> list[str]:
    """``text`` as argv, split as a POSIX shell would (no expansion, no shell)."""
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot split the command: {exc}",
                         fix="balance its quotes (it runs with no shell)") from None
    if not argv:
        raise UsageError("the command is empty", fix="name a command that prints the code")
    return argv


def source(plan, serial: str, environ: Mapping[str, str] | None = None
           ) -> tuple[list[str], str] | None:
    """``(argv, origin)`` of the command that supplies codes for ``serial`` in ``plan``
    (a :class:`~profiles.sessions.plan.Plan`), or None: the terminal or board asks."""
    for step in plan.steps:
        role = step.role
        if role is not None and role.mfa_serial == serial and role.mfa_process:
            return split_command(role.mfa_process), f"mfa_process of profile {role.name!r}"
    hook = (os.environ if environ is None else environ).get(HOOK, "").strip()
    if hook:
        try:
            return split_command(hook), HOOK
        except UsageError as exc:
            raise UsageError(f"{HOOK}: {exc.message}", fix=exc.fix) from None
    return None


def _last_line(data: bytes) -> str:
    """The last line a command wrote, as a message may quote it (the terminal door)."""
    lines = [line.strip() for line in data.decode("utf-8", "backslashreplace").split("\n")]
    return shown(next((line for line in reversed(lines) if line), ""), _SHOWN)


def run(argv: list[str], origin: str, serial: str, role: str,
        timeout: float = TIMEOUT) -> str:
    """The code ``argv`` prints for ``serial`` (needed by ``role``)."""
    env = children.environ({"ROLECALL_MFA_SERIAL": serial, "ROLECALL_MFA_ROLE": role})
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, process_group=0)
    except FileNotFoundError:
        raise UsageError(f"{origin}: command {argv[0]!r} not found",
                         fix="install it, or give its full path") from None
    except OSError as exc:
        raise UsageError(f"{origin}: cannot run {argv[0]!r}: {exc.strerror or exc}",
                         fix="check the command and its permissions") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise RolecallError(f"{origin} printed no MFA code for {serial} within "
                            f"{timeout:g}s", fix="check the device or dialog, then try "
                            "again; or pass --mfa-code") from None
    except BaseException:  # Ctrl-C: the command must not outlive us
        _stop(proc)
        raise
    if proc.returncode != 0:
        said = _last_line(err)
        raise RolecallError(f"{origin} failed (exit {proc.returncode}) for {serial}"
                            + (f": {said}" if said else ""),
                            fix="run the command yourself to see why; or pass --mfa-code")
    return code_in(out, origin, serial)


def code_in(out: bytes, origin: str, serial: str) -> str:
    """The one 6-digit number standing alone in ``out`` (printed twice is still one)."""
    codes = set(CODE.findall(out))
    if len(codes) != 1:
        what = "no 6-digit code" if not codes else f"{len(codes)} different 6-digit codes"
        raise RolecallError(f"{origin} printed {what} for {serial}",
                            fix="make it print the one current code (ykman: "
                            "`ykman oath accounts code --single NAME`)")
    return codes.pop().decode()


def _stop(proc: subprocess.Popen) -> None:
    """Kill the command's whole process group (a shell's children hold its pipes)."""
    with contextlib.suppress(OSError):
        if hasattr(os, "killpg"):  # a feature test: Windows has no process groups
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    proc.communicate()
