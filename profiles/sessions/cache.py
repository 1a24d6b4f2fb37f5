"""The session cache: secrets in the OS keyring, a non-secret index in the state dir.

The index (role, ARN, expiry, parent) lets ``list`` and ``sessions`` run without a
keyring round trip per role, and lets the credential_process fast path find a session
without parsing any config. Secrets never touch it. With no secure keyring backend,
sessions live in this process's memory only, and the cache says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from contextlib import closing
from pathlib import Path

from profiles import paths
from profiles.errors import FileWriteError, KeyringError
from profiles.model import Credentials, Session

INDEX_NAME = "sessions.json"
INDEX_VERSION = 1
_INSECURE_MODULES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")


def _describe(backend: object) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _is_secure(backend: object) -> bool:
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        return bool(backend.backends) and all(_is_secure(b) for b in backend.backends)
    return not type(backend).__module__.startswith(_INSECURE_MODULES)


def select_backend() -> tuple[object | None, str | None]:
    """The keyring backend to use, or None with the reason (no secure backend found).

    An explicitly configured backend (``PYTHON_KEYRING_BACKEND`` or keyringrc.cfg) is
    honoured. On Linux the Secret Service is tried directly, skipping keyring's
    entry-point scan (about 90 ms per command); elsewhere keyring picks.
    """
    from keyring.core import load_config, load_env

    explicit = load_env() or load_config()
    if explicit is not None:
        return explicit, None
    if sys.platform.startswith("linux"):
        from keyring.backends.SecretService import Keyring as SecretServiceKeyring

        try:
            if SecretServiceKeyring.priority > 0:
                return SecretServiceKeyring(), None
        except Exception:  # noqa: BLE001 - no bus, no daemon, no secretstorage
            pass
    import keyring

    backend = keyring.get_keyring()
    if _is_secure(backend):
        return backend, None
    return None, (
        f"no secure keyring backend (found {_describe(backend)}): sessions are kept in "
        "memory for this run only"
    )


def write_private(path: Path, data: bytes, durable: bool = True) -> None:
    """Atomically replace ``path`` with ``data``, mode 0600 (temp file, fsync, rename).
    ``durable=False`` skips the fsync, for caches that may be lost but never torn."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class SessionCache:
    """Keyring-backed cache of temporary sessions, keyed by their assume parameters."""

    def __init__(self, state_dir: Path | None = None, service: str | None = None,
                 backend: object | None = None, memory_only: bool = False) -> None:
        self.state_dir = state_dir or paths.state_dir()
        self.service = service or paths.keyring_service()
        self.warning: str | None = None
        self._memory: dict[str, str] = {}
        self._memory_index: dict = {"version": INDEX_VERSION, "sessions": {}}
        self._backend = backend
        self._resolved = backend is not None or memory_only
        self.memory_only = memory_only
        self._skew: float | None = None

    # -- backend -------------------------------------------------------------------------

    @property
    def backend(self) -> object | None:
        if not self._resolved:
            self._resolved = True
            self._backend, self.warning = select_backend()
            self.memory_only = self._backend is None
        return self._backend

    @property
    def backend_name(self) -> str:
        backend = self.backend
        return "memory" if backend is None else _describe(backend)

    def _fast_secret(self, backend: str | None, key: str) -> str | None:
        """Read a Secret Service item without resolving a keyring backend (the common
        case for a warm cache); any doubt returns None and the keyring path decides."""
        from profiles.sessions.fastpath import SECRET_SERVICE, read_secret

        if backend != SECRET_SERVICE or self.memory_only or os.environ.get(
                "PYTHON_KEYRING_BACKEND"):
            return None
        try:
            return read_secret(backend, self.service, key)
        except Exception:  # noqa: BLE001
            return None

    def _secret_get(self, key: str) -> str | None:
        backend = self.backend
        if backend is None:
            return self._memory.get(key)
        try:
            return backend.get_password(self.service, key)
        except Exception as exc:  # noqa: BLE001 - backends raise many types
            raise self._failure("read", exc) from None

    def _secret_set(self, key: str, value: str) -> None:
        backend = self.backend
        if backend is None:
            self._memory[key] = value
            return
        try:
            backend.set_password(self.service, key, value)
        except Exception as exc:  # noqa: BLE001
            raise self._failure("write", exc) from None

    def _failure(self, action: str, exc: Exception) -> KeyringError:
        from keyring.errors import KeyringLocked

        if isinstance(exc, KeyringLocked):
            return KeyringError(
                f"the keyring is locked ({self.backend_name}); cannot {action} sessions",
                fix="unlock it (log in to the desktop session, or open Passwords and Keys), "
                "then try again")
        return KeyringError(f"keyring {action} failed ({self.backend_name}): {exc}",
                            fix="check the Secret Service is running and unlocked")

    def _secret_delete(self, key: str) -> None:
        backend = self.backend
        if backend is None:
            self._memory.pop(key, None)
            return
        from keyring.errors import PasswordDeleteError

        try:
            backend.delete_password(self.service, key)
        except PasswordDeleteError:
            pass
        except Exception as exc:  # noqa: BLE001
            raise KeyringError(f"keyring delete failed ({self.backend_name}): {exc}") from None

    # -- index ---------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.state_dir / INDEX_NAME

    def _lock(self):
        from filelock import FileLock

        paths.ensure_private_dir(self.state_dir)
        return FileLock(str(self.state_dir / "sessions.lock"), mode=0o600)

    def read_index(self) -> dict:
        """The index; a missing or corrupted one reads as empty (it is only a cache)."""
        if self.memory_only:
            return self._memory_index
        try:
            data = json.loads(self.index_path.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            return {"version": INDEX_VERSION, "sessions": {}}
        except (OSError, ValueError):
            self.warning = f"session index {self.index_path} was unreadable; starting afresh"
            return {"version": INDEX_VERSION, "sessions": {}}
        if not isinstance(data, dict) or not isinstance(data.get("sessions"), dict):
            self.warning = f"session index {self.index_path} was malformed; starting afresh"
            return {"version": INDEX_VERSION, "sessions": {}}
        data["sessions"] = {k: e for k, e in data["sessions"].items() if isinstance(e, dict)}
        return data

    def _update_index(self, change) -> None:
        if self.backend is None:  # memory only: other processes could not read the secrets
            change(self._memory_index)
            return
        try:
            with self._lock():
                data = self.read_index()
                change(data)
                write_private(self.index_path, json.dumps(data, indent=1).encode(),
                              durable=False)
        except OSError as exc:
            raise FileWriteError(f"cannot write session index {self.index_path}: {exc}") from None

    # -- sessions ------------------------------------------------------------------------

    @property
    def clock_skew(self) -> float:
        """Seconds STS's clock runs ahead of ours, as last measured (0 if never)."""
        if self._skew is None:
            value = self.read_index().get("clock_skew", 0.0)
            self._skew = float(value) if isinstance(value, int | float) else 0.0
        return self._skew

    @clock_skew.setter
    def clock_skew(self, value: float) -> None:
        self._skew = value  # saved with the next put

    def sessions(self) -> list[Session]:
        """Every indexed session (no secrets loaded)."""
        out = []
        for key, entry in self.read_index()["sessions"].items():
            try:
                out.append(Session.from_index(key, entry))
            except (KeyError, TypeError, ValueError):
                continue
        return out

    def get(self, key: str) -> Session | None:
        """The session with its credentials, or None if either half is missing."""
        entry = self.read_index()["sessions"].get(key)
        if entry is None:
            return None
        secret = self._fast_secret(entry.get("backend"), key) or self._secret_get(key)
        if secret is None:
            return None
        try:
            return Session.from_index(key, entry, Credentials.from_process_json(json.loads(secret)))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, session: Session, stamp: str = "", refresh_window: int = 300) -> None:
        self.put_many([session], stamp, refresh_window)

    def put_many(self, sessions: list[Session], stamp: str = "",
                 refresh_window: int = 300) -> None:
        """Store secrets in the keyring, then index them in one locked rewrite. An entry
        for the same role under an older key (the config changed) is superseded."""
        secrets = {s.key: json.dumps(s.credentials.to_process_json())
                   for s in sessions if s.credentials is not None}
        done = self._bulk_set(secrets)
        for key, secret in secrets.items():
            if key not in done:
                self._secret_set(key, secret)
        stale: list[str] = []

        def change(data: dict) -> None:
            indexed = data["sessions"]
            fresh = {(s.role, s.kind): s.key for s in sessions}
            stale[:] = [k for k, e in indexed.items()
                        if fresh.get((e.get("role"), e.get("kind")), k) != k]
            for key in stale:
                del indexed[key]
            for session in sessions:
                entry = session.to_index()
                entry.update(stamp=stamp, refresh_window=refresh_window,
                             backend=self.backend_name)
                indexed[session.key] = entry
            if self._skew is not None:
                data["clock_skew"] = round(self._skew, 1)

        self._update_index(change)
        for key in stale:  # superseded by a config change: drop the orphaned secret too
            self._secret_delete(key)

    def orphans(self) -> list[str]:
        """Keys with a secret under our service but no index entry (Secret Service only:
        other backends cannot be enumerated)."""
        opened = self._secret_service()
        if opened is None:
            return []
        connection, collection = opened
        indexed = set(self.read_index()["sessions"])
        with closing(connection):
            return [key for item in collection.search_items({"service": self.service})
                    if (key := item.get_attributes().get("username")) and key not in indexed]

    def _secret_service(self):
        """One Secret Service connection and the default collection, for bulk work; None
        when the backend is another one or the collection is locked."""
        from profiles.sessions.fastpath import SECRET_SERVICE

        if self.memory_only or self.backend_name != SECRET_SERVICE:
            return None
        import secretstorage

        connection = secretstorage.dbus_init()
        collection = secretstorage.get_default_collection(connection)
        if collection.is_locked():
            connection.close()
            return None
        return connection, collection

    def _bulk_set(self, secrets: dict[str, str]) -> set[str]:
        """Store many secrets over one connection, as keyring's SecretService backend
        would (same attributes and label), so either can read them back."""
        opened = self._secret_service() if len(secrets) > 1 else None
        if opened is None:
            return set()
        connection, collection = opened
        with closing(connection):
            for key, secret in secrets.items():
                attributes = {"username": key, "service": self.service,
                              "application": "Python keyring library"}
                collection.create_item(f"Password for '{key}' on '{self.service}'",
                                       attributes, secret.encode(), replace=True)
        return set(secrets)

    def _bulk_delete(self, keys: set[str]) -> set[str]:
        """Delete many Secret Service items over one connection; returns those done."""
        opened = self._secret_service() if len(keys) > 1 else None
        if opened is None:
            return set()
        connection, collection = opened
        done = set()
        with closing(connection):
            for item in collection.search_items({"service": self.service}):
                key = item.get_attributes().get("username")
                if key in keys:
                    item.delete()
                    done.add(key)
        return done

    def forget(self, keys: list[str]) -> int:
        done = self._bulk_delete(set(keys))
        for key in keys:
            if key not in done:
                self._secret_delete(key)

        def change(data: dict) -> None:
            for key in keys:
                data["sessions"].pop(key, None)

        self._update_index(change)
        return len(keys)
