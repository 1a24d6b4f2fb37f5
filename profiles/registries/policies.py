"""The trust policies a registry's roles name (``trust_policy``), as its copy holds them:
read from the repository at sync time, never from the user's disk, so a registry can
point rolecall at nothing outside its own repository. ``lint --registry NAME`` lints
them; ``doctor`` falls back to them as it does to the catalog's own files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from profiles.doors.terminal import shown
from profiles.errors import ConfigError, UsageError
from profiles.registries import copies, merge

if TYPE_CHECKING:
    from profiles.config.inventory import Inventory
    from profiles.model import Role
    from profiles.trust.source import PolicySource


def named(inv: Inventory, name: str) -> dict[str, list[str]]:
    """Each policy path registry ``name``'s roles name, with the roles naming it."""
    out: dict[str, list[str]] = {}
    for role in inv.roles.values():
        if role.registry == name and role.trust_policy and \
                not Path(role.trust_policy).is_absolute():  # absolute: the user's own file
            out.setdefault(role.trust_policy, []).append(role.name)
    return out


def _copy(name: str, state_dir: Path | None) -> copies.Copy:
    copy = copies.read(name, state_dir)
    if copy is None:
        raise UsageError(f"registry {name} has no copy yet",
                         fix=f"run `rolecall registry sync {name}`")
    return copy


def text(copy: copies.Copy, name: str, path: str, roles: list[str]) -> str:
    if path in copy.policies:
        return copy.policies[path]
    why = copy.missing.get(path, f"{path} was not fetched")
    raise ConfigError(f"{merge.label(name, copy.path)}: trust_policy of "
                      f"{shown(', '.join(roles))}: {shown(why)}",
                      fix="fix the path in the registry (or the file there), then "
                      f"`rolecall registry sync {name}`")


def sources(inv: Inventory, name: str, state_dir: Path | None = None) -> list[PolicySource]:
    """The registry's policies to lint, each labelled with the registry and path."""
    # lazy: the trust module (policy parsing) only for lint and doctor
    from profiles.trust.policy import PolicyError, load_json
    from profiles.trust.source import from_document

    if name not in inv.registries:
        raise UsageError(f"no registry named {shown(name)}", fix="see `rolecall registry list`")
    wanted = named(inv, name)
    copy = _copy(name, state_dir) if wanted else None
    out = []
    for path, roles in wanted.items():
        assert copy is not None
        label = f"registry {name}: {path}"
        try:
            out.append(from_document(load_json(text(copy, name, path, roles)), label))
        except PolicyError as exc:
            raise PolicyError(f"{shown(label)}: {exc.message}", fix=exc.fix) from None
    return out


def of_role(role: Role, state_dir: Path | None = None) -> PolicySource:
    """The trust policy registry role ``role`` names (for ``doctor``)."""
    # lazy: the trust module (policy parsing) only for lint and doctor
    from profiles.trust.policy import load_json
    from profiles.trust.source import from_document

    assert role.registry is not None and role.trust_policy is not None
    copy = _copy(role.registry, state_dir)
    label = f"registry {role.registry}: {role.trust_policy}"
    return from_document(load_json(text(copy, role.registry, role.trust_policy,
                                        [role.name])), label)
