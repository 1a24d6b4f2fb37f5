"""The session cache: secrets in the OS keyring, a non-secret index in the state dir.

The index (role, ARN, expiry, parent, what each session was asked with) lets ``list``
and ``sessions`` run without a keyring round trip per role, and lets the
credential_process fast path find a session without parsing any config. Secrets never
touch it; they are :class:`~profiles.sessions.keyring_store.KeyringStore`'s (memory
only, said once, when no secure backend exists).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from profiles import paths
from profiles.doors import statefiles
from profiles.errors import FileWriteError
from profiles.model import Credentials, Session
from profiles.sessions.fastpath import KERNEL, SECRET_SERVICE
from profiles.sessions.keyring_store import KeyringStore

INDEX_NAME = "sessions.json"
INDEX_VERSION = 2  # 2: every indexed Secret Service item carries rolecall's schema


class SessionCache:
    """Keyring-backed cache of temporary sessions, keyed by their assume parameters."""

    def __init__(self, state_dir: Path | None = None, service: str | None = None,
                 backend: object | None = None, memory_only: bool = False) -> None:
        self.state_dir = state_dir or paths.state_dir()
        self.service = service or paths.keyring_service()
        self.secrets = KeyringStore(self.service, backend, memory_only)
        self._memory_index: dict = {"version": INDEX_VERSION, "sessions": {}}
        self._index_lock = threading.RLock()  # read_index may run under it (memory only)
        self._skew: float | None = None

    # -- the keyring half -----------------------------------------------------------

    @property
    def backend(self) -> object | None:
        return self.secrets.backend

    @property
    def backend_name(self) -> str:
        return self.secrets.backend_name

    @property
    def memory_only(self) -> bool:
        return self.secrets.memory_only

    @property
    def warning(self) -> str | None:
        return self.secrets.warning

    @warning.setter
    def warning(self, value: str | None) -> None:
        self.secrets.warning = value

    def take_warning(self) -> str | None:
        """The cache's notice, once per process (see :meth:`KeyringStore.take_warning`)."""
        return self.secrets.take_warning()

    # -- index ---------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.state_dir / INDEX_NAME

    def _lock(self):
        from filelock import FileLock  # only writers lock: readers never import it

        paths.ensure_private_dir(self.state_dir)
        return FileLock(str(self.state_dir / "sessions.lock"), mode=0o600)

    def read_index(self) -> dict:
        """The index; a missing or corrupted one reads as empty (it is only a cache)."""
        if self.memory_only:
            with self._index_lock:  # a copy: another thread may be changing it
                return {**self._memory_index, "sessions": dict(self._memory_index["sessions"])}
        # A fifo, directory or dangling link there is refused (exit 2), never waited on.
        raw = statefiles.read_bytes(self.index_path)
        if raw is None:
            return {"version": INDEX_VERSION, "sessions": {}}
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            self.warning = f"session index {self.index_path} was unreadable; starting afresh"
            return {"version": INDEX_VERSION, "sessions": {}}
        if not isinstance(data, dict) or not isinstance(data.get("sessions"), dict):
            self.warning = f"session index {self.index_path} was malformed; starting afresh"
            return {"version": INDEX_VERSION, "sessions": {}}
        data["sessions"] = {k: e for k, e in data["sessions"].items() if isinstance(e, dict)}
        return data

    def _update_index(self, change) -> None:
        if self.backend is None:  # memory only: other processes could not read the secrets
            with self._index_lock:  # a run's threads share it: one change at a time
                change(self._memory_index)
            return
        try:
            # This process's threads queue on a lock of their own (the file lock makes
            # a waiter poll every 50 ms); the file lock keeps other processes out.
            with self._index_lock, self._lock():
                data = self.read_index()
                self._adopt(data)
                change(data)
                statefiles.write_private(self.index_path, json.dumps(data, indent=1).encode(),
                                         durable=False)
        except OSError as exc:
            raise FileWriteError(f"cannot write session index {self.index_path}: {exc}") from None

    def _adopt(self, data: dict) -> None:
        """Once per index: the Secret Service items an older rolecall stored (keyring's
        attributes only) are marked as rolecall's, if the index names them; an unindexed
        item is nobody's we can prove, so it is left alone. Idempotent."""
        if data.get("version") == INDEX_VERSION:
            return
        self.secrets.adopt([k for k, e in data["sessions"].items()
                            if e.get("backend") == SECRET_SERVICE])
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
        """Every indexed session (no secrets loaded), but those the kernel keyring held
        for a login that has ended, or for another login (this one cannot read them)."""
        out = []
        for key, entry in (index or self.read_index())["sessions"].items():
            if entry.get("backend") == KERNEL and not self._in_kernel(key):
                continue
            try:
                out.append(Session.from_index(key, entry))
            except (KeyError, TypeError, ValueError):
                continue
        return out

    def _in_kernel(self, key: str) -> bool:
        from profiles.sessions import kernel_keyring  # lazy: ctypes only for its entries

        try:
            return kernel_keyring.find(self.service, key) is not None
        except OSError:  # no kernel keyring here at all: nothing of it is usable
            return False

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
        secret = (self.secrets.fast_get(entry.get("backend"), key, entry.get("item"))
                  or self.secrets.get(key))
        if secret is None:
            return None
        try:
            payload = json.loads(secret)
            if payload.get("Key", key) != key:  # another session's item: not this one
                return None
            return Session.from_index(key, entry, Credentials.from_process_json(payload))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, session: Session, stamp: str = "", refresh_window: int = 300) -> None:
        self.put_many([session], stamp, refresh_window)

    def put_many(self, sessions: list[Session], stamp: str = "",
                 refresh_window: int = 300) -> None:
        """Store secrets in the keyring, then index them in one locked rewrite. An entry
        for the same role under an older key (the config changed) is superseded."""
        # The payload names its cache key: the fast path, reading an item by the path the
        # index records (no search), serves it only if it is still this session's.
        items = self.secrets.set_many({
            s.key: (json.dumps({**s.credentials.to_process_json(), "Key": s.key}),
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
                if session.key in items:
                    entry["item"] = items[session.key]
                indexed[session.key] = entry
            if self._skew is not None:
                data["clock_skew"] = round(self._skew, 1)

        self._update_index(change)
        self.secrets.delete(stale)  # superseded by a config change: the secret goes too

    def put_token(self, session: Session, payload: dict[str, str], stamp: str = "") -> None:
        """Cache a secret made from a session that is no session itself (an EKS token):
        ``payload`` in the keyring (naming its key, as sessions' do), ``session`` (its
        kind and ``params`` saying what it is for) in the index. An entry of the same
        role, kind and params under another key (the role's config changed) goes."""
        items = self.secrets.set_many({session.key: (
            json.dumps({**payload, "Key": session.key}),
            f"rolecall {session.kind} token: {session.role}")})
        stale: list[str] = []
        same = (session.role, session.kind, session.params)

        def change(data: dict) -> None:
            indexed = data["sessions"]
            stale[:] = [k for k, e in indexed.items() if k != session.key
                        and (e.get("role"), e.get("kind"), e.get("params")) == same]
            for key in stale:
                del indexed[key]
            entry = session.to_index()
            entry.update(stamp=stamp, backend=self.backend_name)
            if session.key in items:
                entry["item"] = items[session.key]
            indexed[session.key] = entry

        self._update_index(change)
        self.secrets.delete(stale)

    def payload(self, key: str, index: dict | None = None) -> dict | None:
        """The secret stored for index entry ``key`` (a token's), if it names ``key``."""
        entry = (index or self.read_index())["sessions"].get(key)
        if entry is None:
            return None
        secret = (self.secrets.fast_get(entry.get("backend"), key, entry.get("item"))
                  or self.secrets.get(key))
        try:
            data = json.loads(secret or "null")
        except ValueError:
            return None
        return data if isinstance(data, dict) and data.get("Key") == key else None

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
        if not self.secrets.secret_service:
            return []
        indexed = set(self._adopted(self.read_index())["sessions"])
        return sorted(self.secrets.keys() - indexed)

    def forget(self, keys: list[str]) -> int:
        """Drop the sessions ``keys`` (secret and index entry); returns how many."""
        self._adopted(self.read_index())  # an older item is ours once the index names it
        self.secrets.delete(keys)

        def change(data: dict) -> None:
            for key in keys:
                data["sessions"].pop(key, None)

        self._update_index(change)
        return len(keys)
