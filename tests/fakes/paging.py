"""Opaque, tamper-evident page tokens: a page only continues the listing it came from."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")
_KEY = secrets.token_bytes(16)


class BadToken(ValueError):
    pass


def _mac(data: bytes) -> str:
    return hmac.new(_KEY, data, hashlib.sha256).hexdigest()[:16]


def make(offset: int, scope: Any) -> str:
    data = json.dumps({"o": offset, "s": _mac(json.dumps(scope, sort_keys=True).encode())})
    return base64.urlsafe_b64encode(f"{data}|{_mac(data.encode())}".encode()).decode()


def read(token: str, scope: Any) -> int:
    """The offset ``token`` carries, if it was made for the same ``scope``."""
    try:
        data, mac = base64.urlsafe_b64decode(token.encode()).decode().rsplit("|", 1)
        body = json.loads(data)
    except (ValueError, UnicodeError) as exc:
        raise BadToken(token) from exc
    if not hmac.compare_digest(mac, _mac(data.encode())) or \
            body.get("s") != _mac(json.dumps(scope, sort_keys=True).encode()):
        raise BadToken(token)
    return int(body["o"])


def page(items: Sequence[T], token: str | None, size: int,
         scope: Any) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token for the next one (None at the end)."""
    start = read(token, scope) if token else 0
    chunk = list(items[start:start + size])
    end = start + len(chunk)
    return chunk, (make(end, scope) if end < len(items) else None)
