"""``rolecall registry add|list|sync|rm``: teams' shared catalogs kept in git.

``add`` fetches the registry, checks it, prints what it brings (roles, accounts) and only
then records it in the catalog (``--dry-run`` stops before). ``sync`` fetches now (git
may ask for a password on the terminal, if there is one); ``list`` shows each
registry's last good sync. Failures name the registry and git's reason, escaped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime

from profiles.doors.terminal import shown
from profiles.errors import RolecallError, UsageError
from tui.cli import common
from tui.cli.parser import Commands, Parser, _Subcommands


def _say(text: str) -> None:
    print(shown(text), file=sys.stderr, flush=True)


def _terminal() -> bool:
    """Whether git may ask for a password: a person is at a terminal."""
    if not sys.stderr.isatty():
        return False
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def _count(number: int, what: str) -> str:
    return f"{number} {what}" + ("" if number == 1 else "s")


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ago(seconds: float | None, now: float) -> str:
    if seconds is None:
        return "never"
    left = max(0, int(now - seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            return f"{left // size}{unit} ago"
    return "just now"


def _inventory(registry=None):
    """The inventory (its registries as configured); ``registry``: one more, not yet in
    the catalog."""
    # lazy: the core when a command runs, not when the parser is built
    from profiles.config import inventory, snapshot

    if registry is None:
        return snapshot.load()
    return inventory.load(extra=(registry,))


def _chosen(inv, name: str | None) -> list:
    if name is None:
        return list(inv.registries.values())
    if name not in inv.registries:
        raise UsageError(f"no registry named {shown(name)}", fix="see `rolecall registry list`")
    return [inv.registries[name]]


def _source(role) -> str:
    if role.keys:
        return f"keys:{role.keys}"
    return role.source or (f"credential_source={role.credential_source}"
                           if role.credential_source else "-")


def brings(inv, name: str) -> str:
    """What registry ``name`` brings, as tables: its roles (and broken ones), accounts."""
    roles = [r for r in inv.roles.values() if r.registry == name]
    rows = [("ROLE", "ACCOUNT", "ROLE NAME", "SOURCE")]
    for role in roles:
        account = inv.account(role.account_id)
        label = f"{account.id} ({account.alias})" if account.alias else account.id
        rows.append((role.name, label, role.role_short_name, _source(role)))
    for role_name, owner in inv.broken_from.items():
        if owner == name:
            rows.append((role_name, "-", "-", f"broken: {inv.broken[role_name].message}"))
    out = common.table(rows) if len(rows) > 1 else "(no roles)\n"
    # lazy: the core when a command runs, not when the parser is built
    from profiles.registries import copies, merge

    copy = copies.read(name)
    if copy is not None:
        found = merge.parse(inv.registries[name], copy)
        if found.accounts:
            table = [("ACCOUNT", "ALIAS", "TAGS")]
            table += [(a.id, a.alias or "-", ", ".join(a.tags) or "-")
                      for a in found.accounts.values()]
            out += "\n" + common.table(table)
    return out


def _notes(registry) -> None:
    for note in registry.notes:
        _say(f"rolecall: note: registry {registry.name}: {shown(note)}")


def cmd_add(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.registries import edit, spec, sync

    registry = spec.make(ns.name, ns.url, ns.ref, ns.path, ns.priority, ns.prefix)
    registry = replace(registry, url=spec.absolute(registry.url))  # git runs elsewhere
    current = _inventory()
    catalog = current.catalog_file
    assert catalog is not None
    if registry.name in current.registries:
        there = shown(current.registries[registry.name].url)
        raise UsageError(f"a registry named {registry.name} exists already ({there})",
                         fix=f"`rolecall registry rm {registry.name}` first, or choose "
                         "another name")
    outcome = sync.sync(registry, interactive=_terminal())
    if not outcome.ok:
        assert outcome.error is not None
        _discard(registry.name)
        raise outcome.error
    try:
        inv = _inventory(registry)
        added = inv.registries[registry.name]
        if added.problem:
            raise UsageError(f"registry {registry.name}: {shown(added.problem)}")
        if added.clashes:
            other = next((f"registry {r.name}" for r in inv.registries.values()
                          if r.name != registry.name and set(r.clashes) & set(added.clashes)),
                         "another registry")
            names = ", ".join(added.clashes[:5]) + (" ..." if len(added.clashes) > 5 else "")
            raise UsageError(f"registry {registry.name} defines "
                             f"{_count(len(added.clashes), 'role')} that {other} defines "
                             f"too: {shown(names)}",
                             fix=f"add it with --prefix (its roles become "
                             f"{registry.name}/ROLE), or ask one team to rename them")
        at = f"{registry.ref or 'HEAD'} at {(added.commit or '')[:12]}"
        broken = sum(1 for owner in inv.broken_from.values() if owner == registry.name)
        extra = f" ({broken} broken)" if broken else ""
        print(shown(f"registry {registry.name}: {_count(added.roles + broken, 'role')}{extra}, "
                    f"{_count(added.accounts, 'account')} from {registry.url} ({at}, "
                    f"{registry.path})"))
        sys.stdout.write(brings(inv, registry.name))
        _notes(added)
        if ns.dry_run:
            _discard(registry.name)
            _say("rolecall: not added (--dry-run)")
            return 0
        edit.add(catalog, registry)
    except BaseException:
        _discard(registry.name)  # nothing of a refused registry is kept
        raise
    _say(f"rolecall: added registry {registry.name} to {shown(str(catalog))}; it syncs "
         "at most once a day when you list roles (or run `rolecall registry sync`)")
    return 0


def _discard(name: str) -> None:
    """Drop what ``add`` fetched for ``name``, unless another ``add`` of the same name
    has meanwhile recorded it in the catalog (then the copy is that registry's)."""
    # lazy: the core when a command runs, not when the parser is built
    from profiles import paths
    from profiles.config import catalog as toml_catalog
    from profiles.registries import copies

    try:
        if name in (toml_catalog.read(paths.catalog_file()).get("registries") or {}):
            return
    except RolecallError:
        pass
    copies.remove(name)


def cmd_list(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.registries import copies

    inv = _inventory()
    statuses = copies.statuses()
    now = time.time()
    out = []
    for r in inv.registries.values():
        status = statuses.get(r.name, {})
        ok_at = status.get("ok_at") if isinstance(status.get("ok_at"), int | float) else None
        out.append({
            "name": r.name, "url": r.url, "ref": r.ref, "path": r.path,
            "priority": r.priority, "prefix": r.prefix, "commit": r.commit,
            "fetched_at": _iso(r.fetched_at), "synced_at": _iso(ok_at or r.fetched_at),
            "roles": r.roles, "accounts": r.accounts, "problem": r.problem,
            "error": status.get("error") if isinstance(status.get("error"), str) else None,
            "notes": list(r.notes), "_synced": ok_at or r.fetched_at})
    if ns.json:
        common.dump([{k: v for k, v in entry.items() if not k.startswith("_")}
                     for entry in out])
        return 0
    if not out:
        print("no registries; add one with: rolecall registry add NAME URL")
        return 0
    rows = [("NAME", "URL", "REF", "SYNCED", "ROLES", "STATUS")]
    for e in out:
        state = "ok" if e["problem"] is None else e["problem"]
        if e["error"]:
            state = f"last sync failed: {e['error']}"
        rows.append((e["name"], e["url"], e["ref"] or "HEAD", _ago(e["_synced"], now),
                     str(e["roles"]), state))
    sys.stdout.write(common.table(rows, right=(4,)))
    for r in inv.registries.values():
        _notes(r)
    return 0


def cmd_sync(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.registries import sync

    inv = _inventory()
    if ns.due:  # started by `list`: no terminal, nothing printed, the lock held already
        sync.sync_due(inv.registries, lock=False)
        return 0
    chosen = _chosen(inv, ns.name)
    if not chosen:
        print("no registries; add one with: rolecall registry add NAME URL")
        return 0
    interactive = _terminal()
    outcomes = [sync.sync(r, interactive=interactive) for r in chosen]
    sync.mark_reported([o.name for o in outcomes if not o.ok])
    after = _inventory()
    results = []
    for o in outcomes:
        r = after.registries.get(o.name)
        results.append({"name": o.name, "ok": o.ok, "changed": o.changed,
                        "commit": r.commit if r else None, "roles": r.roles if r else 0,
                        "error": o.error.message if o.error else None,
                        "kept_copy_from": _iso(o.kept) if not o.ok else None})
    if ns.json:
        common.dump({"registries": results})
    for o, result in zip(outcomes, results, strict=True):
        if o.ok and not ns.json:
            what = "updated to" if o.changed else "up to date at"
            print(f"{shown(o.name)}: {what} {shown((result['commit'] or '')[:12])} "
                  f"({_count(result['roles'], 'role')})")
            if o.name in after.registries:
                _notes(after.registries[o.name])
        elif not o.ok:
            _failed(o)
    return 0 if all(o.ok for o in outcomes) else 1


def _failed(outcome) -> None:
    error: RolecallError = outcome.error
    kept = (f"keeping its copy of {_iso(outcome.kept)}" if outcome.kept is not None
            else "it has no copy yet")
    _say(f"rolecall: registry {outcome.name}: cannot sync ({kept}): {shown(error.message)}")
    if error.fix:
        _say(f"  fix: {shown(error.fix)}")


def cmd_rm(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.registries import copies, edit

    inv = _inventory()
    (registry,) = _chosen(inv, ns.name)
    assert inv.catalog_file is not None
    edit.remove(inv.catalog_file, registry.name)
    copies.remove(registry.name)
    print(f"removed registry {shown(registry.name)} ({_count(registry.roles, 'role')})")
    return 0


def notes_on_use(inv) -> None:
    """For ``list``: start the day's sync of registries that are due (in a process of its
    own: ``list`` never waits for a remote), and say once each failed sync not yet said."""
    if not inv.registries:
        return
    # lazy: only `list` with registries configured
    from profiles.registries import copies, sync

    try:
        for name in sync.start_due(inv.registries):
            if inv.registries[name].problem:
                _say(f"rolecall: note: registry {name} has no copy yet "
                     f"({shown(inv.registries[name].problem)}): fetching it in the "
                     "background; its roles appear at the next list")
        failed = sync.unreported(inv.registries, copies.statuses())
        for registry, status in failed:
            kept = (f"its roles are from the copy of {_iso(registry.fetched_at)}"
                    if registry.fetched_at else "it has no copy yet")
            _say(f"rolecall: note: registry {registry.name} could not be synced "
                 f"({_ago(status.get('failed_at'), time.time())}): "
                 f"{shown(status.get('error'))}; {kept}")
            _say(f"  fix: {shown(status.get('fix') or 'check the URL and the network')}, "
                 f"then run `rolecall registry sync {registry.name}`")
        sync.mark_reported([r.name for r, _ in failed])
    except (RolecallError, OSError):
        return  # the roles are listed regardless


def register(commands: Commands) -> None:
    p = commands.add("registry", cmd_list, "teams' shared catalogs kept in git: add, "
                     "list, sync, rm", role=False)
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="registry_command", metavar="SUBCOMMAND", parser_class=Parser,
                           action=_Subcommands)

    def add(name: str, func, text: str) -> Parser:
        q = sub.add_parser(name, help=text, description=text)
        q.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
        q.set_defaults(func=func)
        return q

    q = add("add", cmd_add, "fetch a registry, show what it brings, add it to the catalog")
    q.add_argument("name", metavar="NAME", help="a short name (letters, digits, _ and -)")
    q.add_argument("url", metavar="URL", help="the git repository (any URL git takes)")
    q.add_argument("--ref", help="a branch, tag or commit (default: the remote's HEAD)")
    q.add_argument("--path", default="catalog.toml",
                   help="the catalog's path in the repository (default catalog.toml)")
    q.add_argument("--priority", type=int, default=0,
                   help="higher merges (and lists) first (default 0)")
    q.add_argument("--prefix", action="store_true",
                   help="name its roles NAME/ROLE (no clash with other registries)")
    q.add_argument("--dry-run", action="store_true", help="show what it brings; add nothing")
    add("list", cmd_list, "each registry: URL, ref, last good sync, roles").add_argument(
        "--json", action="store_true")
    q = add("sync", cmd_sync, "fetch registries now (keeps the last good copy on failure)")
    q.add_argument("name", metavar="NAME", nargs="?").complete = "registries"  # type: ignore[attr-defined]
    q.add_argument("--json", action="store_true")
    q.add_argument("--due", action="store_true", help=argparse.SUPPRESS)
    q = add("rm", cmd_rm, "remove a registry and its copy")
    q.add_argument("name", metavar="NAME").complete = "registries"  # type: ignore[attr-defined]
