"""Plain data: settings, accounts, roles, base identities, credentials and sessions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from profiles.durations import MFA_SESSION_DEFAULT
from profiles.sessions.names import DEFAULT_TEMPLATE

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})")
MFA_MODES = ("session", "direct")
SSO_NAME = "{account_alias}/{role_name}"  # how discovered IAM Identity Center roles are named
SSO_TTL = 12 * 3600  # discovered roles are listed again after this long


@dataclass(frozen=True)
class Settings:
    refresh_window: int = 300
    session_name: str = DEFAULT_TEMPLATE
    mfa_mode: str = "session"
    duration: int | None = None
    mfa_duration: int = MFA_SESSION_DEFAULT
    sso_name: str = SSO_NAME
    sso_ttl: int = SSO_TTL
    source_identity: str | None = None  # every role's SourceIdentity (a template) by default


@dataclass(frozen=True)
class Account:
    id: str
    alias: str | None = None
    tags: tuple[str, ...] = ()
    audit_role: str | None = None  # the role whose session reads this account's CloudTrail


@dataclass(frozen=True)
class Base:
    """A base identity botocore resolves: a profile without role_arn, or a credential_source."""

    name: str
    profile: str | None = None
    credential_source: str | None = None
    region: str | None = None
    static: bool = False  # the profile has aws_access_key_id/aws_secret_access_key
    sso_session: str | None = None  # an IAM Identity Center login (its roles' base)
    keys: str | None = None  # long-lived keys rolecall keeps in the keyring (`keys add`)

    @property
    def label(self) -> str:
        if self.sso_session is not None:
            return f"sso:{self.sso_session}"
        if self.keys:
            return f"keys:{self.keys}"
        return self.profile or f"credential_source={self.credential_source}"


@dataclass(frozen=True)
class Role:
    """A role to assume, from the AWS config or the catalog."""

    name: str
    role_arn: str
    source: str | None = None
    credential_source: str | None = None
    mfa_serial: str | None = None
    external_id: str | None = None
    duration: int | None = None
    max_duration: int | None = None
    session_name: str | None = None
    region: str | None = None
    mfa_mode: str | None = None
    trust_policy: str | None = None  # catalog: a JSON file holding the role's trust policy
    origin: str = ""
    # An IAM Identity Center role (GetRoleCredentials with that session's token): the
    # sso-session name, or the start URL of a legacy profile. role_arn is then
    # arn:aws:iam::ACCOUNT:role/PERMISSION_SET, as the portal names it.
    sso_session: str | None = None
    mfa_process: str | None = None  # AWS config: a command that prints the MFA code
    keys: str | None = None  # catalog: assumed from long-lived keys in the keyring
    source_identity: str | None = None  # catalog: SourceIdentity (a template, as names)
    tags: tuple[tuple[str, str], ...] = ()  # catalog: session tags, in file order
    transitive_tag_keys: tuple[str, ...] = ()
    # catalog: the EKS clusters the role reaches, as (name, region or None)
    eks_clusters: tuple[tuple[str, str | None], ...] = ()
    registry: str | None = None  # the registry (a team's shared catalog) it came from

    @property
    def _arn_parts(self) -> tuple[str, str]:
        """Account id and short name, parsed once (the board asks for 5,000 of them;
        functools.cached_property takes a lock per read)."""
        parts = self.__dict__.get("_arn")
        if parts is None:
            match = ROLE_ARN.fullmatch(self.role_arn)
            parts = (match.group(1), match.group(3)) if match else ("", self.role_arn)
            self.__dict__["_arn"] = parts
        return parts

    @property
    def account_id(self) -> str:
        return self._arn_parts[0]

    @property
    def role_short_name(self) -> str:
        return self._arn_parts[1]


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime

    def to_process_json(self) -> dict[str, object]:
        return {
            "Version": 1,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": iso(self.expiration),
        }

    @classmethod
    def from_process_json(cls, data: dict[str, str]) -> Credentials:
        return cls(
            data["AccessKeyId"], data["SecretAccessKey"], data["SessionToken"],
            parse_iso(data["Expiration"]),
        )


@dataclass(frozen=True)
class Session:
    """A cached temporary session: the non-secret facts plus (when loaded) its credentials."""

    key: str
    role: str
    kind: str  # "role" or "mfa"
    arn: str  # assumed-role ARN, or the MFA serial for an MFA session
    expires_at: datetime
    issued_at: datetime
    session_name: str = ""
    role_arn: str = ""
    parent: str | None = None
    region: str | None = None
    credentials: Credentials | None = field(default=None, repr=False, compare=False)
    # What it was asked with (non-secret): ``duration`` sent, ``requested`` explicitly,
    # session-name ``template``, ``external_id`` digest. A mismatch with what a caller
    # asks for explicitly means a new session.
    params: dict = field(default_factory=dict, compare=False)

    def seconds_left(self, now: float) -> float:
        return self.expires_at.timestamp() - now

    def to_index(self) -> dict[str, object]:
        return {
            "role": self.role, "kind": self.kind, "arn": self.arn,
            "expires_at": iso(self.expires_at), "issued_at": iso(self.issued_at),
            "session_name": self.session_name, "role_arn": self.role_arn,
            "parent": self.parent, "region": self.region, "params": self.params,
        }

    @classmethod
    def from_index(cls, key: str, data: dict, credentials: Credentials | None = None) -> Session:
        return cls(
            key=key, role=data["role"], kind=data["kind"], arn=data["arn"],
            expires_at=parse_iso(data["expires_at"]), issued_at=parse_iso(data["issued_at"]),
            session_name=data.get("session_name", ""), role_arn=data.get("role_arn", ""),
            parent=data.get("parent"), region=data.get("region"), credentials=credentials,
            params=params if isinstance(params := data.get("params"), dict) else {},
        )


def session_state(session: Session, now: float, window: float) -> str:
    left = session.seconds_left(now)
    return "expired" if left <= 0 else "expiring" if left <= window else "active"


def iso(moment: datetime) -> str:
    """RFC 3339 / ISO 8601 in UTC with a ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
