"""The AWS reads doctor and lint make, each a small function taking the credentials to
sign with (so tests drive them directly): who the caller is, a role's trust policy and
``MaxSessionDuration``, an identity's policies and permission boundary, the organization.

A read AWS refuses raises :class:`Unreadable` naming the permission that would let
rolecall know; an endpoint that cannot be reached is an :class:`AwsError` (exit 1)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from profiles.errors import AwsError
from profiles.model import Credentials
from profiles.sessions import sts
from profiles.trust.evaluate import Caller
from profiles.trust.policy import load_json

IAM_REGION = "us-east-1"  # IAM is global; its endpoint signs in us-east-1
SERVICES = {"sts": "STS", "iam": "IAM", "organizations": "Organizations"}
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
           "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken")


class Unreadable(Exception):
    """AWS refused a read: ``permission`` is the action that would let rolecall know."""

    def __init__(self, permission: str, reason: str) -> None:
        super().__init__(f"{permission}: {reason}")
        self.permission = permission
        self.reason = reason


class NotFound(Exception):
    """The entity does not exist (IAM ``NoSuchEntity``)."""


@dataclass(frozen=True)
class Keys:
    """Credentials to sign reads with; never printed."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, credentials: Credentials) -> Keys:
        return cls(credentials.access_key_id, credentials.secret_access_key,
                   credentials.session_token)

    @property
    def temporary(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class RoleFacts:
    arn: str
    trust: dict
    max_session: int | None
    tags: dict[str, str] | None
    boundary: str | None  # the permission boundary's policy ARN


@dataclass(frozen=True)
class NamedPolicy:
    label: str  # "inline policy NAME", "managed policy ARN", "group G inline policy NAME"
    document: dict


@dataclass(frozen=True)
class IdentityFacts:
    policies: tuple[NamedPolicy, ...]
    boundary: NamedPolicy | None
    tags: dict[str, str] | None


def client(service: str, keys: Keys, region: str = IAM_REGION):
    return sts.service_client(service, region, keys.access_key, keys.secret_key, keys.token)


def _failure(permission: str, exc: Exception) -> Exception:
    """What a failed read means: refused (Unreadable), absent (NotFound), or AWS could not
    be reached at all (AwsError, exit 1: nothing further would work)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        if code == "NoSuchEntity":
            return NotFound(error.get("Message", ""))
        if code in _DENIED:
            return Unreadable(permission, code)
        return Unreadable(permission, f"{code}: {error.get('Message', '')}"[:200])
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        service = permission.split(":")[0]
        return AwsError(f"{SERVICES.get(service, service)} unreachable: {exc}",
                        fix="check the network, AWS_ENDPOINT_URL and the region")
    return AwsError(f"{permission} failed: {exc}")


def _call(permission: str, method, **params) -> dict:
    try:
        return method(**params)
    except (ClientError, BotoCoreError) as exc:
        raise _failure(permission, exc) from None


def _pages(permission: str, iam, operation: str, result_key: str, **params) -> list:
    try:
        pages = iam.get_paginator(operation).paginate(**params)
        return [item for page in pages for item in page[result_key]]
    except (ClientError, BotoCoreError) as exc:
        raise _failure(permission, exc) from None


def _tags(items: list[dict] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or ()}


def whoami(keys: Keys, region: str) -> str:
    """The ARN ``GetCallerIdentity`` gives for ``keys``."""
    return _call("sts:GetCallerIdentity", client("sts", keys, region).get_caller_identity)["Arn"]


def caller_identity(keys: Keys, region: str) -> Caller:
    """Who ``keys`` are; an assumed-role caller's role ARN (with its path) is read with
    ``GetRole`` when allowed, else left unknown."""
    return caller_from_arn(whoami(keys, region), keys)


def caller_from_arn(arn: str, keys: Keys | None = None) -> Caller:
    match = re.fullmatch(r"arn:([a-z-]+):(iam|sts)::(\d{12}):(.+)", arn)
    if match is None:
        return Caller("user", "", arn, arn)
    partition, _, account, resource = match.groups()
    if resource == "root":
        return Caller("root", account, arn, "root", partition=partition)
    kind, _, rest = resource.partition("/")
    if kind == "user":
        return Caller("user", account, arn, rest.rsplit("/", 1)[-1], partition=partition)
    if kind == "federated-user":
        return Caller("federated", account, arn, rest, arn, partition)
    role = rest.split("/")[0]
    role_arn = None
    if keys is not None:
        with contextlib.suppress(Unreadable, NotFound):
            role_arn = get_role(keys, role).arn
    return Caller("role", account, role_arn, role, arn, partition)


def get_role(keys: Keys, name: str) -> RoleFacts:
    """``GetRole``: the trust policy (botocore decodes it), ``MaxSessionDuration``, tags
    and permission boundary."""
    role = _call("iam:GetRole", client("iam", keys).get_role, RoleName=name)["Role"]
    trust = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(trust, str):
        trust = load_json(trust)
    return RoleFacts(role["Arn"], trust, role.get("MaxSessionDuration"),
                     _tags(role.get("Tags")) if "Tags" in role else None,
                     (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"))


def _managed(iam, arn: str) -> dict:
    policy = _call("iam:GetPolicy", iam.get_policy, PolicyArn=arn)["Policy"]
    version = _call("iam:GetPolicyVersion", iam.get_policy_version, PolicyArn=arn,
                    VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    return version["Document"]


def _attached(iam, kind: str, name: str, label: str = "") -> list[NamedPolicy]:
    title = kind.capitalize()
    inline = _pages(f"iam:List{title}Policies", iam, f"list_{kind}_policies", "PolicyNames",
                    **{f"{title}Name": name})
    out = [NamedPolicy(f"{label}inline policy {policy}", _call(
        f"iam:Get{title}Policy", getattr(iam, f"get_{kind}_policy"),
        **{f"{title}Name": name, "PolicyName": policy})["PolicyDocument"])
        for policy in inline]
    attached = _pages(f"iam:ListAttached{title}Policies", iam,
                      f"list_attached_{kind}_policies", "AttachedPolicies",
                      **{f"{title}Name": name})
    out += [NamedPolicy(f"{label}managed policy {a['PolicyArn']}", _managed(iam, a["PolicyArn"]))
            for a in attached]
    return out


def identity(keys: Keys, caller: Caller) -> IdentityFacts:
    """A user's or role's inline and attached policies (a user's groups' too), its
    permission boundary and its tags."""
    iam = client("iam", keys)
    if caller.kind == "user":
        user = _call("iam:GetUser", iam.get_user, UserName=caller.name)["User"]
        policies = _attached(iam, "user", caller.name)
        groups = _pages("iam:ListGroupsForUser", iam, "list_groups_for_user", "Groups",
                        UserName=caller.name)
        for group in groups:
            policies += _attached(iam, "group", group["GroupName"],
                                  f"group {group['GroupName']} ")
        tags = _tags(_pages("iam:ListUserTags", iam, "list_user_tags", "Tags",
                            UserName=caller.name))
        boundary = (user.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    elif caller.kind == "role":
        role = get_role(keys, caller.name)
        policies = _attached(iam, "role", caller.name)
        tags, boundary = role.tags or {}, role.boundary
    else:
        return IdentityFacts((), None, None)
    bound = NamedPolicy(f"permission boundary {boundary}", _managed(iam, boundary)) \
        if boundary else None
    return IdentityFacts(tuple(policies), bound, tags)


def organization(keys: Keys) -> str | None:
    """The organization id of the account ``keys`` belong to; None if it is in none."""
    try:
        found = _call("organizations:DescribeOrganization",
                      client("organizations", keys).describe_organization)
    except Unreadable as exc:
        if exc.reason.startswith("AWSOrganizationsNotInUseException"):
            return None
        raise
    return found["Organization"]["Id"]


def organization_accounts(keys: Keys) -> list[str]:
    """Every account of the organization (``organizations:ListAccounts``)."""
    org = client("organizations", keys)
    return [a["Id"] for a in _pages("organizations:ListAccounts", org, "list_accounts",
                                     "Accounts")]
