"""The inventory as the files say now, for processes that outlive an edit (``serve``, the
board's endpoint, ``exec --server``): a role removed from the AWS files or the catalog is
gone, a re-pointed one is the new one, as the next CLI command would see them.

Each look costs four ``stat`` calls: the same stamp (path, inode, mtime and size of the
AWS config, the credentials file, the catalog and the IAM Identity Center roster) that
keys the inventory snapshot. Only a changed stamp loads again (from the snapshot when
another command already wrote it), and while a file is younger than the snapshot's
settling second every look loads again, since a second edit within one timestamp tick
would keep the stamp; an inventory loaded again but equal to the one in use is not
taken up (a touched file changes nothing). A file that no longer parses is that error
for every look until it changes again.
"""

from __future__ import annotations

import threading

from profiles.config import snapshot
from profiles.config.inventory import Inventory
from profiles.errors import RolecallError


class Follower:
    """``current()``: the inventory for the files as they are now."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._files = snapshot.files_of(inventory)
        self._stamp = inventory.stamp or snapshot.file_stamp(self._files)
        self._settled = snapshot.settled(self._stamp)
        self._error: RolecallError | None = None
        self._lock = threading.Lock()
        self.loads = 0  # inventories loaded since the first (for the tests)

    def current(self) -> Inventory:
        """The inventory now; raises the error of a file that does not parse."""
        stamp = snapshot.file_stamp(self._files)
        if stamp == self._stamp and self._settled:
            if self._error is not None:
                raise self._error
            return self.inventory
        with self._lock:
            if stamp != self._stamp or not self._settled:
                self.loads += 1
                self._stamp, self._settled = stamp, snapshot.settled(stamp)
                try:
                    loaded = snapshot.load(*self._files[:3])
                    self._error = None
                except RolecallError as exc:
                    self._error = exc
                else:
                    if _facts(loaded) != _facts(self.inventory):
                        self.inventory = loaded  # else the same one: nothing to redo
            if self._error is not None:
                raise self._error
            return self.inventory


def _facts(inv: Inventory) -> tuple:
    """What an inventory says (its errors by their words: exceptions compare by identity)."""
    broken = {name: (error.message, error.fix) for name, error in inv.broken.items()}
    return inv.roles, inv.bases, inv.accounts, inv.settings, inv.sso_sessions, broken
