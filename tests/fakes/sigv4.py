"""Who signed a request: the access key, region and service of a SigV4 Authorization."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

_CREDENTIAL = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request\s*,")


@dataclass(frozen=True)
class Signer:
    access_key: str
    region: str
    service: str
    session_token: str | None  # X-Amz-Security-Token, present for temporary keys


def signer(headers: Message) -> Signer | None:
    """The signer named by ``Authorization`` (the signature itself is not checked)."""
    match = _CREDENTIAL.match(headers.get("Authorization", ""))
    if not match:
        return None
    return Signer(match["key"], match["region"], match["service"],
                  headers.get("X-Amz-Security-Token"))
