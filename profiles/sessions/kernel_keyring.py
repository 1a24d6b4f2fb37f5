"""Secrets in the Linux kernel keyring: the login session's keyring, through the
``add_key`` and ``keyctl`` system calls (ctypes; standard library only, so the
``process`` fast path reads a session from here too).

Where there is no Secret Service (SSH, containers, CI runners) this keyring is what
every process of a login session shares without a file: a secret lives in kernel memory,
readable only by a process that *possesses* it (one whose session keyring it hangs
from), never swapped to disk, and gone when the login ends. Each item is a ``user`` key
named ``<service>/<key>`` in the session keyring, with a timeout at the session's
expiry (the kernel drops it then).

A process with no session keyring of its own (a cron job, a container's shell) is given
the user-session keyring, which every such process of the user shares; a key is always
added to the keyring found, never to ``KEY_SPEC_SESSION_KEYRING`` itself (that would
make the kernel start a new, private, session keyring for this process alone).

The system calls are a stable kernel interface (since 2.6.10); the Python bindings for
them are unmaintained or compiled against libkeyutils, and the ``keyctl`` command would
put secrets in a pipe of a child: hence ctypes. :func:`probe` tests the feature (a
container's seccomp profile, an unknown architecture, a revoked keyring), never assumes.
"""

import errno
import json
import os
import platform
import sys
import time

# (add_key, keyctl) by machine: the generic table (aarch64, riscv64, loongarch64) and the
# architectures with numbers of their own. Anything else is "not available", said so.
_SYSCALLS = {
    "x86_64": (248, 250), "amd64": (248, 250),
    "i386": (286, 288), "i486": (286, 288), "i586": (286, 288), "i686": (286, 288),
    "aarch64": (217, 219), "arm64": (217, 219), "riscv64": (217, 219),
    "loongarch64": (217, 219),
    "armv7l": (309, 311), "armv6l": (309, 311), "armv8l": (309, 311),
    "ppc64le": (269, 271), "ppc64": (269, 271), "ppc": (269, 271),
    "s390x": (278, 280),
}
_SESSION = -3  # KEY_SPEC_SESSION_KEYRING
_GET_KEYRING_ID, _SEARCH, _READ, _SET_TIMEOUT, _INVALIDATE, _UNLINK = 0, 10, 11, 15, 21, 9
TIMEOUT_MARGIN = 300  # a key outlives the session it holds by this much
MAX_PAYLOAD = 32767  # the "user" key type's limit


class Unavailable(OSError):
    """The kernel keyring cannot be used here; ``str()`` says why, in words."""


class QuotaFull(OSError):
    """The user's key quota (``kernel.keys.maxbytes`` / ``maxkeys``) is spent."""


_calls: tuple | None = None


def _syscalls() -> tuple:
    """``(syscall, add_key, keyctl)``; raises Unavailable off Linux or on an unknown
    machine."""
    global _calls
    if _calls is None:
        if not sys.platform.startswith("linux"):
            raise Unavailable(errno.ENOSYS, "the kernel keyring is Linux's")
        numbers = _SYSCALLS.get(platform.machine().lower())
        if numbers is None:
            raise Unavailable(errno.ENOSYS,
                              f"no keyctl numbers known for {platform.machine()!r}")
        import ctypes  # lazy: only where the kernel keyring is used

        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syscall
        call.restype = ctypes.c_long
        _calls = (call, ctypes, *numbers)
    return _calls


def _check(result: int, ctypes) -> int:
    if result < 0:
        code = ctypes.get_errno()
        if code == errno.EDQUOT:
            raise QuotaFull(code, "the kernel keyring's quota for this user is spent")
        raise OSError(code, os.strerror(code))
    return result


def _keyctl(op: int, *args) -> int:
    call, ctypes, _add, keyctl = _syscalls()
    values = [a if isinstance(a, ctypes.c_char_p | ctypes.c_void_p) else ctypes.c_long(a)
              for a in args]
    return _check(call(ctypes.c_long(keyctl), ctypes.c_long(op), *values), ctypes)


def session_keyring() -> int:
    """The serial of this process's session keyring (the user-session keyring when the
    process has none: every such process of the user shares it)."""
    return _keyctl(_GET_KEYRING_ID, _SESSION, 0)


def _describe(service: str, key: str) -> bytes:
    return f"{service}/{key}".encode()


def find(service: str, key: str) -> int | None:
    """The serial of the key for ``(service, key)`` this process possesses, or None."""
    call, ctypes, _add, _keyctl_nr = _syscalls()
    try:
        return _keyctl(_SEARCH, session_keyring(), ctypes.c_char_p(b"user"),
                       ctypes.c_char_p(_describe(service, key)), 0)
    except OSError as exc:
        if exc.errno in (errno.ENOKEY, errno.EKEYEXPIRED, errno.EKEYREVOKED, errno.ENOENT):
            return None
        raise


def read(serial: int) -> bytes:
    """The payload of key ``serial``."""
    _call, ctypes, _add, _keyctl_nr = _syscalls()
    size = 512
    while True:
        buffer = ctypes.create_string_buffer(size)
        length = _keyctl(_READ, serial, ctypes.c_void_p(ctypes.addressof(buffer)), size)
        if length <= size:
            return buffer.raw[:length]
        size = length


def add(service: str, key: str, payload: bytes, timeout: float | None = None) -> int:
    """Create or replace (same name, same keyring: the kernel replaces it whole) the key
    for ``(service, key)``; with ``timeout``, the kernel drops it that many seconds on."""
    call, ctypes, add_key, _keyctl_nr = _syscalls()
    if len(payload) > MAX_PAYLOAD:
        raise OSError(errno.EINVAL, "a secret too large for the kernel keyring")
    ring = session_keyring()
    serial = _check(call(ctypes.c_long(add_key), ctypes.c_char_p(b"user"),
                         ctypes.c_char_p(_describe(service, key)), ctypes.c_char_p(payload),
                         ctypes.c_size_t(len(payload)), ctypes.c_long(ring)), ctypes)
    if timeout is not None:
        _keyctl(_SET_TIMEOUT, serial, min(max(1, int(timeout)), 2**31 - 1))
    return serial


def remove(serial: int) -> None:
    """Destroy key ``serial`` (invalidate it; unlink it from the session keyring on a
    kernel older than 3.5)."""
    try:
        _keyctl(_INVALIDATE, serial)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        _keyctl(_UNLINK, serial, session_keyring())


def probe() -> str | None:
    """None when the session keyring can hold, give back and drop a key here; else why
    not, in words (a seccomp profile, an old or foreign kernel, a revoked keyring)."""
    try:
        serial = add("rolecall-probe", str(os.getpid()), b"probe", timeout=60)
        ok = read(serial) == b"probe"
        remove(serial)
        return None if ok else "the kernel keyring gave back another value"
    except Unavailable as exc:
        return str(exc.strerror)
    except QuotaFull:
        return "the kernel keyring's quota for this user is spent (kernel.keys.maxbytes)"
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EACCES, errno.ENOSYS):
            return ("the keyctl system calls are blocked here (a container's seccomp "
                    "profile, or a sandbox)" if exc.errno != errno.ENOSYS
                    else "this kernel has no keyring support")
        if exc.errno == errno.EKEYREVOKED:
            return ("this login's session keyring was revoked (a process that outlived its "
                    "login, such as a tmux server)")
        return f"the kernel keyring failed: {exc.strerror or exc}"


def _expiry(secret: str) -> float | None:
    """Seconds until the ``Expiration`` a session's payload names, plus a margin; None for
    a secret without one (an SSO token, a registration: no timeout)."""
    if '"Expiration"' not in secret:
        return None
    try:
        from profiles.sessions.fastpath import epoch  # lazy: the arithmetic only here

        return epoch(json.loads(secret)["Expiration"]) - time.time() + TIMEOUT_MARGIN
    except (ValueError, KeyError, TypeError):
        return None


class KernelKeyring:
    """keyring's generic backend API (get, set, delete by service and name) over the
    login session's kernel keyring. Not a ``keyring`` backend class: keyring is never
    imported for it, and keyring never picks it by itself."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        serial = find(service, username)
        if serial is None:
            return None
        try:
            return read(serial).decode()
        except OSError as exc:
            if exc.errno in (errno.ENOKEY, errno.EKEYEXPIRED, errno.EKEYREVOKED):
                return None  # expired between the search and the read
            raise

    def set_password(self, service: str, username: str, password: str) -> None:
        timeout = _expiry(password)
        add(service, username, password.encode(), timeout)

    def delete_password(self, service: str, username: str) -> None:
        serial = find(service, username)
        if serial is not None:
            remove(serial)
