"""A registry's copy merged into the inventory, below the user's own config.

The order, lowest first: registries (by priority, highest first), then what the user has:
the AWS files, roles discovered through IAM Identity Center, and the user's catalog.

- A role name the user already has (an AWS profile, a discovered role) is the user's:
  the registry's role of that name is dropped and named in the registry's notes. A
  ``[roles.NAME]`` table in the user's catalog replaces the registry's role when it has
  a ``role_arn``, and annotates it (region, duration, ...) when it has not.
- A name two registries define is an error naming both: that role is broken (every
  other role works) until one of them is added with ``prefix`` (``NAME/role``).
- Accounts merge the same way, key by key: the user's alias, tags and audit_role win;
  two registries that give an account different aliases (or audit roles) is a clash
  naming both, and neither is used; tags from several registries are joined.

A registry's text is untrusted: it passes the checks the user's catalog passes, may
not hold ``[settings]`` (or ``[registries]``), names its trust policies only inside its
own repository, and may not put ``{env:VAR}`` in a session name or source identity
(that would send the user's environment to the CloudTrail of accounts it names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from profiles.config import catalog as toml_catalog
from profiles.config.text import check_name
from profiles.errors import ConfigError
from profiles.model import Account, Role
from profiles.registries import copies
from profiles.registries.spec import Registry, inside

if TYPE_CHECKING:
    from profiles.config.inventory import Inventory

TABLES = {"accounts", "roles"}
MAX_CATALOG = 8 * 1024 * 1024  # a team's catalog of 10,000 roles is about 1.5 MiB
_FIELD = re.compile(r"\{([^{}]*)\}")


@dataclass
class Loaded:
    """A registry whose copy parsed: its accounts and its role tables, by its own names."""

    registry: Registry
    copy: copies.Copy
    accounts: dict[str, Account]
    roles: dict[str, object]

    @property
    def label(self) -> str:
        return label(self.registry.name, self.copy.path)


def label(name: str, path: str) -> str:
    """How messages name a registry's catalog: ``registry NAME: catalog.toml``."""
    return f"registry {name}: {path}"


def parse(registry: Registry, copy: copies.Copy) -> Loaded:
    """A copy's catalog as a registry may write it; ConfigError for what spoils the whole
    file (TOML, a table a registry may not hold, an account, a role's name)."""
    where = label(registry.name, copy.path)
    text = copy.catalog.encode("utf-8", "surrogatepass")
    if len(text) > MAX_CATALOG:
        raise ConfigError(f"{where} is {len(text)} bytes; a registry's catalog is at most "
                          f"{MAX_CATALOG}", fix="split it into several registries")
    data = toml_catalog.parse(text, where)
    for name in sorted(set(data) - TABLES):
        check_name(name, where, "table")
        if name == "settings":
            raise ConfigError(f"{where}: a registry cannot set [settings] (they are yours)",
                              fix="ask its maintainers to remove [settings]; put settings "
                              "in your own catalog")
        if name == "registries":
            raise ConfigError(f"{where}: a registry cannot add registries",
                              fix="add each registry yourself with `rolecall registry add`")
        raise ConfigError(f"{where}: unknown table [{name}]",
                          fix="a registry holds [accounts.\"ID\"] and [roles.NAME] only")
    accounts = toml_catalog.accounts(data, where)  # type: ignore[arg-type]
    roles = toml_catalog.table(data, "roles", where)  # type: ignore[arg-type]
    for name in roles:
        check_name(name, where, "role")
    return Loaded(registry, copy, accounts, roles)


def load(configured: dict[str, Registry], state_dir: Path | None
         ) -> tuple[list[Loaded], dict[str, Registry]]:
    """Each configured registry's copy, parsed; the registries whose copy is missing or
    unusable come back with their ``problem`` said."""
    loaded: list[Loaded] = []
    out: dict[str, Registry] = {}
    for name, registry in configured.items():
        try:
            copy = copies.read(name, state_dir)
            if copy is None:
                problem = "not synced yet"
            elif copy.source != registry.source:
                problem = "its copy was fetched from another URL, ref or path"
            else:
                found = parse(registry, copy)
                loaded.append(found)
                registry = replace(registry, commit=copy.commit, fetched_at=copy.fetched_at,
                                   accounts=len(found.accounts))
                problem = None
        except ConfigError as exc:
            problem = exc.message
        out[name] = replace(registry, problem=problem)
    return loaded, out


@dataclass
class Notes:
    """What merging found to say about each registry, by name."""

    said: dict[str, list[str]] = field(default_factory=dict)
    clashes: dict[str, list[str]] = field(default_factory=dict)  # roles two define

    def add(self, names: list[str], text: str) -> None:
        for name in dict.fromkeys(names):
            self.said.setdefault(name, []).append(text)


def _agreed(account: str, key: str, offers: list[tuple[str, str]],
            notes: Notes) -> str | None:
    """The one value registries give ``key``; None (and a note to each registry that
    gives one) when they disagree."""
    values = list(dict.fromkeys(value for _, value in offers))
    if len(values) <= 1:
        return values[0] if values else None
    said = [f"{value!r} ({name})" for name, value in offers]
    notes.add([name for name, _ in offers], f"account {account}: {key} "
              f"{', '.join(said[:-1])} and {said[-1]} disagree; neither is used (set it in "
              "your own catalog)")
    return None


def accounts(inv: Inventory, loaded: list[Loaded], notes: Notes) -> None:
    """The registries' accounts under the user's (after the catalog's, before SSO's)."""
    offered: dict[str, list[tuple[str, Account]]] = {}
    for found in loaded:
        for account_id, account in found.accounts.items():
            audit = account.audit_role
            if audit is not None and audit in found.roles:
                account = replace(account, audit_role=found.registry.role_name(audit))
            offered.setdefault(account_id, []).append((found.registry.name, account))
    for account_id, offers in offered.items():
        own = inv.accounts.get(account_id) or Account(account_id)
        alias = own.alias or _agreed(account_id, "alias",
                                     [(n, a.alias) for n, a in offers if a.alias], notes)
        audit = own.audit_role or _agreed(account_id, "audit_role", [
            (n, a.audit_role) for n, a in offers if a.audit_role], notes)
        tags = own.tags or tuple(dict.fromkeys(t for _, a in offers for t in a.tags))
        inv.accounts[account_id] = Account(account_id, alias, tags, audit)


def _role(found: Loaded, name: str, raw: object) -> Role:
    registry = found.registry
    where = f"{found.label}, [roles.{name}]"
    if isinstance(raw, dict):
        raw = dict(raw)
        source = raw.get("source")
        if registry.prefix and isinstance(source, str) and source in found.roles:
            raw["source"] = registry.role_name(source)  # its own roles are prefixed too
        for key in ("session_name", "source_identity"):
            value = raw.get(key)
            if isinstance(value, str) and any(f.startswith("env:")
                                              for f in _FIELD.findall(value)):
                raise ConfigError(f"{where}: {key} reads an environment variable "
                                  "({env:...}); a registry may not (it would send your "
                                  "environment to the accounts it names)",
                                  fix="use {user}, {host}, {profile}, {unix} or {git_sha}")
        if "trust_policy" in raw:
            raw["trust_policy"] = inside(found.copy.path, raw["trust_policy"], where)
    return toml_catalog.role(name, raw, found.label, None,  # type: ignore[arg-type]
                             {"name": registry.role_name(name), "registry": registry.name})


def roles(inv: Inventory, loaded: list[Loaded], mine: set[str], notes: Notes) -> None:
    """The registries' roles: after the AWS files and SSO, before the user's catalog
    roles (``mine``: their names), which replace or annotate them."""
    claims: dict[str, list[tuple[Loaded, str, object]]] = {}
    for found in loaded:
        for name, raw in found.roles.items():
            claims.setdefault(found.registry.role_name(name), []).append((found, name, raw))
    shadowed: dict[str, list[str]] = {}
    for final, claimants in claims.items():
        owners = [found.registry.name for found, _, _ in claimants]
        if final in inv.roles or final in inv.broken or final in inv.bases or final in mine:
            for owner in dict.fromkeys(owners):
                shadowed.setdefault(owner, []).append(final)
            if final not in mine or len(set(owners)) > 1:
                continue  # the user's; a catalog table may still annotate the registry's
        elif len(set(owners)) > 1:
            for owner in dict.fromkeys(owners):
                notes.clashes.setdefault(owner, []).append(final)
            inv.broken[final] = ConfigError(
                f"role {final!r} is defined by registries {owners[0]!r} and {owners[1]!r}",
                fix=f"add one of them with --prefix (its roles become {owners[1]}/ROLE), or "
                "ask their maintainers to rename one")
            inv.broken_from[final] = owners[0]
            continue
        found, name, raw = claimants[0]
        try:
            inv.roles[final] = _role(found, name, raw)
        except ConfigError as exc:
            inv.broken[final] = exc
            inv.broken_from[final] = found.registry.name
    for owner, names in shadowed.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        notes.add([owner], f"{len(names)} of its roles are also yours (yours win): {shown}")
    for owner, names in notes.clashes.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        notes.add([owner], f"{len(names)} of its roles are defined by another registry too "
                  f"(broken until one is added with --prefix): {shown}")


def finish(inv: Inventory, registries: dict[str, Registry], notes: Notes) -> None:
    """Each registry with how many roles it brought (after everything) and its notes."""
    counts: dict[str, int] = {}
    for role in inv.roles.values():
        if role.registry is not None:
            counts[role.registry] = counts.get(role.registry, 0) + 1
    inv.registries = {name: replace(r, roles=counts.get(name, 0),
                                    notes=tuple(notes.said.get(name, ())),
                                    clashes=tuple(notes.clashes.get(name, ())))
                      for name, r in registries.items()}
