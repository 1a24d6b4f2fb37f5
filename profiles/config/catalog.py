"""rolecall's TOML catalog: settings, account aliases and tags, and roles.

Errors in ``[settings]``, ``[accounts]`` or the file itself stop the load; an error in
one ``[roles.NAME]`` breaks only that role (see ``Inventory.broken``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path

from profiles.config import tags as session_tags
from profiles.config.sso_roles import check_template
from profiles.config.text import check_name, check_region, check_value
from profiles.doors import statefiles
from profiles.durations import MAX_DURATION, MFA_SESSION_MAX, MIN_DURATION, parse_duration
from profiles.errors import ConfigError, UsageError
from profiles.model import MFA_MODES, ROLE_ARN, Account, Role, Settings
from profiles.sessions import names as session_names

ROLE_KEYS = {
    "role_arn", "source", "external_id", "mfa_serial", "duration", "max_duration",
    "session_name", "region", "mfa_mode", "trust_policy",
    "keys", "source_identity", "tags", "transitive_tag_keys", "eks_clusters",
}
SETTINGS_KEYS = {"refresh_window", "session_name", "mfa_mode", "duration", "mfa_duration",
                 "sso_name", "sso_ttl", "source_identity"}
# audit_role: the role whose session reads the account's CloudTrail (rolecall audit)
ACCOUNT_KEYS = {"alias", "tags", "audit_role"}
NOT_TEXT = ("duration", "max_duration", "tags", "transitive_tag_keys",  # not strings
            "eks_clusters")
TABLES = {"settings", "accounts", "roles", "registries"}
_POSITION = re.compile(r"\((at line \d+, column \d+|at end of document)\)")
# STS's own constraints (its API model: pattern, min, max); botocore checks only the min.
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
SERIAL = re.compile(r"[\w+=/:,.@-]{9,256}", re.ASCII)


def duration(value: object, where: str, key: str, low: int, high: int) -> int:
    """Seconds from a catalog or config duration, within ``low`` to ``high``."""
    try:
        seconds = parse_duration(value if isinstance(value, int | str) else str(value), key)
    except UsageError:
        raise ConfigError(f"{where}: invalid {key} {value!r}",
                          fix="give seconds or a duration like 15m, 1h or 2h30m") from None
    if not low <= seconds <= high:
        raise ConfigError(f"{where}: {key} {value!r} is outside {low}s to {high}s",
                          fix=f"use a value from {low} to {high} seconds")
    return seconds


def check_arn(arn: str, where: str) -> None:
    check_value(arn, where, "role_arn")
    if not ROLE_ARN.fullmatch(arn):
        raise ConfigError(f"{where}: malformed role_arn {arn!r}",
                          fix="use arn:aws:iam::123456789012:role/RoleName")


def check_sts_value(value: str, where: str, key: str) -> str:
    """An ``external_id`` or ``mfa_serial`` STS would accept, sent exactly as written
    (an empty one too is refused: botocore would send it, and STS refuse it)."""
    check_value(value, where, key)
    pattern, what = ((EXTERNAL_ID, "2 to 1224 characters from letters, digits and "
                      "_ + = , . @ : / -") if key == "external_id" else
                     (SERIAL, "an MFA device ARN or serial number (9 to 256 characters)"))
    if not value:
        raise ConfigError(f"{where}: {key} is empty (botocore would send it empty, which "
                          "STS refuses)", fix=f"give {key} a value or remove it")
    if not pattern.fullmatch(value):
        raise ConfigError(f"{where}: {key} is not one STS accepts", fix=f"use {what}")
    return value


def check_mfa_mode(value: object, where: str) -> str:
    check_value(value, where, "mfa_mode")
    if value not in MFA_MODES:
        raise ConfigError(f"{where}: mfa_mode must be 'session' or 'direct', not {value!r}")
    return str(value)


def check_session_name(value: str, where: str, key: str) -> str:
    """A template (``{...}``, rendered and sanitised when used) with known fields, or a
    literal name that is sent exactly as written and so must already be legal."""
    check_value(value, where, key)
    try:
        if "{" in value:
            session_names.check_template(value)
        else:
            session_names.check_explicit(value)
    except UsageError as exc:
        raise ConfigError(f"{where}: {key}: {exc.message}", fix=exc.fix) from None
    return value


def read(path: Path) -> dict:
    """The catalog's tables, or ``{}`` when there is none."""
    data = statefiles.read_bytes(path, dangling_ok=True, devnull_ok=True)
    if data is None:
        return {}
    parsed = parse(data, path)
    if unknown := set(parsed) - TABLES:
        name = sorted(unknown)[0]
        check_name(name, path, "table")
        raise ConfigError(f"{path}: unknown table [{name}]",
                          fix="use [settings], [accounts.\"ID\"], [roles.NAME] and "
                          "[registries.NAME]")
    return parsed


def parse(data: bytes, path: object) -> dict:
    """TOML text as tables; a parse error names ``path`` and the position, never the
    text there."""
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"cannot parse {path}: line {line} is not UTF-8 text",
                          fix="save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message can quote the text (a key, a character): keep the position.
        found = _POSITION.search(str(exc))
        where = f" {found.group(1)}" if found else ""
        raise ConfigError(f"cannot parse {path}: invalid TOML{where}",
                          fix="fix the TOML syntax at the position named") from None
    except RecursionError:
        raise ConfigError(f"cannot parse {path}: nested too deeply",
                          fix="flatten the arrays and tables") from None
    return parsed


def table(data: dict, key: str, path: Path) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{key}] must be a table")
    return value


def settings(data: dict, path: Path) -> Settings:
    raw = table(data, "settings", path)
    where = f"{path}, [settings]"
    if unknown := set(raw) - SETTINGS_KEYS:
        name = sorted(unknown)[0]
        check_name(name, path, "key in [settings]")
        raise ConfigError(f"{where}: unknown key {name!r}",
                          fix="known keys: " + ", ".join(sorted(SETTINGS_KEYS)))
    out = Settings()
    if "refresh_window" in raw:
        out = replace(out, refresh_window=duration(
            raw["refresh_window"], where, "refresh_window", 0, MAX_DURATION))
    if "session_name" in raw:
        if not isinstance(raw["session_name"], str):
            raise ConfigError(f"{where}: session_name must be a string")
        check_value(raw["session_name"], where, "session_name")
        out = replace(out, session_name=raw["session_name"])
    if "mfa_mode" in raw:
        out = replace(out, mfa_mode=check_mfa_mode(raw["mfa_mode"], where))
    if "duration" in raw:
        out = replace(out, duration=duration(
            raw["duration"], where, "duration", MIN_DURATION, MAX_DURATION))
    if "mfa_duration" in raw:
        out = replace(out, mfa_duration=duration(
            raw["mfa_duration"], where, "mfa_duration", MIN_DURATION, MFA_SESSION_MAX))
    if "sso_name" in raw:
        out = replace(out, sso_name=check_template(raw["sso_name"], where))
    if "sso_ttl" in raw:  # 0: discovered roles are listed again only by `rolecall sso sync`
        out = replace(out, sso_ttl=duration(raw["sso_ttl"], where, "sso_ttl", 0, 90 * 86400))
    if "source_identity" in raw:
        check_value(raw["source_identity"], where, "source_identity")
        out = replace(out, source_identity=session_tags.check_source_identity(
            raw["source_identity"], where))
    return out


def accounts(data: dict, path: Path) -> dict[str, Account]:
    out = {}
    for account_id, raw in table(data, "accounts", path).items():
        check_name(account_id, path, "account")
        where = f"{path}, [accounts.\"{account_id}\"]"
        if not (len(account_id) == 12 and account_id.isascii() and account_id.isdigit()):
            raise ConfigError(f"{where}: account ids are 12 digits")
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table")
        if unknown := set(raw) - ACCOUNT_KEYS:
            key = sorted(unknown)[0]
            check_value(key, where, "a key name")
            raise ConfigError(f"{where}: unknown key {key!r}",
                              fix="known keys: " + ", ".join(sorted(ACCOUNT_KEYS)))
        alias, tags = raw.get("alias"), raw.get("tags", [])
        audit_role = raw.get("audit_role")
        for key, value in (("alias", alias), ("audit_role", audit_role)):
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{where}: {key} must be a string")
            check_value(value, where, key)
        if audit_role == "":
            raise ConfigError(f"{where}: audit_role is empty",
                              fix="name a role in this account, or remove the key")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ConfigError(f"{where}: tags must be a list of strings")
        for tag in tags:
            check_value(tag, where, "tags")
        out[account_id] = Account(account_id, alias, tuple(tags), audit_role)
    return out


def role(name: str, raw: object, path: Path, existing: Role | None,
         fields: dict[str, object] | None = None) -> Role:
    """The catalog role ``name``: a new role, or ``existing`` (the AWS profile of that
    name) annotated; ``fields``: more Role fields to set (a registry's role: its name on
    the board and its registry). Raises ConfigError naming the role."""
    where = f"{path}, [roles.{name}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    if unknown := set(raw) - ROLE_KEYS:
        key = sorted(unknown)[0]
        check_value(key, where, "a key name")
        raise ConfigError(f"{where}: unknown key {key!r}",
                          fix="known keys: " + ", ".join(sorted(ROLE_KEYS)))
    for key, value in raw.items():
        if key not in NOT_TEXT and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string")
        check_value(value, where, key)
    if existing is None and "role_arn" not in raw:
        raise ConfigError(f"{where} has no role_arn",
                          fix="add role_arn, or name an existing AWS profile to annotate it")
    if existing is None and "source" not in raw and "keys" not in raw:
        raise ConfigError(f"{where} has no source", fix="add source = <profile or catalog role>, "
                          "or keys = <name of keys added with `rolecall keys add`>")
    if "role_arn" in raw:
        check_arn(raw["role_arn"], where)
    changes: dict[str, object] = {k: raw[k] for k in raw if k not in NOT_TEXT}
    changes.update(_tags(raw, where))
    if "eks_clusters" in raw:
        # lazy: the cluster rules only for a role that lists clusters
        from profiles.eks.clusters import from_catalog

        changes["eks_clusters"] = from_catalog(raw["eks_clusters"], where)
    for key in ("duration", "max_duration"):
        if key in raw:
            changes[key] = duration(raw[key], where, key, MIN_DURATION, MAX_DURATION)
    if "mfa_mode" in raw:
        check_mfa_mode(raw["mfa_mode"], where)
    if "region" in raw:
        check_region(raw["region"], where)
    if "session_name" in raw:
        check_session_name(raw["session_name"], where, "session_name")
    for key in ("external_id", "mfa_serial"):
        if key in raw:
            check_sts_value(raw[key], where, key)
    if "source" in raw and not raw["source"]:
        raise ConfigError(f"{where}: source is empty", fix="name a profile or catalog role")
    if "source" in raw:  # a role of its own: assumed from that source, nothing else
        changes["credential_source"] = changes["sso_session"] = None
    if "keys" in raw:
        if "source" in raw:
            raise ConfigError(f"{where} has both source and keys", fix="keep only one of them")
        # lazy: the estate's keys module only for a role that uses keys
        from profiles.estate.keys import check_name as check_keys_name

        try:
            check_keys_name(raw["keys"])
        except UsageError as exc:
            raise ConfigError(f"{where}: keys: {exc.message}", fix=exc.fix) from None
        changes.update(source=None, credential_source=None, sso_session=None)
    base = existing or Role(name=name, role_arn=raw["role_arn"])
    return replace(base, origin=str(path), **{**changes, **(fields or {})})


def _tags(raw: dict, where: str) -> dict[str, object]:
    """The session-tag keys of a role table, checked (see :mod:`profiles.config.tags`)."""
    out: dict[str, object] = {}
    if "source_identity" in raw:
        out["source_identity"] = session_tags.check_source_identity(raw["source_identity"],
                                                                     where)
    tags = session_tags.check_tags(raw["tags"], where) if "tags" in raw else ()
    if "tags" in raw:
        out["tags"] = tags
    if "transitive_tag_keys" in raw:
        out["transitive_tag_keys"] = session_tags.check_transitive(
            raw["transitive_tag_keys"], tags, where)
    return out
