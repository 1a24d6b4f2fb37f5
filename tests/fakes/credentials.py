"""Where the SSO fake's role credentials come from: moto (usable there) or random keys."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import string
import threading
from dataclasses import dataclass
from typing import Any, Protocol

SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
_TRUST_SSO = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
              '{"Federated":"arn:aws:iam::%s:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE"},'
              '"Action":["sts:AssumeRoleWithSAML","sts:TagSession"]}]}')


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str
    session_token: str


class Minter(Protocol):
    def mint(self, account_id: str, role_name: str, user: str, duration: int) -> Keys: ...


def reserved_role_name(account_id: str, permission_set: str) -> str:
    """The IAM role IAM Identity Center provisions for a permission set in an account."""
    digest = hashlib.sha256(f"{account_id}/{permission_set}".encode()).hexdigest()[:16]
    return f"AWSReservedSSO_{permission_set}_{digest}"[:64]


class RandomKeys:
    """Keys nobody accepts: for tests that never use the credentials."""

    def mint(self, account_id: str, role_name: str, user: str, duration: int) -> Keys:
        alphabet = string.ascii_uppercase + string.digits
        return Keys("ASIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
                    secrets.token_urlsafe(30)[:40], "IQoJb3JpZ2luX2Vj" + secrets.token_urlsafe(96))


class MotoKeys:
    """Real temporary keys from moto: the permission set's ``AWSReservedSSO_*`` role is
    created in the account and assumed with the user's name as the session name, so
    ``sts get-caller-identity`` with the keys names that account, role and user."""

    def __init__(self, moto: Any) -> None:
        self.moto = moto  # tests.sandbox.Moto: .client(service, account)
        self._lock = threading.Lock()
        self._roles: dict[tuple[str, str], str] = {}
        self._sts: dict[str, Any] = {}

    def role_arn(self, account_id: str, permission_set: str) -> str:
        with self._lock:
            if (account_id, permission_set) not in self._roles:
                iam = self.moto.client("iam", account_id)
                name = reserved_role_name(account_id, permission_set)
                with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
                    iam.create_role(RoleName=name, Path=SSO_ROLE_PATH, MaxSessionDuration=43200,
                                    AssumeRolePolicyDocument=_TRUST_SSO % account_id)
                arn = iam.get_role(RoleName=name)["Role"]["Arn"]
                self._roles[account_id, permission_set] = arn
            return self._roles[account_id, permission_set]

    def mint(self, account_id: str, role_name: str, user: str, duration: int) -> Keys:
        arn = self.role_arn(account_id, role_name)
        with self._lock:
            sts = self._sts.get(account_id) or self._sts.setdefault(
                account_id, self.moto.client("sts", account_id))
        creds = sts.assume_role(RoleArn=arn, RoleSessionName=user[:64],
                                DurationSeconds=duration)["Credentials"]
        return Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
