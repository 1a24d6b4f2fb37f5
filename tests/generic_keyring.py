"""A stand-in for the macOS Keychain and the Windows Credential Locker as rolecall sees
them through ``keyring``: get, set and delete a password by service and name, nothing
else (no attributes, no search, no enumeration). Items live in a JSON file named by
``ROLECALL_TEST_KEYRING_FILE`` (outside every test's HOME), under a lock, so the
``python -m tui`` processes of a test share them as they would share a real keychain.

Select it with ``PYTHON_KEYRING_BACKEND=tests.generic_keyring.GenericKeyring`` (the
repository on ``PYTHONPATH``), or set ``ROLECALL_TEST_KEYRING=generic`` for the test
suite (``tests/conftest.py``). A test stand-in only: it stores secrets in plaintext.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE = "ROLECALL_TEST_KEYRING_FILE"
NAME = f"{__name__}.GenericKeyring"


class GenericKeyring(KeyringBackend):
    """keyring's generic API over a locked JSON file: ``{service: {name: password}}``."""

    priority = 1  # only ever chosen explicitly

    @property
    def path(self) -> str:
        path = os.environ.get(FILE)
        if not path:
            raise RuntimeError(f"{FILE} is not set")
        return path

    @contextlib.contextmanager
    def _items(self, write: bool) -> Iterator[dict]:
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            try:
                with open(self.path) as handle:
                    items = json.load(handle)
            except FileNotFoundError:
                items = {}
            yield items
            if write:
                tmp = f"{self.path}.{os.getpid()}.tmp"
                with open(tmp, "w") as handle:
                    json.dump(items, handle)
                os.replace(tmp, self.path)

    def get_password(self, service: str, username: str) -> str | None:
        with self._items(write=False) as items:
            return items.get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._items(write=True) as items:
            items.setdefault(service, {})[username] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._items(write=True) as items:
            if username not in items.get(service, {}):
                raise PasswordDeleteError("no such password")
            del items[service][username]


def everything(path: str) -> dict[str, dict[str, str]]:
    """Every item in the stand-in's file (for tests' assertions)."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}
