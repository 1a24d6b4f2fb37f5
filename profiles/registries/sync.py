"""Syncing a registry: fetch with git, check the new copy whole, swap it in.

A sync never leaves half a copy: the catalog (and every trust policy it names) is read
from git's object store, checked as the inventory will check it, and only then written
over the last good copy in one rename. A sync that fails (unreachable, a ref that went
away, a catalog that no longer parses) keeps the last good copy and records why, so the
next ``list`` or board says so once.

On use, registries are synced at most once a day (``due``): ``list`` starts the sync in
a process of its own and goes on with the copies it has (``start_due``), the board in a
worker; neither ever waits for a remote.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from profiles import paths
from profiles.doors import children
from profiles.errors import ConfigError, RolecallError
from profiles.registries import copies, git, merge
from profiles.registries.spec import Registry, inside

DAY = 86400
POLICY_MAX = 1 << 20  # a trust policy is at most a few KiB (profiles.trust.policy.MAX_BYTES)


@dataclass(frozen=True)
class Outcome:
    """What one sync did."""

    name: str
    ok: bool
    commit: str | None = None
    changed: bool = False
    error: RolecallError | None = None
    kept: float | None = None  # after a failure: when the copy still used was fetched


def build(registry: Registry, repo: Path, *, interactive: bool = False,
          timeout: float = git.TIMEOUT, clock: Callable[[], float] = time.time) -> copies.Copy:
    """A new copy of ``registry``: fetched, read from git's objects and checked."""
    commit = git.fetch(repo, registry.url, registry.ref, interactive=interactive,
                       timeout=timeout)
    where = merge.label(registry.name, registry.path)
    data = git.read_file(repo, commit, registry.path, merge.MAX_CATALOG)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{where}: line {line} is not UTF-8 text",
                          fix="ask its maintainers to save it as UTF-8") from None
    copy = copies.Copy(registry.url, registry.ref, registry.path, commit, clock(), text)
    found = merge.parse(registry, copy)  # what spoils the whole file refuses the copy
    policies: dict[str, str] = {}
    missing: dict[str, str] = {}
    for name, raw in found.roles.items():
        named = raw.get("trust_policy") if isinstance(raw, dict) else None
        try:
            path = inside(registry.path, named, f"{where}, [roles.{name}]")
        except ConfigError:
            continue  # the role is broken with that error when it is merged
        if path in policies or path in missing:
            continue
        try:
            policies[path] = git.read_file(repo, commit, path, POLICY_MAX).decode("utf-8")
        except git.NotAFile as exc:
            missing[path] = exc.message
        except UnicodeDecodeError:
            missing[path] = f"{path} is not UTF-8 text"
    return replace(copy, policies=policies, missing=missing)


def sync(registry: Registry, *, state_dir: Path | None = None, interactive: bool = False,
         timeout: float = git.TIMEOUT, clock: Callable[[], float] = time.time) -> Outcome:
    """Fetch ``registry`` and swap a new copy in when it differs; on failure keep the
    last good copy and record why (``reported`` False: the next reader says it once)."""
    # lazy: filelock only when a registry syncs
    from filelock import FileLock, Timeout

    name = registry.name
    paths.ensure_private_dir(copies.root(state_dir))
    repo = copies.git_dir(name, state_dir)
    paths.ensure_private_dir(repo.parent)
    try:
        with FileLock(str(repo) + ".lock", mode=0o600, timeout=timeout + 30):
            return _sync(registry, repo, state_dir, interactive, timeout, clock)
    except Timeout:
        return Outcome(name, False, error=git.GitError(
            f"another sync of registry {name} has been running for {int(timeout + 30)}s",
            fix="wait for it, or check for a stuck git process"))


def _sync(registry: Registry, repo: Path, state_dir: Path | None, interactive: bool,
          timeout: float, clock: Callable[[], float]) -> Outcome:
    name = registry.name
    started = clock()
    copies.change_status(name, {"attempted_at": started}, state_dir)
    try:
        old = copies.read(name, state_dir)
    except ConfigError:
        old = None  # what is there is no copy: the new one replaces it
    if old is not None and old.source != registry.source:
        old = None
    try:
        new = build(registry, repo, interactive=interactive, timeout=timeout, clock=clock)
        changed = old is None or replace(old, fetched_at=0) != replace(new, fetched_at=0)
        if changed:
            copies.write(name, new, state_dir)
    except RolecallError as exc:
        copies.change_status(name, {"failed_at": started, "error": exc.message,
                                    "fix": exc.fix, "reported": False}, state_dir)
        return Outcome(name, False, error=exc, kept=old.fetched_at if old else None)
    copies.change_status(name, {"ok_at": started, "failed_at": None, "error": None,
                                "fix": None, "reported": False}, state_dir)
    return Outcome(name, True, new.commit, changed)


# -- on use -----------------------------------------------------------------------------------


def due(registries: dict[str, Registry], statuses: dict[str, dict], now: float) -> list[str]:
    """The registries whose last sync was tried a day ago or more (or never, or in the
    future by this clock)."""
    out = []
    for name in registries:
        tried = statuses.get(name, {}).get("attempted_at")
        if not isinstance(tried, int | float) or not 0 <= now - tried < DAY:
            out.append(name)
    return out


def _lock(state_dir: Path | None) -> int | None:
    """The on-use sync's lock, held (an open descriptor), or None when a sync holds it."""
    try:
        # lazy: flock is POSIX's (a feature test): without it no sync runs on use, and
        # `rolecall registry sync` still does
        import fcntl
    except ImportError:
        return None
    folder = paths.ensure_private_dir(copies.root(state_dir))
    flags = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
             | getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(folder / "sync.lock", flags, 0o600)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a file")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def start_due(registries: dict[str, Registry], *, state_dir: Path | None = None,
              now: float | None = None) -> list[str]:
    """Start a process that syncs the registries that are due, and return at once with
    their names (none: nothing due, or a sync already running). The process holds the
    sync lock until it ends, so no second one starts meanwhile."""
    if not registries:
        return []
    names = due(registries, copies.statuses(state_dir), time.time() if now is None else now)
    if not names:
        return []
    fd = _lock(state_dir)
    if fd is None:
        return []
    try:
        subprocess.Popen(
            [sys.executable, "-m", "tui", "registry", "sync", "--due"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=children.environ(), start_new_session=True, pass_fds=(fd,),
            cwd=copies.root(state_dir))
    except OSError:
        return []
    finally:
        os.close(fd)
    return names


def sync_due(registries: dict[str, Registry], *, state_dir: Path | None = None,
             clock: Callable[[], float] = time.time, lock: bool = True) -> list[Outcome]:
    """Sync the registries that are due, with no terminal (the board's worker, and the
    process ``start_due`` starts, which holds the lock already: ``lock=False``)."""
    fd = _lock(state_dir) if lock else None
    if lock and fd is None:
        return []
    try:
        names = due(registries, copies.statuses(state_dir), clock())
        return [sync(registries[n], state_dir=state_dir, clock=clock) for n in names]
    finally:
        if fd is not None:
            os.close(fd)


def unreported(registries: dict[str, Registry], statuses: dict[str, dict]
               ) -> list[tuple[Registry, dict]]:
    """Failed syncs not yet said, with their records."""
    return [(registries[n], s) for n, s in statuses.items()
            if n in registries and s.get("error") and not s.get("reported")]


def mark_reported(names: list[str], state_dir: Path | None = None) -> None:
    for name in names:
        copies.change_status(name, {"reported": True}, state_dir)
