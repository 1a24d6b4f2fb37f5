"""The environment handed to ``exec``, ``shell`` and ``env``, and its shell spellings.

What a child process gets around these variables (the parent's environment minus every
credential-bearing variable) is the door's: :mod:`profiles.doors.children`."""

from __future__ import annotations

from profiles.doors.children import unset
from profiles.output.shells import FORMATS
from profiles.output.shells import render as _render

__all__ = ["FORMATS", "NEST_MARKER", "build", "endpoint", "render"]
NEST_MARKER = "ROLECALL_ROLE"
WINDOW = "ROLECALL_REFRESH_WINDOW"  # seconds: `rolecall prompt` warns inside it, as the board
FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"


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
    """Variables that point an SDK at the credential endpoint (``serve``, ``exec
    --server``; see docs/architecture.md, Credential endpoint)."""
    env = {FULL_URI: url, TOKEN: token}
    if region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    env[NEST_MARKER] = role
    return env


def render(variables: dict[str, str], fmt: str) -> str:
    """Text to ``eval`` (or load) in the given shell or format (see ``shells``): every
    credential-bearing variable ``variables`` does not set is unset first, so the shell
    holds what a child of rolecall would (no other role's keys, profile or endpoint)."""
    return _render(variables, fmt, unset(variables))
