"""Where the demo keeps its sessions, so that its tour behaves as on a desktop wherever
it runs (SSH, a container, a CI runner).

With a Secret Service (a desktop), there, under the demo's own service name. Without
one, the demo brings its own: a private Secret Service (gnome-keyring, unlocked with a
random password, on a D-Bus session of its own, its files inside the demo's directory)
when gnome-keyring is installed, else the login's kernel keyring. Either way the board
and every command in its subshell share the sessions. Memory only is the last resort,
and the demo says so. Whatever it started, it stops.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from profiles.doors import children

READY_WITHIN = 15.0  # seconds the daemons have to come up


@dataclass
class Store:
    """Where sessions live (in words), and what the demo started for it."""

    where: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            with contextlib.suppress(OSError):
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes.clear()


def _die_with_us():
    """What makes a child get SIGTERM when rolecall dies, however it dies (Linux's
    PR_SET_PDEATHSIG, looked up here, called in the child before exec); None where there
    is no such thing (a feature test)."""
    try:
        import ctypes  # lazy: only for a private store
        import signal

        prctl = ctypes.CDLL(None).prctl
    except (ImportError, OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _owner_ready(address: str, deadline: float, daemon: subprocess.Popen) -> bool:
    """Whether org.freedesktop.secrets gets an owner on the bus before ``deadline``."""
    from jeepney import DBusAddress, new_method_call  # lazy: only for a private store
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                      interface="org.freedesktop.DBus")
    with open_dbus_connection(address) as connection:
        while time.monotonic() < deadline and daemon.poll() is None:
            reply = connection.send_and_get_reply(
                new_method_call(bus, "NameHasOwner", "s", ("org.freedesktop.secrets",)))
            if reply.body[0]:
                return True
            time.sleep(0.05)
    return False


def private_secret_service(root: Path) -> Store | None:
    """gnome-keyring on a D-Bus session of its own, its keyring (encrypted with a random
    password nobody keeps) under ``root``; None when either daemon is missing or does
    not come up."""
    if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
        return None
    home = root / "keyring"
    runtime = home / "run"
    runtime.mkdir(parents=True, mode=0o700)
    base = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env = children.environ({"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
                            "XDG_DATA_HOME": str(home / "data"),
                            "XDG_CONFIG_HOME": str(home / "config")}, base=base)
    die_with_us = _die_with_us()  # start this before any thread: preexec_fn forks
    store = Store("a private Secret Service of its own (gnome-keyring on its own D-Bus "
                  "session, as there is no Secret Service here)")
    try:
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=env, text=True,
                               preexec_fn=die_with_us)
        store.processes.append(bus)
        address = bus.stdout.readline().strip() if bus.stdout else ""
        if not address:
            raise OSError("dbus-daemon printed no address")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, text=True, preexec_fn=die_with_us)
        store.processes.append(daemon)
        assert daemon.stdin is not None
        daemon.stdin.write(secrets.token_urlsafe(24) + "\n")
        daemon.stdin.close()
        if not _owner_ready(address, time.monotonic() + READY_WITHIN, daemon):
            raise OSError("gnome-keyring-daemon did not come up")
    except Exception:  # noqa: BLE001 - no private store: the next choice
        store.stop()
        return None
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = address  # the board's, and its subshell's
    return store


def bring_own(root: Path) -> Store:
    """Choose (and start, if need be) where the demo's sessions live. Call it with the
    demo's environment in place: it may point ``DBUS_SESSION_BUS_ADDRESS`` at its own
    bus, and it records the keyring notice as given (the demo says where instead)."""
    # lazy: the keyring stack once the demo starts
    from profiles.sessions import kernel_keyring
    from profiles.sessions.backends import first_time, secret_service_missing, select_backend

    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return Store("the keyring backend PYTHON_KEYRING_BACKEND names")
    if secret_service_missing() is None:
        return Store("your Secret Service, under a service name of the demo's own")
    store = private_secret_service(root)
    if store is not None:
        return store
    _backend, notice = select_backend()
    if notice:
        first_time(notice)  # said here, once, instead of by every command of the tour
    if kernel_keyring.probe() is None:
        return Store("this login's kernel keyring (no Secret Service here, and no "
                     "gnome-keyring to bring one)")
    return Store("memory only: no Secret Service, no gnome-keyring and no kernel keyring "
                 "here, so commands in the subshell will not see the board's sessions")
