"""The AWS console for a role's session, through the federation endpoint (see docs/architecture.md,
Console, discovery and long-lived keys).

``getSigninToken`` trades the session's credentials (POSTed as a form, so the secret
key is in no URL) for a sign-in token; the sign-in URL (``Action=login``) carries it
to the console page ``--service``/``--region`` name. That URL is a bearer secret until
the token is used (15 minutes): it is printed only when asked (``--print``) and never
put in a browser's argv (any local user can read argv): the browser is given a
one-time loopback address that redirects to it once (:mod:`profiles.estate.handoff`).

The endpoint is ``ROLECALL_FEDERATION_URL`` if set, else the role's partition's
(``signin.aws.amazon.com``, regional when a region is known; China and GovCloud their
own). AWS caps the console session of a role-chained session at 1 hour, so a chained
session asks for no ``SessionDuration`` above it and the output says so.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from profiles.config.text import check_region
from profiles.durations import CHAIN_CAP, MAX_DURATION, MIN_DURATION, format_duration
from profiles.errors import AwsError, UsageError

ENV = "ROLECALL_FEDERATION_URL"
ISSUER = "rolecall"
TIMEOUT = 10
MIN_LEFT = 30 * 60  # a console session shorter than this is renewed first, if it can be
SERVICE = re.compile(r"[a-z0-9][a-z0-9-]{0,40}(/[a-z0-9][a-z0-9-]{0,40}){0,2}", re.ASCII)
# Short names people type, as the console's paths spell them (Granted's list, in part).
ALIASES = {
    "cfn": "cloudformation", "ct": "cloudtrail", "cw": "cloudwatch", "ddb": "dynamodbv2",
    "dynamodb": "dynamodbv2", "ec2": "ec2/v2", "iam": "iamv2", "l": "lambda",
    "orgs": "organizations/v2", "organizations": "organizations/v2", "r53": "route53/v2",
    "route53": "route53/v2", "sfn": "states", "sm": "secretsmanager", "ssm": "systems-manager",
    "sso": "singlesignon",
}
GLOBAL = {"iamv2", "route53/v2", "organizations/v2", "billing", "cloudfront"}
# partition -> (console host, sign-in host): regional hosts exist in the aws partition only
PARTITIONS = {
    "aws": ("console.aws.amazon.com", "signin.aws.amazon.com"),
    "aws-cn": ("console.amazonaws.cn", "signin.amazonaws.cn"),
    "aws-us-gov": ("console.amazonaws-us-gov.com", "signin.amazonaws-us-gov.com"),
}


@dataclass(frozen=True)
class Signin:
    """A sign-in URL (a secret) and the facts that may be shown about it."""

    url: str
    destination: str
    chained: bool
    expires_at: datetime  # of the credentials (the console session ends then, or sooner)
    session_duration: int | None  # what was asked of the federation endpoint

    def __repr__(self) -> str:  # never the URL
        return f"Signin(destination={self.destination!r}, chained={self.chained})"


def partition_of(role_arn: str, region: str | None) -> str:
    part = role_arn.split(":")[1] if role_arn.count(":") >= 5 else "aws"
    if part not in PARTITIONS and region:
        part = "aws-cn" if region.startswith("cn-") else \
            "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return part if part in PARTITIONS else "aws"


def destination(partition: str, region: str | None, service: str | None) -> str:
    """The console page: ``https://[REGION.]console.../SERVICE/home[?region=REGION]``."""
    console = PARTITIONS[partition][0]
    path = ALIASES.get(service, service) if service else None
    host = f"{region}.{console}" if region and partition == "aws" else console
    page = "console/home" if path is None else f"{path}/home"
    query = f"?region={region}" if region and path not in GLOBAL else ""
    return f"https://{host}/{page}{query}"


def endpoint(partition: str, region: str | None) -> str:
    """The federation endpoint: ``ROLECALL_FEDERATION_URL``, else the partition's."""
    given = os.environ.get(ENV, "").strip()
    if given:
        parts = urllib.parse.urlsplit(given)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
            raise UsageError(f"{ENV} is not an http(s) URL without a query",
                             fix="e.g. https://signin.aws.amazon.com/federation")
        return given
    signin = PARTITIONS[partition][1]
    host = f"{region}.{signin}" if region and partition == "aws" else signin
    return f"https://{host}/federation"


def check_service(service: str | None) -> str | None:
    if service is not None and not SERVICE.fullmatch(service):
        raise UsageError(f"--service {ascii(service)} is not a console service name",
                         fix="e.g. --service s3, ec2, cloudformation or lambda")
    return service


def check_duration(seconds: int | None, chained: bool, role: str) -> int | None:
    if seconds is None:
        return None
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise UsageError(f"console session {format_duration(seconds)} is outside 15m to 12h",
                         fix="ask for 15m to 12h")
    if chained and seconds > CHAIN_CAP:
        raise UsageError(f"{role} is a role-chained session: AWS caps its console session "
                         f"at 1 hour, not {format_duration(seconds)}", fix="ask for 1h or less")
    return seconds


def _refused(url: str, status: int) -> AwsError:
    """What an HTTP error from the federation endpoint means (its body is an HTML page
    that says no more than the status, so it is never shown)."""
    if status == 400:  # the real endpoint's answer to credentials it does not accept
        return AwsError(f"the federation endpoint refused the session (HTTP {status})",
                        fix="the session may be expired or revoked: run with --refresh; a "
                        "role-chained session allows at most a 1h console session")
    where = urllib.parse.urlsplit(url).netloc
    if status >= 500:
        return AwsError(f"the federation endpoint {where} failed (HTTP {status})",
                        fix=f"try again in a minute; if {ENV} is set, check the server it "
                        "names")
    return AwsError(f"the federation endpoint {where} answered HTTP {status}: not a "
                    "sign-in federation endpoint", fix=f"check {ENV} (e.g. "
                    "https://signin.aws.amazon.com/federation), or unset it")


def signin_token(url: str, credentials, duration: int | None) -> str:
    """The federation endpoint's ``SigninToken`` for ``credentials`` (one HTTPS POST)."""
    form = {"Action": "getSigninToken", "Session": json.dumps({
        "sessionId": credentials.access_key_id, "sessionKey": credentials.secret_access_key,
        "sessionToken": credentials.session_token})}
    if duration is not None:
        form["SessionDuration"] = str(duration)
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                     method="POST", headers={
                                         "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:  # noqa: S310
            body = reply.read(64 * 1024)
    except urllib.error.HTTPError as exc:  # the endpoint says no more than its status
        raise _refused(url, exc.code) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AwsError(f"the federation endpoint {urllib.parse.urlsplit(url).netloc} is "
                       f"unreachable: {reason}", fix=f"check the network and {ENV}") from None
    try:
        token = json.loads(body)["SigninToken"]
        if not isinstance(token, str) or not token:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise AwsError("the federation endpoint answered without a SigninToken",
                       fix=f"check {ENV}") from None
    return token


def signin(ws, name: str, *, service: str | None = None, region: str | None = None,
           duration: int | None = None, mfa_code=None, refresh: bool = False) -> Signin:
    """A sign-in URL for role ``name``'s session (cached when it has 30 minutes left,
    else renewed if a longer one can be had)."""
    check_service(service)
    if region is not None:
        try:
            check_region(region, "--region")
        except UsageError as exc:
            raise UsageError(exc.message.replace("--region: invalid region", "invalid "
                             "--region"), fix=exc.fix) from None
    role = ws.inventory.role(name)
    chained = ws.engine.plan(name).steps[-1].chained
    check_duration(duration, chained, name)
    result = ws.engine.assume(name, mfa_code=mfa_code, refresh=refresh, min_left=MIN_LEFT)
    session = result.session
    assert session.credentials is not None
    region = region or role.region
    partition = partition_of(role.role_arn, region)
    url = endpoint(partition, region)
    token = signin_token(url, session.credentials, duration)
    page = destination(partition, region, service)
    query = urllib.parse.urlencode({"Action": "login", "Issuer": ISSUER,
                                    "Destination": page, "SigninToken": token})
    return Signin(f"{url}?{query}", page, chained, session.expires_at, duration)
