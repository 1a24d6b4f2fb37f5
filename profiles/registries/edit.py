"""Adding and removing ``[registries.NAME]`` in the user's catalog.

The catalog is the user's file: a new table is rendered by tomlkit and appended, so
every byte before it is kept; a table is removed through tomlkit, which keeps the rest.
Either way the result is parsed again and must hold exactly what it held before, plus
or minus that one registry, before it replaces the file (atomically, under a lock
beside it, with its mode kept); else nothing is written and the fix says to edit by hand.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from profiles.config import catalog as toml_catalog
from profiles.doors import statefiles
from profiles.errors import ConfigError, FileWriteError
from profiles.registries.spec import DEFAULT_PATH, Registry


def table(registry: Registry) -> dict:
    """``[registries.NAME]`` as the catalog holds it (defaults left out)."""
    out: dict[str, object] = {"url": registry.url}
    if registry.ref is not None:
        out["ref"] = registry.ref
    if registry.path != DEFAULT_PATH:
        out["path"] = registry.path
    if registry.priority:
        out["priority"] = registry.priority
    if registry.prefix:
        out["prefix"] = True
    return out


def render(registry: Registry, newline: str = "\n") -> str:
    # lazy: tomlkit only when the catalog is edited
    import tomlkit

    doc = tomlkit.document()
    registries = tomlkit.table(is_super_table=True)
    entry = tomlkit.table()
    for key, value in table(registry).items():
        entry[key] = value
    registries[registry.name] = entry
    doc["registries"] = registries
    text = tomlkit.dumps(doc)
    text = text if text.endswith("\n") else text + "\n"
    return text.replace("\n", newline) if newline != "\n" else text


def _edit(catalog: Path, change: Callable[[str, dict], tuple[str, dict]]) -> None:
    """Replace ``catalog`` with ``change(text, tables)``'s text, once it parses to the
    tables ``change`` expects."""
    # lazy: filelock only when the catalog is edited
    from filelock import FileLock

    target = Path(os.path.realpath(catalog))
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", mode=0o600, timeout=30):
        try:
            mode: int | None = os.stat(target).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            raise FileWriteError(f"cannot write {catalog}: it is not a regular file")
        before = statefiles.read_bytes(target) or b""
        current = toml_catalog.parse(before, catalog) if before else {}
        text = before.decode("utf-8")
        merged, expected = change(text, current)
        try:
            after = toml_catalog.parse(merged.encode("utf-8"), catalog)
        except ConfigError:
            after = None
        if after != expected:
            raise ConfigError(f"{catalog}: rolecall cannot make this change without "
                              "touching what else is there ([registries] is written "
                              "inline, or in an unusual layout)",
                              fix="edit the [registries] tables by hand")
        try:
            statefiles.write_private(target, merged.encode("utf-8"))
            os.chmod(target, mode & 0o777 if mode is not None else 0o600)
        except OSError as exc:
            raise FileWriteError(f"cannot write {catalog}: {exc.strerror or exc}") from None


def add(catalog: Path, registry: Registry) -> None:
    """Append ``[registries.NAME]`` to the catalog (created if missing)."""
    def change(text: str, current: dict) -> tuple[str, dict]:
        if registry.name in (current.get("registries") or {}):
            raise ConfigError(f"{catalog} has a registry named {registry.name} already",
                              fix=f"`rolecall registry rm {registry.name}` first")
        newline = "\r\n" if "\r\n" in text else "\n"
        joint = "" if not text or text.endswith("\n") else newline
        gap = newline if text else ""
        expected = dict(current)
        expected["registries"] = {**(current.get("registries") or {}),
                                  registry.name: table(registry)}
        return text + joint + gap + render(registry, newline), expected
    _edit(catalog, change)


def remove(catalog: Path, name: str) -> None:
    """Remove ``[registries.NAME]`` from the catalog (and ``[registries]`` if empty)."""
    # lazy: tomlkit only when the catalog is edited
    import tomlkit

    def change(text: str, current: dict) -> tuple[str, dict]:
        expected = dict(current)
        registries = dict(current.get("registries") or {})
        registries.pop(name, None)
        if registries:
            expected["registries"] = registries
        else:
            expected.pop("registries", None)
        doc = tomlkit.parse(text)
        del doc["registries"][name]
        if not doc["registries"]:
            del doc["registries"]
        return tomlkit.dumps(doc), expected
    _edit(catalog, change)
