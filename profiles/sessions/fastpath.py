"""The credential_process hot path: a cached session found through the index alone.

Imports only the standard library and jeepney (or rolecall's kernel keyring reader,
ctypes only; or one of keyring's own backends from a fixed table: never a module the
index names): no botocore,
no boto3, no Textual, no platformdirs (``profiles.xdg`` finds the dirs), no config
parsing. A session is served only if the config files are unchanged since it was cached
(``stamp``) and, by the local clock (the caller's: a measured skew never counts), more
than the refresh window remains, or more than ``min_left`` (``process``: botocore would
refresh anything less at once).
Anything else falls back to the full engine. ``keys process NAME`` (long-lived keys,
no cache) is served here too: :func:`long_lived`.
"""


import json
import os
import re
import time

from profiles import xdg
from profiles.countdown import epoch
from profiles.doors import statefiles
from profiles.errors import ConfigError

# botocore refreshes credential_process credentials once fewer than 15 minutes remain
# (its advisory refresh); a session handed to it keeps a minute more, or every request
# would run rolecall again.
CALLER_REFRESH = 15 * 60
PROCESS_MIN_LEFT = CALLER_REFRESH + 60


def _path(env: str, default: str) -> str:
    return os.path.expandvars(os.path.expanduser(os.environ.get(env) or default))


def _state_dir() -> str:
    if value := os.environ.get("ROLECALL_STATE_DIR"):
        return os.path.expandvars(os.path.expanduser(value))
    return xdg.user_dir("state", "rolecall")


def _catalog() -> str:
    if value := os.environ.get("ROLECALL_CONFIG"):
        return os.path.expandvars(os.path.expanduser(value))
    return os.path.join(xdg.user_dir("config", "rolecall"), "config.toml")


# A key that shapes a role or its chain (never one `write` puts in a profile); a
# credentials file holding one counts in the stamp, so no change there leaves a stale or
# broken role served.
_ROLE_KEYS = (b"role_arn", b"source_profile", b"credential_source", b"mfa_serial",
              b"external_id", b"duration_seconds", b"role_session_name", b"mfa_mode",
              b"region")
_ROLE_KEY = rb"(?m)^[ \t]*(?i:" + b"|".join(_ROLE_KEYS) + rb")[ \t]*[=:]"  # compiled on use


def _shapes_roles(data: bytes) -> bool:
    """Whether a credentials file holds a role key (configparser lowers key names); the
    substring test first, as the regex is slow on a large file of written profiles."""
    lowered = data.lower()
    return any(key in lowered for key in _ROLE_KEYS) and bool(re.search(_ROLE_KEY, data))


def stamp(config_file: str | None = None, catalog_file: str | None = None,
          sso_file: str | None = None) -> str:
    """Identity of the files that define roles: path, mtime and size of each (the roster
    of roles discovered through IAM Identity Center too: a sync may give a name to
    another account). Paths are normalised, so the engine's ``Path`` spelling and the
    raw variable compare equal."""
    parts = []
    if sso_file is None:
        try:
            sso_file = os.path.join(_state_dir(), "sso-roles.json")
        except RuntimeError:  # no home to find the state dir in: no roster either
            sso_file = "-"
    for raw in (config_file or _path("AWS_CONFIG_FILE", "~/.aws/config"),
                catalog_file or _catalog(), sso_file):
        path = os.path.abspath(raw)
        try:
            st = os.stat(path)
            parts.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            parts.append(f"{path}:-")
    # Roles may also be defined or changed in the credentials file (botocore merges it
    # in). Only then does it count: otherwise every `write` would spoil every stamp.
    credentials = os.path.abspath(_path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"))
    try:
        fd, st = statefiles.open_regular(credentials)  # never blocks on a fifo there
    except (OSError, ValueError, ConfigError):
        return "|".join(parts)  # nothing readable: the full path judges it
    try:
        if _shapes_roles(statefiles.read_all(fd, st)):
            parts.append(f"{credentials}:{st.st_mtime_ns}:{st.st_size}")
    except OSError:
        pass
    finally:
        os.close(fd)
    return "|".join(parts)


SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
KERNEL = "profiles.sessions.kernel_keyring.KernelKeyring"  # the login's kernel keyring
SCHEMA_KEY, SCHEMA = "xdg:schema", "io.rolecall.Session"  # as secret_service.py marks items
# The secure keyring backends whose items the fast path may read, by the name the index
# records; anything else (a name edited into the index included) takes the full path.
_BACKENDS = {
    "keyring.backends.macOS.Keyring": ("keyring.backends.macOS", "Keyring"),
    "keyring.backends.Windows.WinVaultKeyring": ("keyring.backends.Windows", "WinVaultKeyring"),
    "keyring.backends.kwallet.DBusKeyring": ("keyring.backends.kwallet", "DBusKeyring"),
}


def _secret_service_get(service: str, key: str, item: str | None = None) -> str | None:
    """Read rolecall's item for ``key`` straight over D-Bus with jeepney (what
    secretstorage and keyring sit on; importing those costs more than the round trips).
    ``item``, the object path the index recorded, is read without a search, and served
    only if its payload names ``key`` (an item deleted and its path reused is not ours);
    else the item is searched by its attributes, rolecall's schema included. Only
    unlocked items are read; anything else returns None."""
    # Imported here: a miss on the stamp or the clock needs no D-Bus.
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

        _, session = call("OpenSession", "sv", "plain", ("s", ""))
        if item:
            try:
                (found,) = call("GetSecrets", "aoo", [item], session)
            except OSError:  # gone, or locked: search below
                found = {}
            for _session, _params, value, _content_type in found.values():
                text = bytes(value).decode()
                if f'"Key": "{key}"' in text:
                    return text
        unlocked, _locked = call("SearchItems", "a{ss}",
                                 {"username": key, "service": service, SCHEMA_KEY: SCHEMA})
        if not unlocked:
            return None
        (found,) = call("GetSecrets", "aoo", unlocked[:1], session)
        for _session, _params, value, _content_type in found.values():
            return bytes(value).decode()
    return None


def read_secret(backend: str, service: str, key: str, item: str | None = None) -> str | None:
    """The secret stored under ``key`` by the named keyring backend, if it is one the
    fast path knows; None otherwise (the full path resolves the backend itself)."""
    if backend == SECRET_SERVICE:
        return _secret_service_get(service, key, item)
    if backend == KERNEL:  # standard library only (ctypes), as this module
        from profiles.sessions.kernel_keyring import KernelKeyring

        return KernelKeyring().get_password(service, key)
    known = _BACKENDS.get(backend)
    if known is None:
        return None
    import importlib  # only for another backend: a Secret Service read needs none

    return getattr(importlib.import_module(known[0]), known[1])().get_password(service, key)


def lookup(role: str, now: float | None = None,
           min_left: float = 0) -> tuple[dict, dict] | None:
    """``(entry, credentials)`` of a cached session for ``role`` with more than its
    refresh window (and more than ``min_left`` seconds) left by the local clock, or None."""
    try:
        return _lookup(role, time.time() if now is None else now, min_left)
    except Exception:  # noqa: BLE001 - any doubt sends us down the full path
        return None


def _lookup(role: str, now: float, min_left: float) -> tuple[dict, dict] | None:
    try:
        # Through the door: a fifo or device there is refused at once, never waited on.
        index = json.loads(statefiles.read_bytes(os.path.join(_state_dir(), "sessions.json"))
                           or b"null")
        sessions = index["sessions"]
    except (OSError, ValueError, KeyError, TypeError, ConfigError):
        return None
    if not isinstance(sessions, dict):
        return None
    current = stamp()
    for key, entry in sessions.items():
        if not isinstance(entry, dict) or entry.get("role") != role or entry.get("kind") != "role":
            continue
        if entry.get("stamp") != current or not entry.get("backend"):
            continue
        try:
            if epoch(entry["expires_at"]) - now <= max(entry.get("refresh_window", 300), min_left):
                continue
            secret = read_secret(entry["backend"],
                                 os.environ.get("ROLECALL_KEYRING_SERVICE") or "rolecall", key,
                                 entry.get("item"))
        except Exception:  # noqa: BLE001 - any doubt sends us down the full path
            return None
        if secret:
            credentials = json.loads(secret)
            if not isinstance(credentials, dict) or credentials.pop("Key", key) != key:
                return None
            return entry, credentials
    return None


def long_lived(name: str) -> dict | None:
    """``keys process NAME``'s output (long-lived keys: no token, no expiry) read from the
    Secret Service straight, or None: the full path decides (another backend, a locked
    or missing item, a payload that is not the keys ``name``)."""
    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return None
    service = (os.environ.get("ROLECALL_KEYRING_SERVICE") or "rolecall") + ":keys"
    try:
        data = json.loads(_secret_service_get(service, name) or "null")
        if data.get("Name") != name:
            return None
        keys = {"AccessKeyId": data["AccessKeyId"], "SecretAccessKey": data["SecretAccessKey"]}
    except Exception:  # noqa: BLE001 - any doubt sends us down the full path
        return None
    if not all(isinstance(value, str) and value for value in keys.values()):
        return None
    return {"Version": 1, **keys}
