"""A registry as the user's catalog records it::

    [registries.platform]
    url = "https://git.example.com/platform/rolecall-catalog.git"
    ref = "main"              # optional: a branch, tag or commit (default: the remote's HEAD)
    path = "catalog.toml"     # optional: the catalog's path in the repository
    priority = 10             # optional: higher merges (and lists) first
    prefix = true             # optional: its roles are named platform/ROLE

Everything here reaches ``git``'s argv, a file name in the state dir, or a terminal, so
it is checked as untrusted text: a name is letters, digits, ``_`` and ``-``; a URL or
ref never starts with ``-`` (git would read an option); the ``ext::`` and ``fd::``
transports (which run commands) are refused; a URL never carries a password (it would
sit in git's argv and in the catalog; a credential helper keeps it instead).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from profiles.config.text import UNSAFE, check_name
from profiles.errors import ConfigError, UsageError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
KEYS = ("url", "ref", "path", "priority", "prefix")
DEFAULT_PATH = "catalog.toml"
MAX_URL = 2048
# git check-ref-format's rules, narrowed: what a branch, tag or commit id is spelled with
REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+-]{0,254}", re.ASCII)
REFUSED_TRANSPORTS = ("ext", "fd")  # remote helpers that run commands or use open files
_TRANSPORT = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)::")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Registry:
    """One registry: what the catalog says, and what the inventory found of its copy."""

    name: str
    url: str
    ref: str | None = None
    path: str = DEFAULT_PATH
    priority: int = 0
    prefix: bool = False
    # Filled in when the inventory is loaded: the copy in use and what it brought.
    commit: str | None = None
    fetched_at: float | None = None
    roles: int = 0
    accounts: int = 0
    problem: str | None = None  # why no copy of it is used (never synced, unreadable)
    notes: tuple[str, ...] = ()  # clashes and names the user's own config shadows
    clashes: tuple[str, ...] = ()  # role names another registry defines too (broken)

    @property
    def source(self) -> tuple[str, str | None, str]:
        """What a copy is made from: a copy of anything else is not this registry's."""
        return (self.url, self.ref, self.path)

    def role_name(self, name: str) -> str:
        """A role's name on the board: ``NAME/role`` with ``prefix``."""
        return f"{self.name}/{name}" if self.prefix else name


def check_registry_name(name: object, where: str = "registry") -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        shown = ascii(name) if isinstance(name, str) else type(name).__name__
        raise UsageError(f"{where}: {shown} is not a registry name",
                         fix="use 1 to 64 letters, digits, _ and -, starting with a letter "
                         "or digit")
    return name


def is_local(url: str) -> bool:
    """A plain path (git's rule: no ``scheme://``, no ``transport::``, and no ``:``
    before the first ``/``, which would make it ``host:path``)."""
    if _SCHEME.match(url) or _TRANSPORT.match(url):
        return False
    colon, slash = url.find(":"), url.find("/")
    return colon < 0 or (0 <= slash < colon)


def check_url(url: object, where: str = "registry") -> str:
    if not isinstance(url, str) or not url:
        raise UsageError(f"{where}: the URL is empty", fix="give the repository's git URL")
    if len(url) > MAX_URL or UNSAFE.search(url) or url != url.strip():
        raise UsageError(f"{where}: the URL holds control characters, spaces at an end, "
                         "or is too long", fix="retype the URL")
    if url.startswith("-"):
        raise UsageError(f"{where}: a URL may not start with '-' (git would read an option)",
                         fix="give the repository's URL (https://, ssh://, git@host:path "
                         "or a path)")
    transport = _TRANSPORT.match(url)
    if transport and transport.group(1).lower() in REFUSED_TRANSPORTS:
        raise UsageError(f"{where}: the {transport.group(1)}:: transport runs commands or "
                         "uses open files; rolecall does not use it for a registry",
                         fix="use https://, ssh://, git:// or a path")
    if _SCHEME.match(url):
        try:
            password = urlsplit(url).password
        except ValueError:
            raise UsageError(f"{where}: the URL does not parse",
                             fix="retype the URL") from None
        if password is not None:
            raise UsageError(f"{where}: the URL holds a password or token (it would be in "
                             "git's command line and in the catalog)",
                             fix="drop it from the URL and let a git credential helper "
                             "keep it (git help credentials)")
    return url


def absolute(url: str) -> str:
    """A local path made absolute (git runs in the state dir, not where the user is)."""
    return os.path.abspath(os.path.expanduser(url)) if is_local(url) else url


def check_ref(ref: object, where: str = "registry") -> str:
    if not isinstance(ref, str) or not ref:
        raise UsageError(f"{where}: the ref is empty", fix="give a branch, tag or commit")
    bad = (not REF.fullmatch(ref) or ".." in ref or "//" in ref or ref.endswith(("/", "."))
           or ref.endswith(".lock") or "/." in ref or "@{" in ref)
    if bad:
        raise UsageError(f"{where}: {ascii(ref)} is not a branch, tag or commit name",
                         fix="use a name such as main, v1.2 or refs/heads/main (never "
                         "starting with '-')")
    return ref


def check_path(path: object, where: str = "registry") -> str:
    """A file's path inside the repository: relative, with no ``..``, ``.`` or empty
    part (it can name nothing outside the repository)."""
    if not isinstance(path, str) or not path:
        raise UsageError(f"{where}: the path is empty", fix=f"e.g. --path {DEFAULT_PATH}")
    parts = path.split("/")
    if (UNSAFE.search(path) or "\\" in path or path.startswith("/") or len(path) > 1024
            or any(part in ("", ".", "..") for part in parts)):
        raise UsageError(f"{where}: {ascii(path)} is not a path inside the repository",
                         fix="give a relative path such as catalog.toml or teams/aws.toml")
    return path


def inside(base: str, relative: object, where: str) -> str:
    """``relative`` (a path the registry's catalog names, e.g. a trust policy) resolved
    against the directory of ``base``, as a path in the repository; never outside it."""
    if not isinstance(relative, str) or not relative or relative.startswith(("/", "~")) \
            or "\\" in relative or UNSAFE.search(relative):
        raise ConfigError(f"{where}: trust_policy must be a path relative to the catalog "
                          "in the registry's repository", fix="e.g. policies/admin.json")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base), relative))
    if joined.startswith("../") or joined in ("..", "."):
        raise ConfigError(f"{where}: trust_policy names a file outside the registry's "
                          "repository", fix="keep trust policies inside the repository")
    return joined


def make(name: object, url: object, ref: object = None, path: object = DEFAULT_PATH,
         priority: object = 0, prefix: object = False, where: str = "registry") -> Registry:
    """A registry from its parts, each checked (UsageError naming ``where``)."""
    if not isinstance(priority, int) or isinstance(priority, bool) \
            or not -1000 <= priority <= 1000:
        raise UsageError(f"{where}: priority must be a whole number from -1000 to 1000")
    if not isinstance(prefix, bool):
        raise UsageError(f"{where}: prefix must be true or false")
    return Registry(check_registry_name(name, where), check_url(url, where),
                    None if ref is None else check_ref(ref, where), check_path(path, where),
                    priority, prefix)


def parse(table: object, catalog: object) -> dict[str, Registry]:
    """The ``[registries]`` table of the user's catalog, in merge order (priority,
    highest first, then name). Bad input is a ConfigError naming the file and registry."""
    if not isinstance(table, dict):
        raise ConfigError(f"{catalog}: [registries] must be a table",
                          fix="one [registries.NAME] table per registry")
    found: list[Registry] = []
    for name, raw in table.items():
        check_name(name, catalog, "registry")
        where = f"{catalog}, [registries.{name}]"
        try:
            check_registry_name(name, where)
            if not isinstance(raw, dict):
                raise ConfigError(f"{where} must be a table")
            if unknown := sorted(set(raw) - set(KEYS)):
                raise ConfigError(f"{where}: unknown key {ascii(unknown[0])}",
                                  fix="known keys: " + ", ".join(KEYS))
            if "url" not in raw:
                raise ConfigError(f"{where} has no url", fix="add url = \"<git URL>\"")
            found.append(make(name, raw["url"], raw.get("ref"), raw.get("path", DEFAULT_PATH),
                              raw.get("priority", 0), raw.get("prefix", False), where))
        except UsageError as exc:
            raise ConfigError(exc.message, fix=exc.fix) from None
    found.sort(key=lambda r: (-r.priority, r.name))
    return {r.name: r for r in found}
