"""The secret half of the session cache: a secure keyring backend, or memory only.

On the Secret Service (gnome-keyring, KeePassXC) every item is rolecall's own
(:mod:`profiles.sessions.secret_service`): nothing else stored under the same service
name is ever read, replaced or deleted. Any other backend (the macOS Keychain, the
Windows Credential Locker, the kernel keyring) offers only get, set and delete by
service and name: there an item is rolecall's when its payload names the key it is
stored under, and nothing else is ever deleted. Which backend, and the notice when it
is not a desktop keyring, is :mod:`profiles.sessions.backends`'s.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator

from profiles.errors import KeyringError
from profiles.sessions import secret_service
from profiles.sessions.backends import NO_KEYRING_FIX, describe, first_time, select_backend
from profiles.sessions.fastpath import KERNEL, SECRET_SERVICE, read_secret

__all__ = ["NO_KEYRING_FIX", "KeyringStore", "owned", "select_backend"]
# keyring costs about 100 ms to import (secretstorage, in secret_service.py, about 40):
# each is imported where it is first needed, so a warm hit (read over jeepney, or from
# the kernel keyring) and the read-only commands pay for neither.


def owned(key: str, secret: str | None) -> bool:
    """Whether ``secret``, stored under ``key``, is rolecall's: a JSON object naming the
    key (``Key``; long-lived keys name theirs as ``Name``). On a backend without
    attributes this is what tells rolecall's items from another application's."""
    if not secret:
        return False
    try:
        data = json.loads(secret)
    except ValueError:
        return False
    return isinstance(data, dict) and key in (data.get("Key"), data.get("Name"))


class KeyringStore:
    """Secrets by key under one keyring service; the backend is resolved on first use."""

    def __init__(self, service: str, backend: object | None = None,
                 memory_only: bool = False) -> None:
        self.service = service
        self.warning: str | None = None
        self._memory: dict[str, str] = {}
        self._backend = backend
        self._resolved = backend is not None or memory_only
        self._resolving = threading.Lock()
        self._writing = threading.Lock()  # one Secret Service write at a time
        self._holds = 0
        self._held: secret_service.Items | None = None
        self.memory_only = memory_only

    @property
    def backend(self) -> object | None:
        if not self._resolved:
            with self._resolving:  # threads of a run share one store: resolved once
                if not self._resolved:
                    backend, warning = select_backend()
                    self._backend, self.warning = backend, warning
                    self.memory_only = backend is None
                    self._resolved = True  # last: no thread sees a half-made backend
        return self._backend

    @property
    def backend_name(self) -> str:
        backend = self.backend
        return "memory" if backend is None else describe(backend)

    def take_warning(self) -> str | None:
        """The store's notice if it has not been given yet (by this process, or by any
        before it with the same state dir): a board, a server and a shell's commands
        assume many times, and the notice is worth reading once."""
        warning = self.warning
        return warning if warning is not None and first_time(warning) else None

    @property
    def secret_service(self) -> bool:
        return not self.memory_only and self.backend_name == SECRET_SERVICE

    def _items(self) -> secret_service.Items:
        return secret_service.open_items(self.service, self.backend)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """While held, writes share one Secret Service connection and its encrypted
        session (a new one costs a key exchange: ~20 ms a write instead of ~6): a run
        stores its sessions over one. Writes are one at a time in any case (the daemon
        serves one; eight threads' connections at once took seconds)."""
        with self._writing:
            self._holds += 1
        try:
            yield
        finally:
            with self._writing:
                self._holds -= 1
                if not self._holds:
                    self._drop_held()

    def _writer(self) -> contextlib.AbstractContextManager:
        """The held connection (opened on first use), else a new one for this write."""
        if not self._holds:
            return self._items()
        if self._held is None:
            self._held = self._items()
        return self._held_use()

    @contextlib.contextmanager
    def _held_use(self) -> Iterator[secret_service.Items]:
        items = self._held
        assert items is not None
        try:
            yield items
        except BaseException as exc:
            self._drop_held()  # a broken connection is not reused
            from secretstorage.exceptions import LockedException  # loaded with it

            if isinstance(exc, LockedException):
                raise secret_service.Locked(str(exc)) from None
            raise

    def _drop_held(self) -> None:
        if self._held is not None:
            with contextlib.suppress(Exception):
                self._held.connection.close()
            self._held = None

    def fast_get(self, backend: str | None, key: str, item: str | None = None) -> str | None:
        """Read rolecall's Secret Service or kernel keyring item without resolving a
        keyring backend (the common case for a warm cache); any doubt returns None and
        :meth:`get` decides."""
        if backend not in (SECRET_SERVICE, KERNEL) or self.memory_only or os.environ.get(
                "PYTHON_KEYRING_BACKEND"):
            return None
        try:
            return read_secret(backend, self.service, key, item)
        except Exception:  # noqa: BLE001
            return None

    def get(self, key: str) -> str | None:
        backend = self.backend
        if backend is None:
            return self._memory.get(key)
        try:
            if self.secret_service:
                with self._items() as items:
                    return items.read(key)
            return backend.get_password(self.service, key)
        except Exception as exc:  # noqa: BLE001 - backends raise many types
            raise self.failure("read", exc) from None

    def set_many(self, secrets: dict[str, tuple[str, str]]) -> dict[str, str]:
        """Store ``{key: (secret, label)}``: over one Secret Service connection, or one
        keyring call each. Returns the Secret Service object path of each item stored."""
        backend = self.backend
        if not secrets:
            return {}
        if backend is None:
            self._memory.update({key: secret for key, (secret, _) in secrets.items()})
            return {}
        try:
            if self.secret_service:
                with self._writing, self._writer() as items:
                    return {key: items.store(key, secret, label)
                            for key, (secret, label) in secrets.items()}
            for key, (secret, _) in secrets.items():
                backend.set_password(self.service, key, secret)
            return {}
        except Exception as exc:  # noqa: BLE001
            raise self.failure("write", exc) from None

    def delete(self, keys: list[str]) -> None:
        """Delete the secrets of ``keys``, rolecall's items only: on the Secret Service
        those with its schema, elsewhere those whose payload names the key (an item
        another application stored under the same service and name stays)."""
        backend = self.backend
        if backend is None:
            for key in keys:
                self._memory.pop(key, None)
            return
        if not keys:
            return
        try:
            if self.secret_service:
                with self._items() as items:
                    items.delete(keys)
                return
            from keyring.errors import PasswordDeleteError  # lazy: see above

            for key in keys:
                if owned(key, backend.get_password(self.service, key)):
                    with contextlib.suppress(PasswordDeleteError):
                        backend.delete_password(self.service, key)
        except Exception as exc:  # noqa: BLE001
            raise self.failure("delete", exc) from None

    def keys(self) -> set[str]:
        """Every key rolecall stored (Secret Service only: others cannot be enumerated)."""
        if not self.secret_service:
            return set()
        try:
            with self._items() as items:
                return items.keys()
        except Exception as exc:  # noqa: BLE001
            raise self.failure("read", exc) from None

    def adopt(self, keys: list[str]) -> None:
        """Mark as rolecall's the items an older rolecall stored under ``keys``."""
        if keys and self.secret_service:
            try:
                with self._items() as items:
                    items.adopt(keys)
            except Exception as exc:  # noqa: BLE001
                raise self.failure("update", exc) from None

    def failure(self, action: str, exc: Exception) -> KeyringError:
        if self.backend_name == KERNEL:
            from profiles.sessions.kernel_keyring import QuotaFull  # loaded with the backend

            if isinstance(exc, QuotaFull):
                return KeyringError(
                    f"cannot {action} sessions: the kernel keyring's quota for this user is "
                    "spent", fix="forget sessions you no longer need (rolecall forget "
                    "--all), or raise the quota: sudo sysctl kernel.keys.maxbytes=1000000")
            return KeyringError(f"kernel keyring {action} failed: {exc.strerror or exc}"
                                if isinstance(exc, OSError) else
                                f"kernel keyring {action} failed: {exc}",
                                fix="run rolecall from a login session (a shell of this "
                                "login), or start a Secret Service")
        from keyring.errors import KeyringLocked  # lazy: loaded already with any backend

        if isinstance(exc, secret_service.Locked | KeyringLocked):
            return KeyringError(
                f"the keyring is locked ({self.backend_name}); cannot {action} sessions",
                fix="unlock it (log in to the desktop session, or open Passwords and Keys), "
                "then try again")
        return KeyringError(f"keyring {action} failed ({self.backend_name}): {exc}",
                            fix="check the Secret Service is running and unlocked")
