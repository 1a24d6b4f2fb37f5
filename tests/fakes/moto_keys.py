"""Who owns an access key, asked of the moto server running in this process.

For fakes that must tell the caller's account from a SigV4 access key (CloudTrail):
keys moto issued (IAM user keys, AssumeRole sessions) resolve to their account and
principal ARN; any other key to None. Reads moto's in-process backends (the ``moto``
fixture is a ``ThreadedMotoServer`` in this process).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    account_id: str
    arn: str | None = None


def moto_caller(access_key: str) -> Caller | None:
    from moto.iam.models import PARTITION_NAMES, iam_backends
    from moto.sts.models import sts_backends

    for account_id, account in list(iam_backends.items()):
        for partition in PARTITION_NAMES:
            key = account[partition].access_keys.get(access_key)
            if key is None:
                continue
            arn = None
            if key.role_arn:
                role = sts_backends[account_id][partition].get_assumed_role_from_access_key(
                    access_key)
                arn = role.arn if role else None
            elif key.user_name:
                arn = f"arn:{partition}:iam::{account_id}:user/{key.user_name}"
            return Caller(account_id, arn)
    return None
