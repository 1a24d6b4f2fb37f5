"""A parsed, validated inventory kept in the state dir, so 5,000 roles load without
botocore's INI parser.

The snapshot (``inventory.json``, 0600, written atomically) holds what
:func:`profiles.config.inventory.load` builds — roles, base identities (names and
regions only), broken roles with their errors, accounts and settings — plus what the
board's rows need of each role's plan (its chain
labels, its final step's cache key — a hash of assume parameters — and its ARN's account
id and short name), all functions of the inventory alone; never a credential: a base
identity has no key fields to copy. It is keyed by the stamp of the AWS config, the
credentials file, the catalog and the roster of roles discovered through IAM Identity
Center (path, inode, mtime_ns and size of each) and used only when all four match;
anything else — a changed, missing or corrupt snapshot — parses
the files as before and rewrites it. A file modified within the last second is not
trusted to the stamp (a second edit in the same filesystem timestamp tick would look
identical), so no snapshot is written until the files have settled. Registries' copies
(``registries/copies/*.json`` in the state dir) are stamped too, whichever are there:
a sync that brings a new copy, or a registry removed, is a changed stamp.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from profiles import paths
from profiles.config import inventory
from profiles.config.sso_roles import SsoSession
from profiles.doors import statefiles
from profiles.errors import ConfigError, RolecallError
from profiles.estate import roster
from profiles.model import Account, Base, Role, Settings
from profiles.registries import copies
from profiles.registries.spec import Registry

NAME = "inventory.json"
VERSION = 10  # 4: role cache keys name their profile; 5: broken roles, bases' static keys;
# 6: IAM Identity Center sessions and roles; 7: accounts' audit_role
# 8: roles' mfa_process, keys, source_identity and session tags; 9: roles' eks_clusters
# 10: registries
SETTLED_NS = 1_000_000_000


def file_stamp(files: tuple[Path, ...]) -> list[list]:
    """``[path, inode, mtime_ns, size]`` of each file (``[path]`` if it is missing)."""
    out: list[list] = []
    for path in files:
        name = os.path.abspath(path)
        try:
            st = os.stat(name)
        except OSError:
            out.append([name])
            continue
        out.append([name, st.st_ino, st.st_mtime_ns, st.st_size])
    return out


def settled(stamp: list[list]) -> bool:
    """Whether every file is older than a second (a stamp that can be trusted)."""
    newest = max((entry[2] for entry in stamp if len(entry) == 4), default=0)
    return newest < time.time_ns() - SETTLED_NS


def _files(config_file: Path | None, credentials_file: Path | None,
           catalog: Path | None, state_dir: Path | None = None) -> tuple[Path, ...]:
    """The AWS config, credentials file, catalog and roster, then every registry copy."""
    return (config_file or paths.aws_config_file(),
            credentials_file or paths.aws_credentials_file(),
            catalog or paths.catalog_file(), roster.path(state_dir),
            *copies.copy_files(state_dir))


def files_of(inv: inventory.Inventory) -> tuple[Path, ...]:
    """The files ``inv`` was read from, as the stamp lists them."""
    files = _files(inv.config_file, inv.credentials_file, inv.catalog_file)
    return (*files[:3], inv.sso_file or files[3], *files[4:])


_ROLE_FIELDS = list(Role.__dataclass_fields__)  # "name" first
_REGISTRY_FIELDS = list(Registry.__dataclass_fields__)
# Role fields that are tuples (JSON gives lists back).
_TAGS, _PASSED = _ROLE_FIELDS.index("tags"), _ROLE_FIELDS.index("transitive_tag_keys")
_CLUSTERS = _ROLE_FIELDS.index("eks_clusters")


def _role_entry(inv: inventory.Inventory, role: Role) -> list:
    """A role's fields in ``role_fields`` order, then what its board row needs of its
    plan: ``final key, account id, short name, *chain labels``."""
    # lazy: planning (and the cache) only when the snapshot is rebuilt: a hit needs neither
    from profiles.sessions.plan import plan_of

    plan = plan_of(inv, role.name)
    return [*(getattr(role, name) for name in _ROLE_FIELDS), plan.steps[-1].key,
            role.account_id, role.role_short_name, *plan.labels]


def _to_json(inv: inventory.Inventory, stamp: list[list]) -> bytes:
    return json.dumps({
        "version": VERSION,
        "stamp": stamp,
        "settings": vars(inv.settings),
        "role_fields": _ROLE_FIELDS,
        "roles": [_role_entry(inv, role) for role in inv.roles.values()],
        "bases": [[b.name, b.profile, b.credential_source, b.region, b.static]
                  for b in inv.bases.values()],
        "broken": [[name, error.message, error.fix, inv.broken_from.get(name)]
                   for name, error in inv.broken.items()],
        "accounts": [[a.id, a.alias, list(a.tags), a.audit_role]
                     for a in inv.accounts.values()],
        "sso": [[s.name, s.start_url, s.region, list(s.scopes), s.legacy, s.synced_at, s.roles]
                for s in inv.sso_sessions.values()],
        "registries": [[getattr(r, f) for f in _REGISTRY_FIELDS]
                       for r in inv.registries.values()],
    }, separators=(",", ":")).encode()


def _roles(data: dict, inv: inventory.Inventory) -> dict[str, Role]:
    """Roles built from their fields without the frozen dataclass's per-field
    ``object.__setattr__`` (positional lists: no per-role dict to parse), with the ARN
    parts and row plans the snapshot stores."""
    if data["role_fields"] != _ROLE_FIELDS:
        raise TypeError("snapshot role fields differ from Role's")
    width = len(_ROLE_FIELDS)
    fields = _ROLE_FIELDS
    roles: dict[str, Role] = {}
    row_plans = inv.row_plans
    new = object.__new__
    for entry in data["roles"]:
        if type(entry) is not list or len(entry) < width + 5:
            raise TypeError("malformed role")
        role = new(Role)
        attrs = role.__dict__
        attrs.update(zip(fields, entry, strict=False))  # the plan parts follow
        tags, passed = entry[_TAGS], entry[_PASSED]  # session tags: mostly none
        attrs["tags"] = tuple(map(tuple, tags)) if tags else ()
        attrs["transitive_tag_keys"] = tuple(passed) if passed else ()
        clusters = entry[_CLUSTERS]
        attrs["eks_clusters"] = tuple(map(tuple, clusters)) if clusters else ()
        attrs["_arn"] = (entry[width + 1], entry[width + 2])  # what _arn_parts parses
        name = entry[0]
        roles[name] = role
        row_plans[name] = (entry[width], tuple(entry[width + 3:]))
    return roles


def _from_json(data: dict, files: tuple[Path, ...]) -> inventory.Inventory:
    inv = inventory.Inventory(settings=Settings(**data["settings"]), config_file=files[0],
                              catalog_file=files[2], credentials_file=files[1],
                              sso_file=files[3])
    inv.roles = _roles(data, inv)
    inv.bases = {b[0]: Base(b[0], b[1], b[2], b[3], bool(b[4])) for b in data["bases"]}
    inv.broken = {b[0]: ConfigError(str(b[1]), fix=b[2] if isinstance(b[2], str) else None)
                  for b in data["broken"]}
    inv.broken_from = {b[0]: b[3] for b in data["broken"] if isinstance(b[3], str)}
    inv.registries = {r[0]: Registry(**dict(zip(_REGISTRY_FIELDS, r, strict=True)))
                      for r in data["registries"]}
    for registry in inv.registries.values():  # JSON gives lists back
        registry.__dict__.update(notes=tuple(registry.notes), clashes=tuple(registry.clashes))
    inv.accounts = {a[0]: Account(a[0], a[1], tuple(a[2]), a[3]) for a in data["accounts"]}
    inv.sso_sessions = {s[0]: SsoSession(s[0], s[1], s[2], tuple(s[3]), bool(s[4]), s[5], s[6])
                        for s in data["sso"]}
    for role in inv.roles.values():  # what Role's own fields must be, or a parse error
        if not (isinstance(role.name, str) and isinstance(role.role_arn, str)):
            raise TypeError("malformed role")
    return inv


def read(config_file: Path | None = None, credentials_file: Path | None = None,
         catalog: Path | None = None, state_dir: Path | None = None
         ) -> inventory.Inventory | None:
    """The inventory from a snapshot whose stamp matches the files now, or None."""
    files = _files(config_file, credentials_file, catalog, state_dir)
    path = (state_dir or paths.state_dir()) / NAME
    try:
        data = json.loads(statefiles.read_bytes(path) or b"null")  # a fifo: refused, no wait
        if data.get("version") != VERSION or data.get("stamp") != file_stamp(files):
            return None
        inv = _from_json(data, files)
        inv.stamp = data["stamp"]
        return inv
    except Exception:  # noqa: BLE001 - a missing or corrupt snapshot is only a cache miss
        return None


def load(config_file: Path | None = None, credentials_file: Path | None = None,
         catalog: Path | None = None, state_dir: Path | None = None) -> inventory.Inventory:
    """The inventory: from the snapshot when the files are unchanged, else parsed and
    snapshotted, broken roles and their errors included (a file that does not parse
    raises, as it always did, and is never cached)."""
    cached = read(config_file, credentials_file, catalog, state_dir)
    if cached is not None:
        return cached
    files = _files(config_file, credentials_file, catalog, state_dir)
    before = file_stamp(files)
    inv = inventory.load(*files[:4], state_dir=state_dir)
    inv.stamp = before
    if before == file_stamp(files) and settled(before):
        try:
            directory = paths.ensure_private_dir(state_dir or paths.state_dir())
            statefiles.write_private(directory / NAME, _to_json(inv, before), durable=False)
        except (OSError, RolecallError):
            pass  # a read-only state dir (or a fifo in the snapshot's place) costs speed only
    return inv
