"""Where roles come from: the AWS shared files (read by botocore's own loader) and
rolecall's TOML catalog, merged into one inventory with each role's chain resolved."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from profiles import paths
from profiles.durations import MAX_DURATION, MFA_SESSION_MAX, MIN_DURATION, parse_duration
from profiles.errors import ConfigError, UsageError
from profiles.model import MFA_MODES, ROLE_ARN, Account, Base, Role, Settings

CREDENTIAL_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")
CATALOG_ROLE_KEYS = {
    "role_arn", "source", "external_id", "mfa_serial", "duration", "max_duration",
    "session_name", "region", "mfa_mode", "trust_policy",
}
SETTINGS_KEYS = {"refresh_window", "session_name", "mfa_mode", "duration", "mfa_duration"}


@dataclass
class Inventory:
    """Every role and base identity the operator can reach, plus catalog settings."""

    settings: Settings = field(default_factory=Settings)
    roles: dict[str, Role] = field(default_factory=dict)
    bases: dict[str, Base] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    config_file: Path | None = None
    catalog_file: Path | None = None
    # From the inventory snapshot: each role's chain labels and its final step's cache
    # key (what engine.plan_of computes from the inventory alone), so the board's rows
    # need no planning. Empty when parsed; never affects equality.
    row_plans: dict[str, tuple[str, tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False)

    def role(self, name: str) -> Role:
        if name in self.roles:
            return self.roles[name]
        hint = "run `rolecall list` to see the roles"
        if name in self.bases:
            raise UsageError(f"profile {name!r} is a base identity, not a role (no role_arn)",
                             fix=hint)
        raise UsageError(f"unknown role {name!r}", fix=hint)

    def account(self, account_id: str) -> Account:
        return self.accounts.get(account_id) or Account(account_id)

    def chain(self, name: str) -> tuple[Base, list[Role]]:
        """The base identity and the roles from the first hop to ``name``."""
        hops: list[Role] = []
        seen: list[str] = []
        current = self.role(name)
        while True:
            if current.name in seen:
                loop = " -> ".join([*seen, current.name])
                raise ConfigError(
                    f"source cycle in {current.origin}: {loop}",
                    fix=f"point one of these at a base profile (in profile {current.name!r})",
                )
            seen.append(current.name)
            hops.append(current)
            if current.credential_source:
                base = Base(f"credential_source:{current.credential_source}",
                            credential_source=current.credential_source, region=current.region)
                return base, hops[::-1]
            parent = current.source
            if parent in self.roles:
                current = self.roles[parent]
            elif parent in self.bases:
                return self.bases[parent], hops[::-1]
            else:
                raise ConfigError(
                    f"role {current.name!r} in {current.origin} names source {parent!r}, "
                    "which is neither a profile nor a catalog role",
                    fix=f"add a [profile {parent}] or fix source_profile of {current.name!r}",
                )

    def validate(self) -> None:
        """Resolve every chain, so configuration errors surface before any STS call."""
        for name in self.roles:
            self.chain(name)


def _read_aws_files(config_file: Path, credentials_file: Path) -> dict[str, dict]:
    from botocore.configloader import build_profile_map, raw_config_parse
    from botocore.exceptions import ConfigNotFound, ConfigParseError

    def parse(path: Path) -> dict:
        try:
            return raw_config_parse(str(path))
        except ConfigNotFound:
            return {}
        except ConfigParseError:
            raise ConfigError(f"cannot parse {path}: {_ini_problem(path)}",
                              fix="fix the INI syntax at the line named") from None
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None

    profiles = build_profile_map(parse(config_file))["profiles"]
    for name, values in parse(credentials_file).items():
        profiles.setdefault(name, {}).update(values)
    return profiles


def _ini_problem(path: Path) -> str:
    """What configparser says is wrong (botocore's error keeps only the path)."""
    import configparser

    try:
        configparser.RawConfigParser().read_string(path.read_text(errors="replace"))
    except configparser.Error as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = " ".join(lines).replace("file: '<string>', ", "").replace("'<string>' ", "")
        return text.replace("\\n", "")[:200] or "invalid INI"
    return "invalid INI"


def _duration(value: object, where: str, key: str, low: int, high: int) -> int:
    try:
        seconds = parse_duration(value if isinstance(value, int | str) else str(value), key)
    except UsageError:
        raise ConfigError(f"{where}: invalid {key} {value!r}",
                          fix="give seconds or a duration like 15m, 1h or 2h30m") from None
    if not low <= seconds <= high:
        raise ConfigError(f"{where}: {key} {value!r} is outside {low}s to {high}s",
                          fix=f"use a value from {low} to {high} seconds")
    return seconds


def _check_arn(arn: str, where: str) -> None:
    if not ROLE_ARN.fullmatch(arn):
        raise ConfigError(f"{where}: malformed role_arn {arn!r}",
                          fix="use arn:aws:iam::123456789012:role/RoleName")


def _check_mfa_mode(value: object, where: str) -> str:
    if value not in MFA_MODES:
        raise ConfigError(f"{where}: mfa_mode must be 'session' or 'direct', not {value!r}")
    return str(value)


def _aws_role(name: str, values: dict, origin: str) -> Role:
    where = f"{origin}, profile {name!r}"
    arn = values["role_arn"]
    _check_arn(arn, where)
    source, credsrc = values.get("source_profile"), values.get("credential_source")
    if source and credsrc:
        raise ConfigError(f"{where} has both source_profile and credential_source",
                          fix="keep only one of them")
    if not source and not credsrc:
        raise ConfigError(f"{where} has role_arn but no source_profile or credential_source",
                          fix="add source_profile = <profile with keys>")
    if credsrc and credsrc not in CREDENTIAL_SOURCES:
        raise ConfigError(f"{where}: unknown credential_source {credsrc!r}",
                          fix="use " + ", ".join(CREDENTIAL_SOURCES))
    if source == name:
        raise ConfigError(f"source cycle in {origin}: {name} -> {name}",
                          fix=f"point source_profile of {name!r} at a base profile")
    duration = values.get("duration_seconds")
    return Role(
        name=name, role_arn=arn, source=source, credential_source=credsrc,
        mfa_serial=values.get("mfa_serial") or None,
        external_id=values.get("external_id") or None,
        duration=_duration(duration, where, "duration_seconds", MIN_DURATION, MAX_DURATION)
        if duration else None,
        session_name=values.get("role_session_name") or None,
        region=values.get("region") or None,
        mfa_mode=_check_mfa_mode(values["mfa_mode"], where) if values.get("mfa_mode") else None,
        origin=origin,
    )


def _load_catalog(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}", fix="fix the TOML syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def _table(data: dict, key: str, path: Path) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{key}] must be a table")
    return value


def _settings(data: dict, path: Path) -> Settings:
    raw = _table(data, "settings", path)
    where = f"{path}, [settings]"
    if unknown := set(raw) - SETTINGS_KEYS:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}",
                          fix="known keys: " + ", ".join(sorted(SETTINGS_KEYS)))
    settings = Settings()
    if "refresh_window" in raw:
        settings = replace(settings, refresh_window=_duration(
            raw["refresh_window"], where, "refresh_window", 0, MAX_DURATION))
    if "session_name" in raw:
        if not isinstance(raw["session_name"], str):
            raise ConfigError(f"{where}: session_name must be a string")
        settings = replace(settings, session_name=raw["session_name"])
    if "mfa_mode" in raw:
        settings = replace(settings, mfa_mode=_check_mfa_mode(raw["mfa_mode"], where))
    if "duration" in raw:
        settings = replace(settings, duration=_duration(
            raw["duration"], where, "duration", MIN_DURATION, MAX_DURATION))
    if "mfa_duration" in raw:
        settings = replace(settings, mfa_duration=_duration(
            raw["mfa_duration"], where, "mfa_duration", MIN_DURATION, MFA_SESSION_MAX))
    return settings


def _accounts(data: dict, path: Path) -> dict[str, Account]:
    accounts = {}
    for account_id, raw in _table(data, "accounts", path).items():
        where = f"{path}, [accounts.\"{account_id}\"]"
        if not (isinstance(account_id, str) and account_id.isdigit() and len(account_id) == 12):
            raise ConfigError(f"{where}: account ids are 12 digits")
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table")
        alias, tags = raw.get("alias"), raw.get("tags", [])
        if alias is not None and not isinstance(alias, str):
            raise ConfigError(f"{where}: alias must be a string")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ConfigError(f"{where}: tags must be a list of strings")
        accounts[account_id] = Account(account_id, alias, tuple(tags))
    return accounts


def _catalog_role(name: str, raw: object, path: Path, existing: Role | None) -> Role:
    where = f"{path}, [roles.{name}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    if unknown := set(raw) - CATALOG_ROLE_KEYS:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}",
                          fix="known keys: " + ", ".join(sorted(CATALOG_ROLE_KEYS)))
    for key, value in raw.items():
        if key not in ("duration", "max_duration") and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string")
    if existing is None and "role_arn" not in raw:
        raise ConfigError(f"{where} has no role_arn",
                          fix="add role_arn, or name an existing AWS profile to annotate it")
    if existing is None and "source" not in raw:
        raise ConfigError(f"{where} has no source", fix="add source = <profile or catalog role>")
    if "role_arn" in raw:
        _check_arn(raw["role_arn"], where)
    changes: dict[str, object] = {k: raw[k] for k in raw if k not in ("duration", "max_duration")}
    for key in ("duration", "max_duration"):
        if key in raw:
            changes[key] = _duration(raw[key], where, key, MIN_DURATION, MAX_DURATION)
    if "mfa_mode" in raw:
        _check_mfa_mode(raw["mfa_mode"], where)
    if "source" in raw:
        changes["credential_source"] = None
    base = existing or Role(name=name, role_arn=raw["role_arn"])
    return replace(base, origin=str(path), **changes)


def load(config_file: Path | None = None, credentials_file: Path | None = None,
         catalog: Path | None = None) -> Inventory:
    """Read the AWS shared files and the catalog. Raises ConfigError with file and fix."""
    config_file = config_file or paths.aws_config_file()
    credentials_file = credentials_file or paths.aws_credentials_file()
    catalog = catalog or paths.catalog_file()
    inventory = Inventory(config_file=config_file, catalog_file=catalog)
    for name, values in _read_aws_files(config_file, credentials_file).items():
        origin = str(config_file)
        region = values.get("region") or None
        if values.get("role_arn") and not values.get("web_identity_token_file"):
            inventory.roles[name] = _aws_role(name, values, origin)
        else:
            inventory.bases[name] = Base(name, profile=name, region=region)
    data = _load_catalog(catalog)
    if unknown := set(data) - {"settings", "accounts", "roles"}:
        raise ConfigError(f"{catalog}: unknown table [{sorted(unknown)[0]}]",
                          fix="use [settings], [accounts.\"ID\"] and [roles.NAME]")
    inventory.settings = _settings(data, catalog)
    inventory.accounts = _accounts(data, catalog)
    for name, raw in _table(data, "roles", catalog).items():
        inventory.roles[name] = _catalog_role(name, raw, catalog, inventory.roles.get(name))
    return inventory
