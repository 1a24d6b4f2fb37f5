"""The session cache: secrets in the OS keyring, a non-secret index in the state dir.

The index (role, ARN, expiry, parent) lets ``list`` and ``sessions`` run without a
keyring round trip per role, and lets the credential_process fast path find a session
without parsing any config. Secrets never touch it. With no secure keyring backend,
sessions live in this process's memory only, and the cache says so (once per process).
On the Secret Service, items are rolecall's own (see :mod:`profiles.sessions.secret_service`):
nothing else stored under the same service name is ever read, replaced or deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
from pathlib import Path

from profiles import paths
from profiles.errors import FileWriteError, KeyringError
from profiles.model import Credentials, Session
from profiles.sessions import secret_service
from profiles.sessions.fastpath import SECRET_SERVICE, read_secret

INDEX_NAME = "sessions.json"
INDEX_VERSION = 2  # 2: every indexed Secret Service item carries rolecall's schema
_INSECURE_MODULES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")
NO_KEYRING_FIX = (
    "start and unlock a Secret Service (gnome-keyring or KeePassXC; on Debian or Ubuntu: "
    "apt install gnome-keyring), or name a secure backend in PYTHON_KEYRING_BACKEND")
_given: set[str] = set()  # notices already shown by this process
_given_lock = threading.Lock()


def _describe(backend: object) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


# keyring costs about 100 ms to import, secretstorage about 40 ms and filelock a few:
# each is imported where it is first needed, so a warm hit (read over jeepney) and the
# read-only commands pay for none of them.


def _is_secure(backend: object) -> bool:
    from keyring.backends.chainer import ChainerBackend  # lazy: see above

    if isinstance(backend, ChainerBackend):
        return bool(backend.backends) and all(_is_secure(b) for b in backend.backends)
    return not type(backend).__module__.startswith(_INSECURE_MODULES)


def select_backend() -> tuple[object | None, str | None]:
    """The keyring backend to use, or None with the reason (no secure backend found).

    An explicitly configured backend (``PYTHON_KEYRING_BACKEND`` or keyringrc.cfg) is
    honoured. On Linux the Secret Service is tried directly, skipping keyring's
    entry-point scan (about 90 ms per command); elsewhere keyring picks.
    """
    from keyring.core import load_config, load_env  # lazy: see above

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
    import keyring  # lazy: see above

    backend = keyring.get_keyring()
    if _is_secure(backend):
        return backend, None
    return None, (
        f"no secure keyring backend (found {_describe(backend)}): sessions are kept in "
        f"memory for this run only\n  fix: {NO_KEYRING_FIX}"
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

    def take_warning(self) -> str | None:
        """The cache's notice if this process has not shown it yet (a board or a server
        assumes many times; the notice is worth one line)."""
        warning = self.warning
        if warning is None:
            return None
        with _given_lock:
            if warning in _given:
                return None
            _given.add(warning)
        return warning

    @property
    def _secret_service(self) -> bool:
        return not self.memory_only and self.backend_name == SECRET_SERVICE

    def _items(self) -> secret_service.Items:
        return secret_service.open_items(self.service, self.backend)

    def _fast_secret(self, backend: str | None, key: str) -> str | None:
        """Read rolecall's Secret Service item without resolving a keyring backend (the
        common case for a warm cache); any doubt returns None and the keyring path decides."""
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
            if self._secret_service:
                with self._items() as items:
                    return items.read(key)
            return backend.get_password(self.service, key)
        except Exception as exc:  # noqa: BLE001 - backends raise many types
            raise self._failure("read", exc) from None

    def _secrets_set(self, secrets: dict[str, tuple[str, str]]) -> None:
        """Store ``{key: (secret, label)}``: over one Secret Service connection, or one
        keyring call each."""
        backend = self.backend
        if not secrets:
            return
        if backend is None:
            self._memory.update({key: secret for key, (secret, _) in secrets.items()})
            return
        try:
            if self._secret_service:
                with self._items() as items:
                    for key, (secret, label) in secrets.items():
                        items.store(key, secret, label)
                return
            for key, (secret, _) in secrets.items():
                backend.set_password(self.service, key, secret)
        except Exception as exc:  # noqa: BLE001
            raise self._failure("write", exc) from None

    def _secrets_delete(self, keys: list[str]) -> None:
        """Delete the secrets of ``keys``: on the Secret Service only rolecall's items."""
        backend = self.backend
        if backend is None:
            for key in keys:
                self._memory.pop(key, None)
            return
        if not keys:
            return
        try:
            if self._secret_service:
                with self._items() as items:
                    items.delete(keys)
                return
            from keyring.errors import PasswordDeleteError  # lazy: see above

            for key in keys:
                with contextlib.suppress(PasswordDeleteError):
                    backend.delete_password(self.service, key)
        except Exception as exc:  # noqa: BLE001
            raise self._failure("delete", exc) from None

    def _failure(self, action: str, exc: Exception) -> KeyringError:
        from keyring.errors import KeyringLocked  # lazy: loaded already with any backend

        if isinstance(exc, secret_service.Locked | KeyringLocked):
            return KeyringError(
                f"the keyring is locked ({self.backend_name}); cannot {action} sessions",
                fix="unlock it (log in to the desktop session, or open Passwords and Keys), "
                "then try again")
        return KeyringError(f"keyring {action} failed ({self.backend_name}): {exc}",
                            fix="check the Secret Service is running and unlocked")

    # -- index ---------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.state_dir / INDEX_NAME

    def _lock(self):
        from filelock import FileLock  # lazy: see above

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
                self._adopt(data)
                change(data)
                write_private(self.index_path, json.dumps(data, indent=1).encode(),
                              durable=False)
        except OSError as exc:
            raise FileWriteError(f"cannot write session index {self.index_path}: {exc}") from None

    def _adopt(self, data: dict) -> None:
        """Once per index: the Secret Service items an older rolecall stored (keyring's
        attributes only) are marked as rolecall's, if the index names them; an unindexed
        item is nobody's we can prove, so it is left alone. Idempotent."""
        if data.get("version") == INDEX_VERSION:
            return
        keys = [k for k, e in data["sessions"].items() if e.get("backend") == SECRET_SERVICE]
        if keys and self._secret_service:
            try:
                with self._items() as items:
                    items.adopt(keys)
            except Exception as exc:  # noqa: BLE001
                raise self._failure("update", exc) from None
        data["version"] = INDEX_VERSION

    def _adopted(self, data: dict) -> dict:
        """``data``, after adopting older items if it predates the schema (then re-read)."""
        if data.get("version") == INDEX_VERSION or self.memory_only:
            return data
        self._update_index(lambda _: None)
        return self.read_index()

    # -- sessions ------------------------------------------------------------------------

    @property
    def clock_skew(self) -> float:
        """Seconds STS's clock runs ahead of ours, as last measured (0 if never). It
        corrects countdowns only: freshness is judged by the local clock."""
        if self._skew is None:
            value = self.read_index().get("clock_skew", 0.0)
            self._skew = float(value) if isinstance(value, int | float) else 0.0
        return self._skew

    @clock_skew.setter
    def clock_skew(self, value: float) -> None:
        self._skew = value  # saved with the next put

    def sessions(self, index: dict | None = None) -> list[Session]:
        """Every indexed session (no secrets loaded)."""
        out = []
        for key, entry in (index or self.read_index())["sessions"].items():
            try:
                out.append(Session.from_index(key, entry))
            except (KeyError, TypeError, ValueError):
                continue
        return out

    def indexed(self, key: str, index: dict) -> Session | None:
        """The indexed session ``key`` of ``index`` (no secrets), or None."""
        entry = index["sessions"].get(key)
        try:
            return None if entry is None else Session.from_index(key, entry)
        except (KeyError, TypeError, ValueError):
            return None

    def get(self, key: str, index: dict | None = None) -> Session | None:
        """The session with its credentials, or None if either half is missing."""
        index = self._adopted(index or self.read_index())
        entry = index["sessions"].get(key)
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
        self._secrets_set({s.key: (json.dumps(s.credentials.to_process_json()),
                                   f"rolecall session: {s.role}")
                           for s in sessions if s.credentials is not None})
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
        self._secrets_delete(stale)  # superseded by a config change: the secret goes too

    def restamp(self, key: str, stamp: str, refresh_window: int, region: str | None) -> None:
        """Record that session ``key`` still serves its profile as configured now (stamp,
        refresh window, region), so the fast path serves it again after a config edit."""
        def change(data: dict) -> None:
            entry = data["sessions"].get(key)
            if entry is not None:
                entry.update(stamp=stamp, refresh_window=refresh_window, region=region)

        self._update_index(change)

    def orphans(self) -> list[str]:
        """Keys of rolecall's Secret Service items that no index entry names (other
        backends cannot be enumerated). Items without rolecall's schema are not ours."""
        if not self._secret_service:
            return []
        indexed = set(self._adopted(self.read_index())["sessions"])
        try:
            with self._items() as items:
                return sorted(items.keys() - indexed)
        except Exception as exc:  # noqa: BLE001
            raise self._failure("read", exc) from None

    def forget(self, keys: list[str]) -> int:
        """Drop the sessions ``keys`` (secret and index entry); returns how many."""
        self._adopted(self.read_index())  # an older item is ours once the index names it
        self._secrets_delete(keys)

        def change(data: dict) -> None:
            for key in keys:
                data["sessions"].pop(key, None)

        self._update_index(change)
        return len(keys)
