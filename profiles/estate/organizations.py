"""``discover``: every active account of an organization (Organizations ``ListAccounts``,
every page) proposed as a catalog role ``{account_alias}-{role}`` assumed from a
source, with the account's name as its alias; and the proposals merged into the
catalog.

The merge keeps the catalog byte for byte: the new tables are rendered by tomlkit
(keys and strings quoted by TOML's rules, whatever an account is called) and appended
after what is there, in the file's own line endings; an account or role the catalog or
the AWS config already has is never written again. The merged text must parse, and
hold every table it held, before it replaces the file (atomically, under a lock beside
it; only a regular file or a missing one is written).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from profiles.config import catalog as toml_catalog
from profiles.config.inventory import Inventory
from profiles.doors import statefiles
from profiles.errors import AwsError, ConfigError, FileWriteError, UsageError
from profiles.estate import clients
from profiles.estate.roster import clean

ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


@dataclass(frozen=True)
class Proposal:
    """One account's role; ``known`` says why it is not new (None: it is)."""

    name: str
    account_id: str
    alias: str
    role_arn: str
    source: str
    new_alias: bool  # the catalog names no alias for the account yet
    known: str | None = None


def check_role_name(role_name: str) -> str:
    if not ROLE_NAME.fullmatch(role_name):
        raise UsageError(f"invalid role name {role_name!r}",
                         fix="give the IAM role's name, e.g. OrganizationAccountAccessRole")
    return role_name


def list_accounts(keys: tuple[str, str, str | None], region: str) -> list[dict]:
    """Every account of the organization (ListAccounts, every page)."""
    client = clients.signed("organizations", region, keys)
    accounts: list[dict] = []
    token = None
    try:
        while True:
            answer = client.list_accounts(**({"NextToken": token} if token else {}))
            accounts += answer.get("Accounts", [])
            token = answer.get("NextToken")
            if not token:
                return accounts
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        code = clients.error_code(exc)
        if code in ("AccessDeniedException", "AccessDenied"):
            error = AwsError("Organizations ListAccounts denied",
                             fix="use --source with a role allowed organizations:ListAccounts "
                             "(in the management or a delegated administrator account)")
        elif code == "AWSOrganizationsNotInUseException":
            error = AwsError("that account is in no organization",
                             fix="use --source with a role in the organization's management "
                             "account")
        elif code is None:
            error = AwsError(f"Organizations unreachable: {exc}", fix="check the network")
        else:
            message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
            error = AwsError(f"Organizations ListAccounts failed: {code}: {message}")
        error.code = code
        raise error from None


def _active(account: dict) -> bool:
    state = account.get("State") or account.get("Status")
    return state == "ACTIVE"


def propose(inv: Inventory, accounts: list[dict], role_name: str,
            source: str) -> list[Proposal]:
    """One proposal per active account, in the organization's order."""
    known_arns = {r.role_arn: n for n, r in inv.roles.items()}
    out: list[Proposal] = []
    taken: set[str] = set()
    for account in accounts:
        account_id = account.get("Id")
        if not _active(account) or not isinstance(account_id, str) or \
                not re.fullmatch(r"[0-9]{12}", account_id):
            continue
        catalog = inv.accounts.get(account_id)
        remote = clean(account.get("Name")) or account_id
        alias = catalog.alias if catalog and catalog.alias else remote
        name = f"{alias}-{role_name}"
        if name in taken:
            name = f"{alias}-{account_id}-{role_name}"
        taken.add(name)
        arn = f"arn:aws:iam::{account_id}:role/{role_name}"
        known = None
        if arn in known_arns:
            known = f"already configured as {known_arns[arn]}"
        elif name in inv.roles or name in inv.broken or name in inv.bases:
            known = "a role or profile of that name exists"
        out.append(Proposal(name, account_id, alias, arn, source,
                            catalog is None or catalog.alias is None, known))
    return out


def render(proposals: list[Proposal], existing: set[tuple[str, str]] = frozenset(),
           newline: str = "\n") -> str:
    """The new proposals as catalog TOML: ``[accounts."ID"]`` aliases for accounts the
    catalog has no table for (``existing``: its tables), then ``[roles.NAME]``."""
    # lazy: tomlkit only when proposals are printed or written
    import tomlkit

    doc = tomlkit.document()
    accounts = tomlkit.table(is_super_table=True)
    roles = tomlkit.table(is_super_table=True)
    for p in proposals:
        if p.known is not None:
            continue
        if p.new_alias and p.account_id not in accounts and \
                ("accounts", p.account_id) not in existing:
            entry = tomlkit.table()
            entry["alias"] = p.alias
            accounts[p.account_id] = entry
        role = tomlkit.table()
        role["role_arn"] = p.role_arn
        role["source"] = p.source
        roles[p.name] = role
    if accounts:
        doc["accounts"] = accounts
    if roles:
        doc["roles"] = roles
    text = tomlkit.dumps(doc)
    return text.replace("\n", newline) if newline != "\n" else text


def _tables(data: dict) -> set[tuple[str, str]]:
    return {(top, key) for top in ("accounts", "roles")
            for key in (data.get(top) or {})}


def tables(catalog: Path) -> set[tuple[str, str]]:
    """The ``(accounts|roles, key)`` tables the catalog holds (none if it is missing)."""
    return _tables(toml_catalog.read(catalog))


def write(catalog: Path, proposals: list[Proposal]) -> int:
    """Append the new proposals to ``catalog`` (created if missing); how many roles."""
    # lazy: filelock only when writing
    from filelock import FileLock

    new = [p for p in proposals if p.known is None]
    if not new:
        return 0
    target = Path(os.path.realpath(catalog))
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", mode=0o600, timeout=30):
        try:
            mode = os.stat(target).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            raise FileWriteError(f"cannot write {catalog}: it is not a regular file")
        before = statefiles.read_bytes(target) or b""
        try:
            text = before.decode("utf-8")
            current = tomllib.loads(text) if text else {}
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            raise ConfigError(f"cannot parse {catalog}", fix="fix the catalog first") from None
        fresh = [p for p in new if ("roles", p.name) not in _tables(current)]
        newline = "\r\n" if "\r\n" in text else "\n"
        joint = "" if not text or text.endswith("\n") else newline
        gap = newline if text else ""
        merged = text + joint + gap + render(fresh, _tables(current), newline)
        try:
            after = tomllib.loads(merged)
        except tomllib.TOMLDecodeError:
            raise ConfigError(f"{catalog}: the proposals cannot be appended to it (an "
                              "[accounts] or [roles] table is written inline there)",
                              fix="print them without --write and merge them by hand") from None
        if not _tables(current) <= _tables(after) or not merged.startswith(text):
            raise ConfigError(f"{catalog}: merging would change what is there")
        try:
            statefiles.write_private(target, merged.encode("utf-8"))
            os.chmod(target, mode & 0o777 if mode is not None else 0o600)
        except OSError as exc:
            raise FileWriteError(f"cannot write {catalog}: {exc.strerror or exc}") from None
    return len(fresh)
