"""Which roles a run covers, and everything checked before anything runs (see docs/architecture.md,
Run across accounts).

Targets are the union of role names, shell globs over role names, catalog account tags
and accounts (id or alias), each role once, in board order (by account alias, then
account id, then name). Every selector must match something: a typo in a CI pipeline
must not quietly deploy to fewer accounts. Before any STS call or child: every chain is
planned, every explicit duration and session name checked, every ``--cwd`` directory
rendered and found, the command found, and the MFA devices any target needs listed so
each code is asked once.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from profiles.config.inventory import Inventory
from profiles.errors import UsageError
from profiles.model import Account, Role
from profiles.sessions import names as session_names
from profiles.sessions.plan import check_mfa_code, explicit_duration

GLOB = re.compile(r"[*?\[]")
CWD_FIELDS = ("role", "account_id", "account_alias")
_FIELD = re.compile(r"\{([^{}]*)\}")
_LIST_AT_MOST = 5  # names shown in one error line


@dataclass(frozen=True)
class Target:
    """One role of a run, as planned: where its command runs and which MFA devices a
    fresh assumption of it would ask codes for (``devices``: every one in its chain)."""

    role: str
    account_id: str
    account_alias: str | None = None
    cwd: str | None = None
    serials: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    @property
    def account(self) -> str:
        """``222222222222 (prod)``, or the id alone."""
        return f"{self.account_id} ({self.account_alias})" if self.account_alias \
            else self.account_id


def board_key(role: Role, account: Account) -> tuple[str, str, str]:
    """The board's account order: alias (roles without one last), account id, name."""
    return ((account.alias or "~").lower(), account.id, role.name)


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:_LIST_AT_MOST])
    return shown + (f" and {len(names) - _LIST_AT_MOST} more" if len(names) > _LIST_AT_MOST
                    else "")


def select(inventory: Inventory, names: Iterable[str] = (), tags: Iterable[str] = (),
           accounts: Iterable[str] = ()) -> list[str]:
    """The role names the selectors give, each once, in board order."""
    names, tags, accounts = list(names), list(tags), list(accounts)
    if not (names or tags or accounts):
        raise UsageError("no targets given",
                         fix="name roles or globs, or pass --tag T or --account ID|ALIAS")
    roles = inventory.roles
    chosen: set[str] = set()
    for word in names:
        if word in roles or not GLOB.search(word):  # a name first: 'team[dev]' is one
            inventory.role(word)  # an unknown or broken role: its own error
            chosen.add(word)
            continue
        broken = sorted(n for n in inventory.broken if fnmatchcase(n, word))
        if broken:
            raise inventory.broken[broken[0]]
        hits = [n for n in roles if fnmatchcase(n, word)]
        if not hits:
            raise UsageError(f"no role matches {word!r}",
                             fix="run `rolecall list` to see the roles")
        chosen.update(hits)
    for tag in tags:
        hits = [n for n, r in roles.items() if tag in inventory.account(r.account_id).tags]
        if not hits:
            known = sorted({t for a in inventory.accounts.values() for t in a.tags})
            raise UsageError(f"no role is in an account tagged {tag!r}",
                             fix="tags in the catalog: " + (_listed(known) or "none"))
        chosen.update(hits)
    for wanted in accounts:
        account = inventory.account_named(wanted)  # an id is an id; an alias names one
        hits = [n for n, r in roles.items() if r.account_id == account]
        if not hits:
            raise UsageError(f"no role is in account {wanted!r}",
                             fix="give a 12-digit account id or a catalog alias that has roles")
        chosen.update(hits)
    return sorted(chosen, key=lambda n: board_key(roles[n], inventory.account(
        roles[n].account_id)))


# -- --cwd templates --------------------------------------------------------------------


def check_cwd_template(template: str) -> str:
    for key in _FIELD.findall(template):
        if key not in CWD_FIELDS:
            raise UsageError(f"unknown field {{{key}}} in --cwd {template!r}",
                             fix="use {role}, {account_id} or {account_alias}")
    return template


def render_cwd(template: str, target: Target, base: Path | None = None) -> Path:
    """The directory ``template`` names for ``target``. A field's value comes from the
    shared files: it may not be empty, hold a ``/`` or be ``.``/``..`` (it would reach
    outside the directory the template means), and it never expands: an alias ``~`` is
    a directory named ``~``. Only a ``~`` or ``~user`` the template itself starts with is
    a home directory, as a shell would have read it; a field in that word is refused."""
    values = {"role": target.role, "account_id": target.account_id,
              "account_alias": target.account_alias or ""}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        value = values[key]
        if not value:
            raise UsageError(f"--cwd {template!r}: account {target.account_id} of "
                             f"{target.role} has no alias",
                             fix=f'give it one in the catalog ([accounts."{target.account_id}"]'
                             ' alias = "..."), or use {account_id}')
        if "/" in value or "\x00" in value or value in (".", ".."):
            raise UsageError(f"--cwd {template!r}: the {key} of {target.role} ({value!r}) "
                             "is not a plain directory name", fix="rename it, or use {account_id}")
        return value

    text = check_cwd_template(template)
    home = ""
    if text.startswith("~"):  # the user's own ~word, expanded before any field is filled
        word, slash, text = text.partition("/")
        if _FIELD.search(word):
            raise UsageError(f"--cwd {template!r}: a field cannot name a home directory",
                             fix="put the fields after the first /, e.g. ~/deploy/{account_id}")
        home = os.path.expanduser(word) + slash
    path = Path(home + _FIELD.sub(fill, text))
    return path if path.is_absolute() else (base or Path.cwd()) / path


# -- preparation ------------------------------------------------------------------------


def check_command(command: list[str], targets: list[Target]) -> None:
    """The command must exist before 20 roles are assumed for it: a bare name on PATH
    (the children's PATH is rolecall's), a path in each target's directory."""
    if not command:
        raise UsageError("no command given", fix="rolecall run TARGET ... -- CMD [ARGS ...]")
    program = command[0]
    if "/" not in program:
        if not program or shutil.which(program) is None:
            raise UsageError(f"command {program!r} not found on PATH",
                             fix="check the command name and PATH")
        return
    bad = []
    for target in targets:
        path = Path(target.cwd or ".") / program
        if not (path.is_file() and os.access(path, os.X_OK)):
            bad.append(f"{path} ({target.role})")
    if bad:
        raise UsageError(f"cannot run {program!r}: not an executable file: {_listed(bad)}",
                         fix="check the path (relative to each target's --cwd directory) "
                         "and its execute permission")


def prepare(ws, names: list[str], command: list[str], *, cwd: str | None = None,
            duration: str | int | None = None, session_name: str | None = None,
            base: Path | None = None) -> list[Target]:
    """Every target planned and checked (raises UsageError/ConfigError, exit 2)."""
    engine, inventory = ws.engine, ws.inventory
    if session_name is not None:
        if "{" in session_name:
            session_names.check_template(session_name)
        else:
            session_names.check_explicit(session_name)
    if cwd is not None:
        check_cwd_template(cwd)
    targets = []
    missing = []
    for name in names:
        plan = engine.plan(name)
        last = plan.steps[-1]
        assert last.role is not None
        explicit_duration(duration, last.role, last.chained)
        devices = tuple(dict.fromkeys(s.serial for s in plan.steps if s.serial))
        serials = tuple(engine.mfa_serials(name)) if devices else ()
        role = inventory.roles[name]
        account = inventory.account(role.account_id)
        target = Target(name, account.id, account.alias, None, serials, devices)
        if cwd is not None:
            directory = render_cwd(cwd, target, base)
            if not directory.is_dir():
                missing.append(f"{directory} ({name})")
            target = Target(name, account.id, account.alias, str(directory), serials, devices)
        targets.append(target)
    if missing:
        raise UsageError(f"--cwd: no such directory: {_listed(missing)}",
                         fix="create them, or choose the targets that have one")
    check_command(command, targets)
    return targets


def mfa_needed(targets: list[Target]) -> list[tuple[str, str]]:
    """``(serial, first role needing it)`` for each MFA device, in target order."""
    out: dict[str, str] = {}
    for target in targets:
        for serial in target.serials:
            out.setdefault(serial, target.role)
    return list(out.items())


def given_codes(targets: list[Target], given: str | Mapping[str, str] | None) -> dict[str, str]:
    """Codes by serial from ``--mfa-code``: one bare code for the one device needed, or
    ``SERIAL=CODE`` for devices in the targets' chains."""
    if given is None:
        return {}
    needed = [serial for serial, _ in mfa_needed(targets)]
    if isinstance(given, str):
        if len(needed) > 1:
            raise UsageError(f"the targets need codes for {len(needed)} MFA devices",
                             fix="pass --mfa-code SERIAL=CODE for each of: " + _listed(needed))
        return {needed[0]: check_mfa_code(given)} if needed else {}
    devices = {d for t in targets for d in t.devices}
    for serial in given:
        if serial not in devices:
            raise UsageError(f"no target has MFA device {serial!r} in its chain",
                             fix="devices: " + (_listed(sorted(devices)) or "none"))
    return {serial: check_mfa_code(code) for serial, code in given.items()}


def codes_for(target: Target, codes: Mapping[str, str]) -> dict[str, str] | None:
    """The codes of ``target``'s own devices (the engine refuses others)."""
    own = {s: codes[s] for s in target.devices if s in codes}
    return own or None
