"""Which keyring holds rolecall's secrets, and the one notice that says so.

In order: a backend the user named (``PYTHON_KEYRING_BACKEND`` or keyringrc.cfg); on
Linux the Secret Service (gnome-keyring, KeePassXC), else the login session's kernel
keyring (:mod:`profiles.sessions.kernel_keyring`: SSH, containers, CI runners), else
memory; elsewhere keyring's own choice (the macOS Keychain, the Windows Credential
Locker) when it is secure, else memory. A plaintext or chained fallback is never used
silently.

Off the Secret Service, the notice names where sessions live and why, with the fix for
the case at hand: no D-Bus session is not the same as no Secret Service installed. It is
given once: the state dir records the notices already given (``notices.json``).
"""

from __future__ import annotations

import json
import os
import sys
import threading

_INSECURE_MODULES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")
NO_KEYRING_FIX = (
    "start and unlock a Secret Service (gnome-keyring or KeePassXC; on Debian or Ubuntu: "
    "apt install gnome-keyring), or name a secure backend in PYTHON_KEYRING_BACKEND")
NOTICES = "notices.json"
_given: set[str] = set()  # notices already shown by this process
_given_lock = threading.Lock()


def describe(backend: object) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _is_secure(backend: object) -> bool:
    from keyring.backends.chainer import ChainerBackend  # lazy: keyring costs ~100 ms

    if isinstance(backend, ChainerBackend):
        return bool(backend.backends) and all(_is_secure(b) for b in backend.backends)
    return not type(backend).__module__.startswith(_INSECURE_MODULES)


# -- why there is no Secret Service, and what would give one ------------------------------

def _gnome_keyring() -> bool:
    import shutil  # lazy: only to word a notice

    return shutil.which("gnome-keyring-daemon") is not None


def secret_service_missing() -> tuple[str, str] | None:
    """None when a Secret Service answers on the D-Bus session; else ``(why, fix)``."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    installed = _gnome_keyring()
    if not address:
        why = "there is no D-Bus session (as over SSH, in a container or on a CI runner)"
        if installed:
            return why, ("gnome-keyring is installed but needs a D-Bus session: run "
                         "`dbus-run-session -- $SHELL`, and in it `gnome-keyring-daemon "
                         "--unlock` (type the keyring's password, then Ctrl-D)")
        return why, ("for sessions that outlast the login, install a Secret Service and a "
                     "D-Bus session for logins (Debian or Ubuntu: apt install gnome-keyring "
                     "dbus-user-session), then log in again")
    try:
        from keyring.backends.SecretService import Keyring  # lazy: see _is_secure

        if Keyring.priority > 0:
            return None
        raise RuntimeError("SecretStorage is not usable")
    except Exception as exc:  # noqa: BLE001 - no bus, no daemon, no secretstorage
        text = str(exc)
    if "SecretStorage" in text and "required" in text:
        return ("Python's secretstorage is missing",
                "pip install secretstorage (into rolecall's environment)")
    if "neither running nor activatable" in text:
        why = "no Secret Service runs on the D-Bus session"
        if installed:
            return why, ("start gnome-keyring on it: `gnome-keyring-daemon --start "
                         "--components=secrets` (or `--unlock`, to type the password)")
        return why, ("install one (Debian or Ubuntu: apt install gnome-keyring; or "
                     "KeePassXC with its Secret Service integration)")
    return ("the D-Bus session does not answer (DBUS_SESSION_BUS_ADDRESS names a bus "
            "that is gone)", "log in again, or unset DBUS_SESSION_BUS_ADDRESS")


def kernel_notice(why: str, fix: str) -> str:
    return (f"sessions are kept in this login's kernel keyring, since {why}: every process "
            "of the login shares them, none is written to disk, and they end with the "
            f"login\n  fix: {fix}")


def memory_notice(why: str, fix: str, kernel: str | None = None) -> str:
    also = f"; and {kernel}" if kernel else ""
    if kernel and "blocked" in kernel:
        fix = ("allow the add_key and keyctl system calls (Docker and Podman block them by "
               f"default: --security-opt seccomp=PROFILE), or {fix}")
    return (f"sessions are kept in memory, by each rolecall command for its own run only "
            f"(every command assumes afresh and asks for MFA again), since {why}{also}\n"
            f"  fix: {fix}")


def select_backend() -> tuple[object | None, str | None]:
    """The keyring backend to use (None: memory only) and the notice that goes with it.

    An explicitly configured backend is honoured, with no notice. On Linux the Secret
    Service is tried directly, skipping keyring's entry-point scan (about 90 ms a command).
    """
    from keyring.core import load_config, load_env  # lazy: see _is_secure

    explicit = load_env() or load_config()
    if explicit is not None:
        return explicit, None
    if sys.platform.startswith("linux"):
        missing = secret_service_missing()
        if missing is None:
            from keyring.backends.SecretService import Keyring  # lazy: see _is_secure

            return Keyring(), None
        from profiles.sessions import kernel_keyring  # lazy: ctypes only off the desktop

        blocked = kernel_keyring.probe()
        if blocked is None:
            return kernel_keyring.KernelKeyring(), kernel_notice(*missing)
        return None, memory_notice(*missing, kernel=f"the kernel keyring is unusable: {blocked}")
    import keyring  # lazy: see _is_secure

    backend = keyring.get_keyring()
    if _is_secure(backend):
        return backend, None
    return None, memory_notice(f"there is no secure keyring backend (found {describe(backend)})",
                               NO_KEYRING_FIX)


# -- once --------------------------------------------------------------------------------

def first_time(notice: str) -> bool:
    """Whether ``notice`` is news: not shown by this process, nor recorded as given in
    the state dir (where it is recorded now). A state dir that cannot be used makes it
    news for this process only."""
    with _given_lock:
        if notice in _given:
            return False
        _given.add(notice)
    import hashlib  # lazy: only when there is a notice to give

    from profiles import paths  # lazy: only when there is a notice to give
    from profiles.doors import statefiles

    mark = hashlib.sha256(notice.encode()).hexdigest()[:16]
    try:
        path = paths.state_dir() / NOTICES
        data = statefiles.read_json(path)
        given = data.get("given") if isinstance(data, dict) else None
        given = [g for g in given if isinstance(g, str)] if isinstance(given, list) else []
        if mark in given:
            return False
        paths.ensure_private_dir(path.parent)
        statefiles.write_private(path, json.dumps({"given": [*given[-31:], mark]}).encode(),
                                 durable=False)
    except Exception:  # noqa: BLE001 - a notice is worth giving twice, never a failure
        pass
    return True

