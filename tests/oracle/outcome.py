"""What one side did for one scenario: its STS calls, hop by hop, and how it ended."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.oracle.proxy import Request

_DEFAULT_NAME = re.compile(r"botocore-session-\d+")


@dataclass(frozen=True)
class Call:
    """One STS (or SSO) request as the oracle compares it."""

    op: str
    role_arn: str | None
    external_id: str | None
    duration: str | None  # as sent; None when absent
    session_name: str | None
    serial: str | None
    token_code: str | None
    signer: str  # key:AKID (static), role:/mfa:/web:/sso: (credentials a call returned)
    endpoint: str
    region: str | None  # the SigV4 signing region


@dataclass(frozen=True)
class Outcome:
    ok: bool
    calls: list[Call] = field(default_factory=list)
    error: str = ""
    exit_code: int = 0


def calls_of(requests: list[Request]) -> list[Call]:
    """Requests as calls, each signer named by what issued its key (so two runs that
    get different temporary keys for the same hop compare equal)."""
    issued: dict[str, str] = {}
    out = []
    for r in requests:
        p = r.params
        signer = "unsigned" if r.key_id is None else issued.get(r.key_id, f"key:{r.key_id}")
        name = p.get("RoleSessionName")
        call = Call(
            op=r.action, role_arn=p.get("RoleArn"), external_id=p.get("ExternalId"),
            duration=p.get("DurationSeconds"),
            session_name=_DEFAULT_NAME.sub("botocore-session-<unix>", name) if name else None,
            serial=p.get("SerialNumber"), token_code=p.get("TokenCode"), signer=signer,
            endpoint=r.endpoint, region=r.signing_region,
        )
        if r.issued_key:
            issued[r.issued_key] = {
                "GetSessionToken": f"mfa:{call.serial}",
                "AssumeRoleWithWebIdentity": f"web:{call.role_arn}",
                "GetRoleCredentials": f"sso:{p.get('account_id')}/{p.get('role_name')}",
            }.get(r.action, f"role:{call.role_arn}")
        out.append(call)
    return out
