"""The credential_process hot path: a cached session found through the index alone.

Imports only the standard library and jeepney (plus, for a backend other than the Secret
Service, the one keyring backend class that stored the secret): no botocore, no boto3,
no Textual, no platformdirs, no config parsing. A session is served only
if the config files are unchanged since it was cached (``stamp``) and more than the
refresh window remains; anything else falls back to the full engine.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time


def _path(env: str, default: str) -> str:
    return os.path.expandvars(os.path.expanduser(os.environ.get(env) or default))


def _user_dir(kind: str) -> str:
    """rolecall's user ``config`` or ``state`` directory, as ``platformdirs`` gives it
    (``profiles.paths`` uses it). On Linux its rule is short enough to follow with the
    standard library (platformdirs would add 26 modules to every cache hit): ``$XDG_*``
    when absolute, else under the home directory (``$HOME`` when absolute, else passwd)."""
    if sys.platform != "linux" or hasattr(sys, "getandroidapilevel") or "ANDROID_DATA" in \
            os.environ:
        import platformdirs

        return getattr(platformdirs, f"user_{kind}_dir")("rolecall")
    base = os.environ.get(f"XDG_{kind.upper()}_HOME", "")
    if not os.path.isabs(base):
        home = os.environ.get("HOME", "")
        if not os.path.isabs(home):
            import pwd

            home = pwd.getpwuid(os.getuid()).pw_dir
        base = os.path.join(home.rstrip("/") or "/", ".config" if kind == "config"
                            else ".local/state")
    return os.path.join(base, "rolecall")


def _state_dir() -> str:
    if value := os.environ.get("ROLECALL_STATE_DIR"):
        return os.path.expandvars(os.path.expanduser(value))
    return _user_dir("state")


def _catalog() -> str:
    if value := os.environ.get("ROLECALL_CONFIG"):
        return os.path.expandvars(os.path.expanduser(value))
    return os.path.join(_user_dir("config"), "config.toml")


def stamp(config_file: str | None = None, catalog_file: str | None = None) -> str:
    """Identity of the files that define roles: path, mtime and size of each. Paths are
    normalised, so the engine's ``Path`` spelling and the raw variable compare equal."""
    parts = []
    for raw in (config_file or _path("AWS_CONFIG_FILE", "~/.aws/config"),
                catalog_file or _catalog()):
        path = os.path.abspath(raw)
        try:
            st = os.stat(path)
            parts.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            parts.append(f"{path}:-")
    # Roles may also be defined in the credentials file (botocore merges it in). Only
    # then does it count: otherwise every `write` would spoil every cached stamp.
    credentials = os.path.abspath(_path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"))
    try:
        with open(credentials, "rb") as handle:
            if b"role_arn" in handle.read():
                st = os.fstat(handle.fileno())
                parts.append(f"{credentials}:{st.st_mtime_ns}:{st.st_size}")
    except OSError:
        pass
    return "|".join(parts)


SECRET_SERVICE = "keyring.backends.SecretService.Keyring"


def _secret_service_get(service: str, key: str) -> str | None:
    """Read an item that keyring's SecretService backend stored, straight over D-Bus
    with jeepney (what secretstorage and keyring sit on; importing those costs more than
    the round trips). Only unlocked items are read; anything else returns None."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    secrets = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                          interface="org.freedesktop.Secret.Service")
    with open_dbus_connection(bus="SESSION") as connection:
        def call(method: str, signature: str, *args):
            reply = connection.send_and_get_reply(
                new_method_call(secrets, method, signature, args), timeout=5)
            if reply.header.message_type.name != "method_return":
                raise OSError(f"{method}: {reply.body}")
            return reply.body

        unlocked, _locked = call("SearchItems", "a{ss}", {"username": key, "service": service})
        if not unlocked:
            return None
        _, session = call("OpenSession", "sv", "plain", ("s", ""))
        (found,) = call("GetSecrets", "aoo", unlocked[:1], session)
        for _session, _params, value, _content_type in found.values():
            return bytes(value).decode()
    return None


def read_secret(backend: str, service: str, key: str) -> str | None:
    """The secret stored under ``key`` by the named keyring backend."""
    if backend == SECRET_SERVICE:
        return _secret_service_get(service, key)
    module, _, cls = backend.rpartition(".")
    return getattr(importlib.import_module(module), cls)().get_password(service, key)


def lookup(role: str, now: float | None = None) -> tuple[dict, dict] | None:
    """``(entry, credentials)`` of a fresh cached session for ``role``, or None."""
    try:
        return _lookup(role, now)
    except Exception:  # noqa: BLE001 - any doubt sends us down the full path
        return None


def _lookup(role: str, now: float | None) -> tuple[dict, dict] | None:
    try:
        with open(os.path.join(_state_dir(), "sessions.json"), "rb") as handle:
            index = json.load(handle)
        sessions = index["sessions"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(sessions, dict):
        return None
    current = stamp()
    skew = index.get("clock_skew", 0)
    now = (time.time() if now is None else now) + (skew if isinstance(skew, int | float) else 0)
    for key, entry in sessions.items():
        if not isinstance(entry, dict) or entry.get("role") != role or entry.get("kind") != "role":
            continue
        if entry.get("stamp") != current or not entry.get("backend"):
            continue
        try:
            from datetime import datetime

            expires = datetime.fromisoformat(entry["expires_at"].replace("Z", "+00:00"))
            if expires.timestamp() - now <= entry.get("refresh_window", 300):
                continue
            secret = read_secret(entry["backend"],
                                 os.environ.get("ROLECALL_KEYRING_SERVICE") or "rolecall", key)
        except Exception:  # noqa: BLE001 - any doubt sends us down the full path
            return None
        if secret:
            credentials = json.loads(secret)
            return (entry, credentials) if isinstance(credentials, dict) else None
    return None
