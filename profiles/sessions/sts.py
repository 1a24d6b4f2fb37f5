"""STS calls through botocore, with bounded retries and timeouts, and failures
turned into one-line messages. The endpoint is never special-cased: each client is made
as botocore makes its AssumeRole provider's for ``--profile ROLE``, so botocore itself
picks region and endpoint from ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL(_STS)`` and
the role profile's region, endpoint_url, services section and sts_regional_endpoints,
and a sandbox and a real region are reached alike."""

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
    InvalidConfigError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
    SSOError,
)

from profiles import paths
from profiles.config.inventory import Inventory
from profiles.errors import AwsError, ConfigError, RolecallError, UsageError, one_line_errors
from profiles.model import Base, Credentials

# Three tries in all (botocore counts max_attempts as retries after the first), each
# bounded, so a silent or unreachable endpoint fails within 15 s.
CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=3,
    retries={"max_attempts": 2, "mode": "standard"},
)
_local = threading.local()
_LOADERS: dict = {}  # botocore's data loaders by data_path, shared by every thread
_loader_lock = threading.Lock()
_KEEP = 4  # botocore sessions kept per thread (one per inventory in use)
_SOURCES = {"Ec2InstanceMetadata": "iam-role", "EcsContainer": "container-role"}


@dataclass(frozen=True)
class Issued:
    """What STS handed back: credentials, the principal's ARN, and STS's clock."""

    credentials: Credentials
    arn: str
    server_time: datetime | None


def _session(inventory: Inventory) -> botocore.session.Session:
    """This thread's botocore session over ``inventory``'s AWS files (sessions are not
    thread-safe). It is handed the config rolecall parsed — botocore's own
    ``full_config`` shape, which botocore keeps in ``_config`` — so STS clients resolve
    from exactly the text that was planned, and the files are parsed once; the file
    variables point botocore's own credential providers at the same files."""
    aws = inventory.aws_config
    sessions: dict[int, tuple[dict, botocore.session.Session]] = \
        _local.__dict__.setdefault("sessions", {})
    known = sessions.get(id(aws))
    if known is not None and known[0] is aws:
        return known[1]
    session = botocore.session.Session()
    session.set_config_variable("config_file", str(inventory.config_file
                                                   or paths.aws_config_file()))
    session.set_config_variable("credentials_file", str(inventory.credentials_file
                                                        or paths.aws_credentials_file()))
    # Its own profiles dict: _use adds profiles to it, never to one other threads read.
    session._config = {**aws, "profiles": dict(aws["profiles"])}
    while len(sessions) >= _KEEP:
        sessions.pop(next(iter(sessions)))
    sessions[id(aws)] = (aws, session)
    return session


def _share_loader(session: botocore.session.Session) -> None:
    """Give ``session`` the process's data loader for its ``data_path``: each thread's
    first client would otherwise load the service models again (~70 ms of CPU a thread;
    a loader only caches what it read, so threads may share it). Called once a session
    is configured (its data_path may come from the profile), before its first client."""
    if session.__dict__.get("_rolecall_loader"):
        return
    # lazy: botocore's loaders and credential providers only when a client is made
    from botocore.loaders import create_loader

    path = session.get_config_variable("data_path")
    with _loader_lock:
        loader = _LOADERS.get(path)
        if loader is None:
            loader = _LOADERS[path] = create_loader(path)
    session.register_component("data_loader", loader)
    one_line_errors(session)  # an HTML error page is reported by its status alone
    session.__dict__["_rolecall_loader"] = True


def _use(session: botocore.session.Session, target: str, region: str | None) -> None:
    """Resolve as the profile ``target`` (the role being assumed), as botocore does for
    ``--profile TARGET``: its region, endpoint_url, services section, sts_regional_endpoints
    and IMDS settings decide every hop. Never AWS_PROFILE. A role that is no AWS profile
    (the catalog's), or whose region the catalog overrides, gets a profile of its own
    under a name no INI section can have."""
    profiles = session.full_config["profiles"]
    values = profiles.get(target)
    name = target
    if values is None or (values.get("region") or None) != region:
        name = f"\n{target}\n{region or ''}"
        if name not in profiles:
            own = {k: v for k, v in (values or {}).items() if k != "region"}
            profiles[name] = {**own, "region": region} if region else own
    session.set_config_variable("profile", name)


def _frozen(creds, label: str):
    try:
        return creds.get_frozen_credentials()  # may refresh: process, SSO, web identity
    except BotoCoreError as exc:
        raise _credential_error(exc, label) from None


def _credential_error(exc: Exception, label: str) -> RolecallError:
    if isinstance(exc, InvalidConfigError | PartialCredentialsError):
        return ConfigError(f"cannot resolve credentials of {label}: {exc}",
                           fix="fix that profile's credential settings")
    if isinstance(exc, SSOError):
        return AwsError(f"the SSO session of {label} is missing or expired: {exc}",
                        fix="run `aws sso login` for that profile")
    return AwsError(f"cannot resolve credentials of {label}: {exc}")


def base_credentials(inventory: Inventory, base: Base, target: str, region: str | None):
    """The base identity's frozen credentials, as botocore's AssumeRoleProvider sources
    them: a source profile through that profile's own providers only (keys, process,
    SSO, web identity; no environment, container or instance fallback), a
    credential_source through the named provider; ``keys`` from the keyring."""
    # lazy: botocore's loaders and credential providers only when a client is made
    from botocore.credentials import (
        CredentialResolver,
        EnvProvider,
        ProfileProviderBuilder,
        ReadOnlyCredentials,
        create_credential_resolver,
    )

    if base.sso_session is not None:  # its roles' sessions come from GetRoleCredentials
        raise UsageError(f"{target} starts from IAM Identity Center ({base.label}): that "
                         "login has no keys of its own", fix=f"assume {target} itself")
    if base.keys:  # long-lived keys rolecall keeps in the keyring (`rolecall keys add`)
        # lazy: the keys store only for a base that names keys
        from profiles.estate.keys import KeyStore

        keys = KeyStore().get(base.keys)
        return ReadOnlyCredentials(keys.access_key_id, keys.secret_access_key, None)
    session = _session(inventory)
    _use(session, target, region)
    try:
        if base.profile:
            providers = ProfileProviderBuilder(session, cache={}).providers(
                profile_name=base.profile, disable_env_vars=True)
            creds = CredentialResolver(
                _parsed_once(providers, inventory, base.profile)).load_credentials()
            if creds is None:
                raise ConfigError(
                    f"source profile {base.profile!r} has no credentials (botocore: "
                    f"'The source profile \"{base.profile}\" must have credentials')",
                    fix="add aws_access_key_id/aws_secret_access_key, credential_process "
                    "or SSO settings to that profile")
        else:
            kind = base.credential_source or ""
            provider = EnvProvider() if kind == "Environment" else \
                create_credential_resolver(session).get_provider(_SOURCES[kind])
            creds = provider.load()
            if creds is None:
                raise AwsError(f"no credentials from credential_source {kind} (for {target})",
                               fix="check that source is available here")
    except BotoCoreError as exc:
        raise _credential_error(exc, base.label) from None
    return _frozen(creds, base.label)


def _parsed_once(providers: list, inventory: Inventory, profile: str) -> list:
    """botocore's providers for ``profile``, those that read the files remade with the
    parse rolecall made (their own parser arguments): a 7,000-line config is not parsed
    again for every call."""
    # lazy: botocore's loaders and credential providers only when a client is made
    from botocore.credentials import ConfigProvider, SharedCredentialProvider

    files = inventory.aws_files
    config = str(inventory.config_file or paths.aws_config_file())
    credentials = str(inventory.credentials_file or paths.aws_credentials_file())
    out = []
    for provider in providers:
        if type(provider) is ConfigProvider:
            provider = ConfigProvider(config, profile, config_parser=lambda _: files.config)
        elif type(provider) is SharedCredentialProvider:
            provider = SharedCredentialProvider(credentials, profile,
                                                ini_parser=lambda _: files.credentials)
        out.append(provider)
    return out


def client(inventory: Inventory, target: str, region: str | None,
           credentials: Credentials | None = None, base: Base | None = None):
    """An STS client for a hop towards ``target``, signing with a cached session's
    credentials or the base identity's, at the endpoint botocore would use."""
    if credentials is not None:
        keys = (credentials.access_key_id, credentials.secret_access_key,
                credentials.session_token)
    else:
        assert base is not None
        frozen = base_credentials(inventory, base, target, region)
        keys = (frozen.access_key, frozen.secret_key, frozen.token)
    session = _session(inventory)
    _use(session, target, region)
    _share_loader(session)
    try:
        return session.create_client("sts", config=CLIENT_CONFIG, aws_access_key_id=keys[0],
                                     aws_secret_access_key=keys[1], aws_session_token=keys[2])
    except InvalidRegionError:
        raise ConfigError(f"{target}: AWS_DEFAULT_REGION is not a valid region",
                          fix="set it to a region name such as us-east-1, or unset it") from None
    except (BotoCoreError, ValueError) as exc:
        raise ConfigError(f"profile {target!r}: botocore refuses its STS endpoint settings: "
                          f"{exc}", fix="fix endpoint_url, services or sts_regional_endpoints "
                          "of that profile") from None


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
                code: str | None = None, caller: str = "", role: str = "",
                extra: dict | None = None) -> Issued:
    """``extra``: more AssumeRole parameters (SourceIdentity, Tags, TransitiveTagKeys)."""
    params: dict[str, object] = {
        "RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": duration,
        **(extra or {}),
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
    """A one-line message, with the fix, for anything STS or the network threw; ``code``
    carries AWS's error code (or the exception's kind), for the journal."""
    error = _explain(exc, action, role_arn, caller, role)
    if error.code is None:
        error.code = (exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError)
                      else type(exc).__name__)
    return error


def _explain(exc: Exception, action: str, role_arn: str, caller: str,
             role: str) -> RolecallError:
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
    if isinstance(exc, NoRegionError):
        return ConfigError(f"{action}: no region for the STS endpoint",
                           fix="add region = ... to the role's profile, or set "
                           "AWS_DEFAULT_REGION (an endpoint_url needs one to sign for)")
    if isinstance(exc, NoCredentialsError):
        return AwsError(f"{action}: no credentials{who}",
                        fix="configure keys for the base profile")
    if isinstance(exc, BotoCoreError):
        return AwsError(f"{action} failed: {exc}")
    return AwsError(f"{action} failed: {type(exc).__name__}: {exc}")


def default_region(*candidates: str | None) -> str:
    """The first region given, else the environment's, else us-east-1: for reads (IAM,
    Organizations, GetCallerIdentity) where any region answers."""
    for candidate in (*candidates, os.environ.get("AWS_REGION"),
                      os.environ.get("AWS_DEFAULT_REGION")):
        if candidate:
            return candidate
    return "us-east-1"


def service_client(service: str, region: str, access_key: str, secret_key: str,
                   token: str | None = None, config: Config = CLIENT_CONFIG):
    """A client of any service signed with explicit keys, from this thread's botocore
    session that reads no named profile: ``AWS_PROFILE`` never decides anything here."""
    session = _local.__dict__.get("plain")
    if session is None:
        session = _local.__dict__["plain"] = botocore.session.Session()
        session._config = {"profiles": {"\nplain": {}}}  # no file is read (see _session)
        session.set_config_variable("profile", "\nplain")
    _share_loader(session)
    return session.create_client(
        service, region_name=region, config=config, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, aws_session_token=token)
