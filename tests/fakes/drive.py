"""Small helpers for tests that drive the fakes: clients pointed at them, error shapes,
and a plain HTTP request that does not follow redirects (to open a sign-in URL)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from tests.fakes.base import FakeService


def boto_client(service: str, fake: FakeService, *, attempts: int = 1,
                region: str = "us-east-1", mode: str = "legacy", **kwargs: Any) -> Any:
    """A boto3 client for ``service`` at ``fake`` making at most ``attempts`` tries."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": mode, "total_max_attempts": attempts})
    return boto3.client(service, endpoint_url=fake.endpoint, region_name=region,
                        config=config, **kwargs)


def error_of(exc: Any) -> tuple[str, int]:
    """(error code, HTTP status) of a botocore ClientError or its ``pytest.raises`` info."""
    response = getattr(exc, "value", exc).response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


class _Keep(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(url: str, data: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET (or POST ``data`` to) ``url``; (status, headers, body), redirects not followed."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.build_opener(_Keep).open(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()
