"""Where roles come from: the AWS shared files (read as botocore reads them) and
rolecall's TOML catalog, merged into one inventory with each role's chain resolved the
way botocore's AssumeRoleProvider resolves it.

One bad profile never takes the others down: a role whose own settings are invalid, or
whose chain cannot be resolved (missing source, loop, broken parent), is kept in
``Inventory.broken`` with its error; every other role works.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from profiles import paths
from profiles.config import aws_files, sso_roles
from profiles.config import catalog as toml_catalog
from profiles.config.text import UNSAFE, check_name, check_region, check_value
from profiles.durations import MAX_DURATION, MIN_DURATION
from profiles.errors import ConfigError, UsageError
from profiles.estate import roster
from profiles.model import Account, Base, Role, Settings
from profiles.registries import merge as registry_merge
from profiles.registries import spec as registry_spec
from profiles.registries.spec import Registry

CREDENTIAL_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")
STATIC_KEYS = ("aws_access_key_id", "aws_secret_access_key")  # botocore's _has_static_credentials
ROLE_KEYS = ("role_arn", "source_profile", "credential_source", "mfa_serial", "external_id",
             "duration_seconds", "role_session_name", "region", "mfa_mode", "mfa_process",
             # what botocore reads of the role profile to make its STS client
             "services", "endpoint_url", "sts_regional_endpoints", "use_fips_endpoint",
             "use_dualstack_endpoint", "ignore_configured_endpoint_urls",
             "ec2_metadata_service_endpoint", "ec2_metadata_service_endpoint_mode")


@dataclass
class Inventory:
    """Every role and base identity the operator can reach, plus catalog settings."""

    settings: Settings = field(default_factory=Settings)
    roles: dict[str, Role] = field(default_factory=dict)
    bases: dict[str, Base] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    config_file: Path | None = None
    catalog_file: Path | None = None
    credentials_file: Path | None = None
    # Roles that cannot be used, each with the error any command on it reports.
    broken: dict[str, ConfigError] = field(default_factory=dict)
    # From the inventory snapshot: each role's chain labels and its final step's cache
    # key (what engine.plan_of computes from the inventory alone), so the board's rows
    # need no planning. Empty when parsed; never affects equality.
    row_plans: dict[str, tuple[str, tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False)
    # IAM Identity Center sessions by name, and the roster their discovered roles came
    # from (profiles/config/sso_roles.py).
    sso_sessions: dict[str, sso_roles.SsoSession] = field(default_factory=dict)
    sso_file: Path | None = None
    # Registries (teams' shared catalogs) in merge order, with what their copies brought;
    # and for a broken role that came from one, its name.
    registries: dict[str, Registry] = field(default_factory=dict)
    broken_from: dict[str, str] = field(default_factory=dict)
    # The files' stamp when this inventory was read from them (``config/snapshot.py``):
    # a long-lived process compares it to tell an edit (``config/follow.py``).
    stamp: list = field(default_factory=list, compare=False, repr=False)
    # The AWS files as parsed (None until needed when the inventory came from its
    # snapshot): the STS clients and botocore's credential providers resolve from it.
    _aws: aws_files.AwsFiles | None = field(default=None, compare=False, repr=False)

    @property
    def aws_files(self) -> aws_files.AwsFiles:
        if self._aws is None:
            self._aws = aws_files.load(self.config_file or paths.aws_config_file(),
                                       self.credentials_file or paths.aws_credentials_file())
        return self._aws

    @property
    def aws_config(self) -> dict:
        """botocore's ``full_config`` of the AWS files."""
        return self.aws_files.full

    def role(self, name: str) -> Role:
        if name in self.roles:
            return self.roles[name]
        if name in self.broken:
            raise self.broken[name]
        hint = "run `rolecall list` to see the roles"
        if name in self.bases:
            raise UsageError(f"profile {name!r} is a base identity, not a role (no role_arn)",
                             fix=hint)
        raise UsageError(f"unknown role {name!r}", fix=hint)

    def account(self, account_id: str) -> Account:
        return self.accounts.get(account_id) or Account(account_id)

    def account_named(self, text: str) -> str:
        """The account id ``text`` names where a command selects by account (``run
        --account``, ``audit --account``): a 12-digit word is an account id, never an
        alias (portal names become aliases); an alias must name exactly one account."""
        if len(text) == 12 and text.isascii() and text.isdigit():
            return text
        found = sorted(a.id for a in self.accounts.values() if a.alias == text)
        if len(found) == 1:
            return found[0]
        if found:
            raise UsageError(f"the alias {text!r} names {len(found)} accounts: "
                             + ", ".join(found), fix="give the account id instead")
        raise UsageError(f"unknown account {text!r}",
                         fix="give a 12-digit account id or an alias from the catalog")

    def _source(self, role: Role) -> Base | Role:
        """What ``role`` is assumed from, as botocore decides: a source profile with
        static keys signs with them even when it has a role_arn of its own (so a role
        may name itself); another role is assumed first; anything else is a base."""
        if role.sso_session is not None:  # GetRoleCredentials with the session's token
            return Base(f"sso:{role.sso_session}", sso_session=role.sso_session)
        if role.keys:
            return Base(f"keys:{role.keys}", keys=role.keys, region=role.region)
        if role.credential_source:
            return Base(f"credential_source:{role.credential_source}",
                        credential_source=role.credential_source, region=role.region)
        parent = role.source or ""
        base = self.bases.get(parent)
        if base is not None and base.static:
            return base
        if parent in self.roles:
            return self.roles[parent]
        if parent in self.broken:
            error = self.broken[parent]
            raise ConfigError(f"role {role.name!r} is assumed from {parent!r}, which is "
                              f"broken: {error.message}", fix=error.fix)
        if base is not None:
            return base
        raise ConfigError(
            f"role {role.name!r} in {role.origin} names source {parent!r}, "
            "which is neither a profile nor a catalog role",
            fix=f"add a [profile {parent}] or fix source_profile of {role.name!r}",
        )

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
            try:
                source = self._source(current)
            except ConfigError as exc:
                if current.name == name:
                    raise
                raise ConfigError(f"role {name!r} is assumed through {current.name!r}: "
                                  f"{exc.message}", fix=exc.fix) from None
            if isinstance(source, Base):
                return source, hops[::-1]
            current = source

    def settle(self) -> None:
        """Resolve every chain; a role whose chain fails moves to ``broken``."""
        while failed := self.validate():
            for name, error in failed.items():
                registry = self.roles.pop(name).registry
                self.broken[name] = error
                if registry is not None:
                    self.broken_from[name] = registry

    def validate(self) -> dict[str, ConfigError]:
        """The roles whose chain cannot be resolved, with why (nothing is raised)."""
        failed = {}
        for name in self.roles:
            try:
                self.chain(name)
            except ConfigError as exc:
                failed[name] = exc
        return failed


def _aws_role(name: str, values: dict, origin: str) -> Role:
    """A role profile, checked as far as it can be alone. Values are taken as written:
    botocore sends an empty ``external_id =`` (STS refuses it), so it is an error here."""
    where = f"{origin}, profile {name!r}"
    for key in ROLE_KEYS:
        check_value(values.get(key), where, key)
    arn = values["role_arn"]
    toml_catalog.check_arn(arn, where)
    source, credsrc = values.get("source_profile"), values.get("credential_source")
    if source is not None and credsrc is not None:
        raise ConfigError(f"{where} has both source_profile and credential_source",
                          fix="keep only one of them")
    if not source and not credsrc:
        raise ConfigError(f"{where} has role_arn but no source_profile or credential_source",
                          fix="add source_profile = <profile with keys>")
    if credsrc is not None and credsrc not in CREDENTIAL_SOURCES:
        raise ConfigError(f"{where}: unknown credential_source {credsrc!r}",
                          fix="use " + ", ".join(CREDENTIAL_SOURCES))
    for key in ("external_id", "mfa_serial"):
        if values.get(key) is not None:
            toml_catalog.check_sts_value(values[key], where, key)
    duration = values.get("duration_seconds")
    if duration is not None:
        duration = _seconds(duration, where)
    if values.get("region") is not None:
        check_region(values["region"], where)
    session_name = values.get("role_session_name")
    if session_name is not None:
        toml_catalog.check_session_name(session_name, where, "role_session_name")
    return Role(
        name=name, role_arn=arn, source=source, credential_source=credsrc,
        mfa_serial=values.get("mfa_serial"), external_id=values.get("external_id"),
        duration=duration,
        session_name=session_name, region=values.get("region"),
        mfa_mode=toml_catalog.check_mfa_mode(values["mfa_mode"], where)
        if values.get("mfa_mode") is not None else None,
        origin=origin, mfa_process=_mfa_process(values.get("mfa_process"), where),
    )


def _mfa_process(command: str | None, where: str) -> str | None:
    """A profile's ``mfa_process``, which must split into a command (run with no shell)."""
    if command is None:
        return None
    from profiles.sessions.mfa import split_command  # lazy: subprocess only for mfa_process

    try:
        split_command(command)
    except UsageError as exc:
        raise ConfigError(f"{where}: mfa_process: {exc.message}", fix=exc.fix) from None
    return command


def _seconds(text: str, where: str) -> int:
    """``duration_seconds`` as botocore reads it (``int()``), from ASCII only. What
    botocore cannot read it ignores, and STS then gives 1 hour: refused here, so that
    the same file never means two durations."""
    try:
        if not text.isascii():
            raise ValueError(text)
        seconds = int(text)
    except ValueError:
        raise ConfigError(
            f"{where}: duration_seconds {text!r} is not a number of seconds (botocore "
            "ignores it, so the AWS CLI would get STS's default of 1 hour)",
            fix="write seconds, e.g. duration_seconds = 7200 (the catalog's duration "
            "takes 2h)") from None
    return toml_catalog.duration(seconds, where, "duration_seconds", MIN_DURATION, MAX_DURATION)


def _read_aws(inventory: Inventory, config_file: Path, credentials_file: Path) -> None:
    inventory._aws = aws_files.load(config_file, credentials_file)
    origin = str(config_file)
    for name, values in inventory._aws.full["profiles"].items():
        check_name(name, config_file, "profile")
        region = values.get("region") or None
        static = any(key in values for key in STATIC_KEYS)
        if "role_arn" in values and "web_identity_token_file" not in values:
            if static:  # as another profile's source it signs with its keys
                inventory.bases[name] = Base(name, profile=name, static=True)
            try:
                inventory.roles[name] = _aws_role(name, values, origin)
            except ConfigError as exc:
                inventory.broken[name] = exc
        elif not (not static and mirrors(name, values.get("credential_process"))):
            inventory.bases[name] = Base(name, profile=name, region=_safe(region),
                                         static=static)


def mirrors(name: str, command: object) -> bool:
    """Whether ``credential_process`` hands out the rolecall role of the profile's own
    name (``rolecall process NAME``, as ``sso populate`` writes it): that profile is the
    role seen by other tools, not a base identity (as one, it would run itself)."""
    if not isinstance(command, str) or "process" not in command:
        return False
    try:
        argv = shlex.split(command)
    except ValueError:
        return False
    return len(argv) == 3 and os.path.basename(argv[0]) in ("rolecall", "rolecall.exe") \
        and argv[1:] == ["process", name]


def _safe(region: str | None) -> str | None:
    """A base profile's region, kept only when printable (it is shown, never sent)."""
    return region if isinstance(region, str) and not UNSAFE.search(region) else None


def _roster_file() -> Path | None:
    try:
        return roster.path()
    except UsageError:  # no home to place the state dir: no discovered roles
        return None


def _read_catalog(inventory: Inventory, path: Path, state_dir: Path | None,
                  extra: tuple[Registry, ...]) -> registry_merge.Notes:
    """The catalog and its registries' copies into ``inventory``; the registries' notes."""
    data = toml_catalog.read(path)
    inventory.settings = toml_catalog.settings(data, path)
    inventory.accounts = toml_catalog.accounts(data, path)
    mine = toml_catalog.table(data, "roles", path)
    configured = registry_spec.parse(data["registries"], path) if "registries" in data else {}
    if extra:
        configured = {r.name: r for r in sorted([*configured.values(), *extra],
                                                key=lambda r: (-r.priority, r.name))}
    loaded, registries = registry_merge.load(configured, state_dir) if configured else ([], {})
    notes = registry_merge.Notes()
    registry_merge.accounts(inventory, loaded, notes)  # before SSO names fill the gaps
    sso_roles.merge(inventory, inventory.sso_file)  # before the catalog's roles annotate them
    registry_merge.roles(inventory, loaded, set(mine), notes)
    for name, raw in mine.items():
        check_name(name, path, "role")
        if name in inventory.broken and not (isinstance(raw, dict) and "role_arn" in raw
                                             and "source" in raw):
            continue  # annotating a broken AWS profile (or registry role) leaves it broken
        existing = inventory.roles.get(name)
        if existing is not None and existing.registry is not None and \
                isinstance(raw, dict) and "role_arn" in raw:
            existing = None  # the user's own role, not an annotation of the registry's
        fields = None
        if existing is not None and existing.registry is not None and \
                isinstance(raw, dict) and isinstance(raw.get("trust_policy"), str):
            # the user's own file, not one in the registry's repository: made absolute
            fields = {"trust_policy": str(path.parent / Path(raw["trust_policy"]).expanduser())}
        try:
            inventory.roles[name] = toml_catalog.role(name, raw, path, existing, fields)
            inventory.broken.pop(name, None)
        except ConfigError as exc:
            inventory.roles.pop(name, None)
            inventory.broken[name] = exc
        inventory.broken_from.pop(name, None)
    inventory.registries = registries
    return notes


def load(config_file: Path | None = None, credentials_file: Path | None = None,
         catalog: Path | None = None, sso_file: Path | None = None, *,
         state_dir: Path | None = None, extra: tuple[Registry, ...] = ()) -> Inventory:
    """Read the AWS shared files, the catalog, the roles discovered through IAM
    Identity Center (``sso_file``, default the state dir's roster) and the copies of the
    catalog's registries (in ``state_dir``; ``extra``: registries not in the catalog
    yet). A malformed file raises ConfigError (with the file and a fix); a malformed
    role is kept in ``broken``; a registry whose copy cannot be used says why in
    ``registries``."""
    config_file = config_file or paths.aws_config_file()
    credentials_file = credentials_file or paths.aws_credentials_file()
    catalog_file = catalog or paths.catalog_file()
    inventory = Inventory(config_file=config_file, catalog_file=catalog_file,
                          credentials_file=credentials_file,
                          sso_file=sso_file or _roster_file())
    _read_aws(inventory, config_file, credentials_file)
    notes = _read_catalog(inventory, catalog_file, state_dir, extra)
    inventory.settle()
    registry_merge.finish(inventory, inventory.registries, notes)
    return inventory
