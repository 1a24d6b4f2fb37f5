"""Run ``python -m tui ARGS`` as a container or another login would: ``python
tests/keyctl_launch.py blocked ARGS`` under a seccomp filter that refuses the keyring
system calls with EPERM (what Docker's and Podman's default profiles do), ``python
tests/keyctl_launch.py new-login ARGS`` in a session keyring of its own (another login
of the same user). Standard library only."""

from __future__ import annotations

import ctypes
import errno
import platform
import runpy
import sys

# add_key, keyctl by machine (request_key is add_key + 1 on each of these)
SYSCALLS = {"x86_64": (248, 250), "aarch64": (217, 219)}
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def block_keyctl() -> None:
    """Refuse add_key, request_key and keyctl with EPERM from now on (inherited)."""
    add_key, keyctl = SYSCALLS[platform.machine()]
    program = [
        SockFilter(0x20, 0, 0, 0),  # ld [0]: the system call's number
        SockFilter(0x15, 3, 0, add_key),
        SockFilter(0x15, 2, 0, add_key + 1),
        SockFilter(0x15, 1, 0, keyctl),
        SockFilter(0x06, 0, 0, RET_ALLOW),
        SockFilter(0x06, 0, 0, RET_ERRNO | errno.EPERM),
    ]
    filters = (SockFilter * len(program))(*program)
    prog = SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog)) != 0:
        raise OSError(ctypes.get_errno(), "cannot install the seccomp filter")


def new_login() -> None:
    """Join a new anonymous session keyring (KEYCTL_JOIN_SESSION_KEYRING, NULL name)."""
    from profiles.sessions import kernel_keyring

    kernel_keyring._keyctl(1, ctypes.c_void_p(None))


PATH = __file__
# the first line of a ``python -c`` script that must run as in such a container
BLOCKED_PRELUDE = f"import runpy; runpy.run_path({PATH!r})['block_keyctl']()\n"


def command(mode: str, *args: str) -> list[str]:
    """The argv that runs ``rolecall ARGS`` as ``mode`` (``blocked``, ``new-login``)."""
    return [sys.executable, PATH, mode, *args]


if __name__ == "__main__":
    mode, sys.argv = sys.argv[1], ["rolecall", *sys.argv[2:]]
    block_keyctl() if mode == "blocked" else new_login()
    runpy.run_module("tui", run_name="__main__", alter_sys=True)
