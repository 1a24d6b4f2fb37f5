"""Where registries live in the state dir, and the two records kept of each.

    registries/copies/NAME.json   the last good copy: the catalog's text and the trust
                                  policies it names, with the URL, ref, path and commit
                                  they came from (0600, replaced atomically, whole)
    registries/git/NAME.git       git's shallow bare repository (fetched into)
    registries/status.json        each registry's last sync: when it was tried, when it
                                  last worked, why it failed, whether that was said

A copy is written only once it has been checked whole, so a reader sees the old copy or
the new one, never part of either. Both records are read through the state-file door.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from profiles import paths
from profiles.doors import statefiles
from profiles.errors import ConfigError

VERSION = 1
STATUS = "status.json"


@dataclass(frozen=True)
class Copy:
    """A registry's catalog as fetched: its text and the policies its roles name."""

    url: str
    ref: str | None
    path: str
    commit: str
    fetched_at: float
    catalog: str
    policies: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # policy path -> why not read

    @property
    def source(self) -> tuple[str, str | None, str]:
        return (self.url, self.ref, self.path)


def root(state_dir: Path | None = None) -> Path:
    return (state_dir or paths.state_dir()) / "registries"


def copy_file(name: str, state_dir: Path | None = None) -> Path:
    return root(state_dir) / "copies" / f"{name}.json"


def git_dir(name: str, state_dir: Path | None = None) -> Path:
    return root(state_dir) / "git" / f"{name}.git"


def copy_files(state_dir: Path | None = None) -> list[Path]:
    """Every copy there is (the inventory snapshot is stamped with them)."""
    try:
        names = sorted(os.listdir(root(state_dir) / "copies"))
    except (OSError, ValueError):
        return []
    folder = root(state_dir) / "copies"
    return [folder / n for n in names if n.endswith(".json") and not n.startswith(".")]


def read(name: str, state_dir: Path | None = None) -> Copy | None:
    """The copy of ``name``, or None when there is none. ConfigError when what is there
    is not a copy (a fifo, a file of another shape)."""
    file = copy_file(name, state_dir)
    data = statefiles.read_bytes(file)
    if data is None:
        return None
    try:
        raw = json.loads(data)
        if raw.get("version") != VERSION:
            raise ValueError("version")
        copy = Copy(raw["url"], raw["ref"], raw["path"], raw["commit"],
                    float(raw["fetched_at"]), raw["catalog"], dict(raw["policies"]),
                    dict(raw["missing"]))
        texts = [copy.url, copy.path, copy.commit, copy.catalog, *copy.policies,
                 *copy.policies.values(), *copy.missing, *copy.missing.values()]
        if not all(isinstance(t, str) for t in texts) or \
                not isinstance(copy.ref, str | None):
            raise ValueError("types")
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        raise ConfigError(f"{file} is not a registry copy rolecall wrote",
                          fix=f"run `rolecall registry sync {name}` to fetch it again") from None
    return copy


def write(name: str, copy: Copy, state_dir: Path | None = None) -> None:
    file = copy_file(name, state_dir)
    paths.ensure_private_dir(file.parent)
    data = {"version": VERSION, "url": copy.url, "ref": copy.ref, "path": copy.path,
            "commit": copy.commit, "fetched_at": round(copy.fetched_at, 3),
            "catalog": copy.catalog, "policies": copy.policies, "missing": copy.missing}
    statefiles.write_private(file, json.dumps(data, separators=(",", ":")).encode())


def remove(name: str, state_dir: Path | None = None) -> None:
    """Forget everything kept of ``name``: its copy, its git repository, its status."""
    file = copy_file(name, state_dir)
    try:
        os.unlink(file)  # whatever is there: a copy, or a fifo or link put in its place
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        shutil.rmtree(file, ignore_errors=True)
    shutil.rmtree(git_dir(name, state_dir), ignore_errors=True)
    change_status(name, None, state_dir)


# -- status ---------------------------------------------------------------------------------


def statuses(state_dir: Path | None = None) -> dict[str, dict]:
    """Each registry's last sync (``attempted_at``, ``ok_at``, ``failed_at``,
    ``error``, ``fix``, ``reported``); a missing or malformed record reads as empty."""
    try:
        raw = statefiles.read_json(root(state_dir) / STATUS)
    except ConfigError:
        return {}
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        return {}
    found = raw.get("registries")
    return {k: v for k, v in found.items() if isinstance(v, dict)} \
        if isinstance(found, dict) else {}


def change_status(name: str, changes: dict | None, state_dir: Path | None = None) -> None:
    """Merge ``changes`` into ``name``'s status (None: drop it), under a lock beside it."""
    # lazy: filelock only when a sync is recorded
    from filelock import FileLock

    folder = paths.ensure_private_dir(root(state_dir))
    file = folder / STATUS
    with FileLock(str(file) + ".lock", mode=0o600, timeout=30):
        current = statuses(state_dir)
        if changes is None:
            if name not in current:
                return
            current.pop(name)
        else:
            current[name] = {**current.get(name, {}), **changes}
        data = {"version": VERSION, "registries": current}
        statefiles.write_private(file, json.dumps(data, separators=(",", ":")).encode(),
                                 durable=False)
