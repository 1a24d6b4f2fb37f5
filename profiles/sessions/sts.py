"""STS calls through botocore, with bounded retries and timeouts, and failures
turned into one-line messages. The endpoint is never special-cased: botocore's own
``AWS_ENDPOINT_URL`` settings point the clients at a sandbox or a real region alike."""

from __future__ import annotations

import os
import shlex
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from profiles.errors import AwsError, ConfigError, RolecallError
from profiles.model import Base, Credentials

# Three tries in all (botocore counts max_attempts as retries after the first), each
# bounded, so a silent or unreachable endpoint fails within 15 s.
CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=3,
    retries={"max_attempts": 2, "mode": "standard"},
)
DEFAULT_REGION = "us-east-1"
_local = threading.local()


@dataclass(frozen=True)
class Issued:
    """What STS handed back: credentials, the principal's ARN, and STS's clock."""

    credentials: Credentials
    arn: str
    server_time: datetime | None


def _session(profile: str | None = None) -> botocore.session.Session:
    """One botocore session per thread (and per base profile): sessions are not thread-safe."""
    sessions = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    if profile not in sessions:
        session = botocore.session.Session(profile=profile)
        session.set_config_variable("profile", profile)
        sessions[profile] = session
    return sessions[profile]


def region_for(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate:
            return candidate
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def base_credentials(base: Base):
    """Resolve a base identity with botocore's own providers (keys, process, SSO, env...)."""
    try:
        if base.profile:
            creds = _session(base.profile).get_credentials()
        else:
            from botocore.credentials import create_credential_resolver

            provider = {"Environment": "env", "Ec2InstanceMetadata": "iam-role",
                        "EcsContainer": "container-role"}[base.credential_source or ""]
            resolver = create_credential_resolver(_session(None))
            creds = resolver.get_provider(provider).load()
    except ProfileNotFound:
        raise ConfigError(f"profile {base.profile!r} not found") from None
    except BotoCoreError as exc:
        raise AwsError(f"cannot resolve credentials of {base.label}: {exc}") from None
    if creds is None:
        raise AwsError(
            f"no credentials for base identity {base.label}",
            fix="add aws_access_key_id/aws_secret_access_key (or credential_process, SSO) "
            "to that profile",
        )
    return creds


def client(region: str, credentials: Credentials | None = None, base: Base | None = None):
    """An STS client signing with a cached session's credentials or a base identity's."""
    session = _session(base.profile if base and base.profile else None)
    if credentials is not None:
        return session.create_client(
            "sts", region_name=region, config=CLIENT_CONFIG,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )
    assert base is not None
    creds = base_credentials(base).get_frozen_credentials()
    return session.create_client(
        "sts", region_name=region, config=CLIENT_CONFIG,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
    )


def _server_time(response: dict) -> datetime | None:
    header = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(header).astimezone(UTC) if header else None
    except (TypeError, ValueError):
        return None


def _credentials(raw: dict) -> Credentials:
    return Credentials(raw["AccessKeyId"], raw["SecretAccessKey"], raw["SessionToken"],
                       raw["Expiration"].astimezone(UTC))


def assume_role(sts, *, role_arn: str, session_name: str, duration: int,
                external_id: str | None = None, serial: str | None = None,
                code: str | None = None, caller: str = "", role: str = "") -> Issued:
    params: dict[str, object] = {
        "RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": duration,
    }
    if external_id:
        params["ExternalId"] = external_id
    if serial:
        params["SerialNumber"], params["TokenCode"] = serial, code
    try:
        response = sts.assume_role(**params)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        raise explain(exc, f"AssumeRole {role_arn}", role_arn=role_arn, caller=caller,
                      role=role) from None
    return Issued(_credentials(response["Credentials"]),
                  response["AssumedRoleUser"]["Arn"], _server_time(response))


def get_session_token(sts, *, duration: int, serial: str, code: str, caller: str = "") -> Issued:
    try:
        response = sts.get_session_token(DurationSeconds=duration, SerialNumber=serial,
                                         TokenCode=code)
    except Exception as exc:  # noqa: BLE001
        raise explain(exc, f"GetSessionToken with MFA {serial}", caller=caller) from None
    return Issued(_credentials(response["Credentials"]), serial, _server_time(response))


def explain(exc: Exception, action: str, role_arn: str = "", caller: str = "",
            role: str = "") -> RolecallError:
    """A one-line message, with the fix, for anything STS or the network threw."""
    if isinstance(exc, RolecallError):
        return exc
    who = f" as {caller}" if caller else ""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        if code == "AccessDenied":
            return AwsError(
                f"{action} denied{who}: {message}",
                fix=f"both sides must allow it: the trust policy of {role_arn or 'the role'} "
                f"must trust the caller, and the caller's own policy must allow "
                f"sts:AssumeRole on it (STS does not say which side denied: "
                f"`rolecall doctor {shlex.quote(role) if role else 'ROLE'}` checks both)",
            )
        if code in ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"):
            return AwsError(f"{action} failed{who}: {code}: {message}",
                            fix="the source session is no longer valid; run with --refresh")
        if code in ("Throttling", "ThrottlingException", "RequestLimitExceeded"):
            return AwsError(f"{action} throttled by STS: {message}",
                            fix="wait a few seconds and try again")
        if code == "ValidationError" and "DurationSeconds" in message:
            return AwsError(f"{action} rejected: {message}",
                            fix="ask for a shorter --duration")
        return AwsError(f"{action} failed{who}: {code}: {message}")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return AwsError(f"{action}: STS unreachable: {exc}",
                        fix="check the network, AWS_ENDPOINT_URL and the region")
    if isinstance(exc, NoCredentialsError):
        return AwsError(f"{action}: no credentials{who}",
                        fix="configure keys for the base profile")
    if isinstance(exc, BotoCoreError):
        return AwsError(f"{action} failed: {exc}")
    return AwsError(f"{action} failed: {type(exc).__name__}: {exc}")
