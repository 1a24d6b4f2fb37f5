"""botocore clients for IAM Identity Center (the ``sso`` portal and ``sso-oidc``, both
unsigned: a bearer token or the OIDC client's secret is the authorisation) and for
Organizations.

Each thread has one botocore session that reads no named profile, so ``AWS_PROFILE``
never decides anything here; endpoints come from botocore's own settings
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_SSO``, ``AWS_ENDPOINT_URL_SSO_OIDC``, the
region), so a sandbox and a real region are reached alike. Clients are made per use
(sessions are not thread-safe, clients are): discovery shares one across its workers.
"""

from __future__ import annotations

import threading

import botocore.session
from botocore import UNSIGNED
from botocore.config import Config

from profiles.errors import one_line_errors

_local = threading.local()


def _session() -> botocore.session.Session:
    session = _local.__dict__.get("session")
    if session is None:
        session = _local.__dict__["session"] = botocore.session.Session()
        session._config = {"profiles": {"\nplain": {}}}  # no file is read (see sts.py)
        session.set_config_variable("profile", "\nplain")
        one_line_errors(session)  # an HTML error page is reported by its status alone
    return session


def bearer(service: str, region: str, *, attempts: int = 3, pool: int = 10):
    """An ``sso`` or ``sso-oidc`` client in ``region``. ``attempts=1`` turns botocore's
    retries off, for callers that pace and back off themselves (discovery)."""
    config = Config(signature_version=UNSIGNED, connect_timeout=3, read_timeout=10,
                    retries={"total_max_attempts": attempts, "mode": "standard"},
                    max_pool_connections=pool)
    return _session().create_client(service, region_name=region, config=config)


def signed(service: str, region: str, keys: tuple[str, str, str | None]):
    """A client of ``service`` signed with explicit keys (Organizations for discover)."""
    config = Config(connect_timeout=3, read_timeout=10,
                    retries={"total_max_attempts": 3, "mode": "standard"})
    return _session().create_client(service, region_name=region, config=config,
                                    aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                                    aws_session_token=keys[2])


def error_code(exc: Exception) -> str | None:
    """AWS's error code of a botocore ClientError (None for anything else)."""
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
