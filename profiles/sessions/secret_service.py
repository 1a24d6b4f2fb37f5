"""rolecall's own items in the Secret Service (gnome-keyring, KeePassXC), over secretstorage.

Every item rolecall stores carries its own schema attribute (``xdg:schema``, as libsecret
clients mark theirs) beside the ``username`` and ``service`` that keyring's SecretService
backend uses, so keyring can still read them. Reads, replacements, deletions and orphan
sweeps match that attribute too: an item another application stored under the same
service name, even under the same user name, is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from profiles.sessions.fastpath import SCHEMA, SCHEMA_KEY

KEYRING_APPID = "Python keyring library"  # what keyring's SecretService backend records
GENERIC = "org.freedesktop.Secret.Generic"  # the schema of an item stored with none


class Locked(Exception):
    """The collection is locked and unlocking it was refused or dismissed."""


def attributes(service: str, key: str) -> dict[str, str]:
    """The attributes of the item holding the session ``key``."""
    return {"username": key, "service": service, "application": "rolecall",
            SCHEMA_KEY: SCHEMA}


def query(service: str, key: str | None = None) -> dict[str, str]:
    """What finds rolecall's items under ``service`` (one of them, given ``key``)."""
    found = {"service": service, SCHEMA_KEY: SCHEMA}
    if key is not None:
        found["username"] = key
    return found


class Items:
    """One connection to the preferred collection, unlocked as keyring would (asking the
    daemon once; a dismissed prompt is :class:`Locked`)."""

    def __init__(self, service: str, collection: str | None = None) -> None:
        import secretstorage  # D-Bus and crypto: only when the Secret Service is used

        self.service = service
        self.connection = secretstorage.dbus_init()
        try:
            if collection:
                self.collection = secretstorage.Collection(self.connection, collection)
            else:
                self.collection = secretstorage.get_default_collection(self.connection)
            if self.collection.is_locked():
                self.collection.unlock()
                if self.collection.is_locked():
                    raise Locked("the collection is locked")
        except BaseException:
            self.connection.close()
            raise

    def __enter__(self) -> Items:
        return self

    def __exit__(self, kind: object, exc: object, trace: object) -> None:
        self.connection.close()
        from secretstorage.exceptions import LockedException  # loaded with secretstorage

        if isinstance(exc, LockedException):
            raise Locked(str(exc)) from None

    def _ours(self, key: str | None = None):
        return self.collection.search_items(query(self.service, key))

    def read(self, key: str) -> str | None:
        for item in self._ours(key):
            if item.is_locked():
                item.unlock()
                if item.is_locked():
                    raise Locked("the item is locked")
            return item.get_secret().decode()
        return None

    def store(self, key: str, secret: str, label: str) -> str:
        """Create or replace (same attributes: ours alone) the item for ``key``; returns
        its object path (the fast path reads it there without a search)."""
        item = self.collection.create_item(label, attributes(self.service, key),
                                           secret.encode(), replace=True)
        return item.item_path

    def delete(self, keys: Iterable[str]) -> set[str]:
        """Delete rolecall's items for ``keys``; returns the keys deleted."""
        wanted, done = set(keys), set()
        for item in self._ours():
            key = item.get_attributes().get("username", "")
            if key in wanted:
                item.delete()
                done.add(key)
        return done

    def keys(self) -> set[str]:
        """The keys of every item rolecall stored under this service."""
        return {key for item in self._ours() if (key := item.get_attributes().get("username"))}

    def adopt(self, keys: Iterable[str]) -> int:
        """Mark as rolecall's the items for ``keys`` stored before items carried the schema:
        keyring's attributes exactly (gnome-keyring may add the generic schema when it
        rewrites its file). Idempotent; returns how many were marked."""
        wanted, count = set(keys), 0
        for item in self.collection.search_items({"service": self.service,
                                                  "application": KEYRING_APPID}):
            found = item.get_attributes()
            if found.get("username") in wanted and found.get(SCHEMA_KEY, GENERIC) == GENERIC:
                item.set_attributes({**found, **attributes(self.service, found["username"])})
                count += 1
        return count


def open_items(service: str, backend: object | None = None) -> Items:
    """Items of ``service`` in the collection keyring's ``backend`` prefers (its
    ``preferred_collection`` setting), else the default one."""
    return Items(service, getattr(backend, "preferred_collection", None))
