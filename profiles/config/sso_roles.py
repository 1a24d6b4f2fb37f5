"""IAM Identity Center in the inventory: the AWS config's SSO sessions, its SSO profiles
as roles, and every role discovery found (the roster), named by the catalog's
``sso_name`` template and merged without duplicates.

- Sessions: each ``[sso-session NAME]`` (``sso_start_url``, ``sso_region``,
  ``sso_registration_scopes``), and each start URL of a legacy profile
  (``sso_start_url`` in the profile itself), which is named by its start URL.
- A profile with ``sso_account_id`` and ``sso_role_name`` (and no ``role_arn``) is an
  SSO role under its own name; it stays a base identity too, so other profiles'
  ``source_profile`` still reach it. One rolecall cannot model (an account id that is
  not 12 digits, an unknown session) stays only a base, resolved by botocore as before.
- Discovered roles of a session take the template's name; one the config already has
  (same start URL, account and permission set) is that profile, not a second role. A
  name another role already has, or two discovered roles share, gets ``@ACCOUNT``.
- Accounts the catalog does not name take the portal's account name as their alias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from profiles.config.text import check_name, check_region, check_value
from profiles.errors import ConfigError
from profiles.estate import roster
from profiles.model import Account, Role

if TYPE_CHECKING:
    from profiles.config.inventory import Inventory

FIELDS = ("account_alias", "account_id", "account_name", "role_name", "sso_session")
_FIELD = re.compile(r"\{([^{}]*)\}")
DEFAULT_SCOPES = ("sso:account:access",)


@dataclass(frozen=True)
class SsoSession:
    """One IAM Identity Center login: an ``[sso-session]``, or a legacy start URL."""

    name: str
    start_url: str
    region: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    legacy: bool = False
    synced_at: float | None = None  # when discovery last listed its roles (the roster)
    roles: int = 0  # how many roles that listing held


def check_template(value: object, where: str) -> str:
    """The ``sso_name`` template: text and ``{field}`` with fields from FIELDS only (it
    is never given to ``str.format``: no attribute or index lookups)."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: sso_name must be a string")
    check_value(value, where, "sso_name")
    fix = "fields: " + ", ".join("{" + f + "}" for f in FIELDS)
    if "{" in (rest := _FIELD.sub("", value)) or "}" in rest:
        raise ConfigError(f"{where}: sso_name has an unmatched brace", fix=fix)
    for field in _FIELD.findall(value):
        if field not in FIELDS:
            raise ConfigError(f"{where}: sso_name: unknown field {{{field}}}", fix=fix)
    if not _FIELD.sub("x", value).strip():
        raise ConfigError(f"{where}: sso_name is empty", fix=fix)
    return value


def render(template: str, fields: dict[str, str]) -> str:
    return _FIELD.sub(lambda m: fields[m.group(1)], template).strip()


def _session(name: str, values: dict, where: str) -> SsoSession:
    for key in ("sso_start_url", "sso_region", "sso_registration_scopes"):
        check_value(values.get(key), where, key)
    url, region = values.get("sso_start_url"), values.get("sso_region")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{where} has no sso_start_url",
                          fix="add sso_start_url = https://<your portal>.awsapps.com/start")
    if not isinstance(region, str) or not region:
        raise ConfigError(f"{where} has no sso_region",
                          fix="add sso_region = the region of IAM Identity Center")
    check_region(region, where, "sso_region")
    raw = values.get("sso_registration_scopes")
    scopes = tuple(s.strip() for s in raw.split(",") if s.strip()) \
        if isinstance(raw, str) else DEFAULT_SCOPES
    return SsoSession(name, url, region, scopes or DEFAULT_SCOPES)


def sessions(full: dict, config_file: object) -> dict[str, SsoSession | ConfigError]:
    """Every SSO session the AWS config defines (a malformed one: its error)."""
    out: dict[str, SsoSession | ConfigError] = {}
    raw = full.get("sso_sessions", {})
    for name, values in raw.items() if isinstance(raw, dict) else ():
        check_name(name, config_file, "sso-session")
        try:
            out[name] = _session(name, values, f"{config_file}, [sso-session {name}]")
        except ConfigError as exc:
            out[name] = exc
    for profile, values in full.get("profiles", {}).items():
        url = values.get("sso_start_url")
        if "sso_session" in values or not isinstance(url, str) or url in out:
            continue
        try:
            out[url] = replace(_session(url, values, f"{config_file}, profile {profile!r}"),
                               scopes=(), legacy=True)  # the AWS CLI registers none for it
        except ConfigError:
            continue  # botocore reports what it lacks when the profile is used
    return out


def _profile_roles(inv: Inventory, found: dict[str, SsoSession | ConfigError]
                   ) -> dict[tuple[str, str, str], str]:
    """The config's SSO profiles as roles; their (start URL, account, role) -> name."""
    claimed: dict[tuple[str, str, str], str] = {}
    origin = str(inv.config_file)
    for name, values in inv.aws_config["profiles"].items():
        if name in inv.roles or name in inv.broken or "role_arn" in values:
            continue
        account, permission = values.get("sso_account_id"), values.get("sso_role_name")
        if account is None and permission is None:
            continue
        named = values.get("sso_session")
        session = found.get(named or values.get("sso_start_url") or "")
        if isinstance(session, ConfigError) or (named is not None and session is None):
            inv.broken[name] = session or ConfigError(
                f"{origin}, profile {name!r} names sso_session {named!r}, which is not "
                "defined", fix=f"add an [sso-session {named}] section")
            continue
        if named is not None and (clash := _disagreement(inv, name, named, values)):
            inv.broken[name] = clash
            continue
        if not (isinstance(session, SsoSession) and isinstance(account, str)
                and isinstance(permission, str) and roster.ACCOUNT_ID.fullmatch(account)
                and roster.PERMISSION_SET.fullmatch(permission)):
            continue
        region = values.get("region") or None
        if region is not None:
            try:
                check_region(region, f"{origin}, profile {name!r}")
            except ConfigError as exc:
                inv.broken[name] = exc
                continue
        inv.roles[name] = Role(name=name, role_arn=f"arn:aws:iam::{account}:role/{permission}",
                               region=region, origin=origin, sso_session=session.name)
        claimed.setdefault((session.start_url, account, permission), name)
    return claimed


def _disagreement(inv: Inventory, name: str, named: str, values: dict) -> ConfigError | None:
    """A setting the profile and its ``[sso-session]`` both give, differently: botocore
    refuses such a profile (InvalidConfigError), and so does rolecall, naming both."""
    section = inv.aws_config.get("sso_sessions", {}).get(named, {})
    for key, wanted in section.items():
        own = values.get(key, wanted)
        if own != wanted:
            return ConfigError(
                f"{inv.config_file}, profile {name!r}: {key} {own!r} disagrees with "
                f"{wanted!r} of [sso-session {named}] (botocore refuses the profile)",
                fix=f"remove {key} from profile {name!r} (its sso-session gives it), or "
                "make the two the same")
    return None


def _taken(inv: Inventory, name: str) -> bool:
    return name in inv.roles or name in inv.broken or name in inv.bases


def merge(inv: Inventory, roster_file: object) -> None:
    """Add the SSO sessions, SSO profiles and discovered roles to ``inv`` (after the
    AWS files and the catalog's settings and accounts, before the catalog's roles)."""
    found = sessions(inv.aws_config, inv.config_file)
    claimed = _profile_roles(inv, found)
    listings = roster.read(roster_file) if roster_file is not None else {}
    template = inv.settings.sso_name
    wanted: list[tuple[str, str, SsoSession, roster.Listed, str]] = []
    for name, session in found.items():
        if not isinstance(session, SsoSession):
            continue
        listing = listings.get(name)
        if listing is None or listing.start_url != session.start_url:
            inv.sso_sessions[name] = session
            continue  # never listed (or listed for another start URL): nothing to add
        inv.sso_sessions[name] = replace(session, synced_at=listing.synced_at,
                                         roles=listing.role_count)
        for account in listing.accounts:
            known = inv.accounts.get(account.account_id)
            alias = (known.alias if known and known.alias else account.name) \
                or account.account_id
            if known is None and account.name:
                inv.accounts[account.account_id] = Account(account.account_id, account.name)
            for permission in account.roles:
                if (session.start_url, account.account_id, permission) in claimed:
                    continue
                label = render(template, {
                    "account_alias": alias, "account_id": account.account_id,
                    "account_name": account.name or account.account_id,
                    "role_name": permission, "sso_session": name})
                wanted.append((label, permission, session, account, name))
    counts: dict[str, int] = {}
    for label, *_ in wanted:
        counts[label] = counts.get(label, 0) + 1
    for label, permission, session, account, name in wanted:
        if counts[label] > 1 or _taken(inv, label):
            label = f"{label}@{account.account_id}"
            if _taken(inv, label):
                label = f"{label}@{name}"
        if _taken(inv, label) or not label:
            continue
        inv.roles[label] = Role(
            name=label, role_arn=f"arn:aws:iam::{account.account_id}:role/{permission}",
            origin=f"IAM Identity Center ({name})", sso_session=session.name)
