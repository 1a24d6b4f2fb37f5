"""The environment handed to ``exec``, ``shell`` and ``env``, and its shell spellings."""

from __future__ import annotations

import os

from profiles.output.shells import FORMATS
from profiles.output.shells import render as _render

__all__ = ["ENDPOINT_REMOVED", "FORMATS", "NEST_MARKER", "REMOVED", "build", "child_environ",
           "endpoint", "render"]
REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
NEST_MARKER = "ROLECALL_ROLE"
WINDOW = "ROLECALL_REFRESH_WINDOW"  # seconds: `rolecall prompt` warns inside it, as the board
FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
# With the endpoint, nothing botocore would read before the container provider (or
# instead of the full URI and token) may remain: static keys, a profile, web identity,
# a relative URI, a token file.
ENDPOINT_REMOVED = (*REMOVED, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
                    "AWS_SESSION_EXPIRATION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")


def build(role: str, credentials: dict[str, str], region: str | None,
          refresh_window: int | None = None) -> dict[str, str]:
    """Variables to set, from credential_process-shaped credentials; ``refresh_window``
    (the catalog's, in seconds) tells ``rolecall prompt`` when to warn."""
    env = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_CREDENTIAL_EXPIRATION": credentials["Expiration"],
        "AWS_SESSION_EXPIRATION": credentials["Expiration"],
    }
    if region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    env[NEST_MARKER] = role
    if refresh_window is not None:
        env[WINDOW] = str(int(refresh_window))
    return env


def endpoint(role: str, url: str, token: str, region: str | None) -> dict[str, str]:
    """Variables that point an SDK at the credential endpoint (see docs/architecture.md, Credential
    endpoint)."""
    env = {FULL_URI: url, TOKEN: token}
    if region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    env[NEST_MARKER] = role
    return env


def child_environ(variables: dict[str, str], base: dict[str, str] | None = None,
                  removed: tuple[str, ...] = REMOVED) -> dict[str, str]:
    """The full environment for a child process: ours, minus profiles, plus the session."""
    env = dict(os.environ if base is None else base)
    for name in removed:
        env.pop(name, None)
    env.update(variables)
    return env


def render(variables: dict[str, str], fmt: str, removed: tuple[str, ...] = REMOVED) -> str:
    """Text to ``eval`` (or load) in the given shell or format (see ``shells``)."""
    return _render(variables, fmt, removed)
