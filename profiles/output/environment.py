"""The environment handed to ``exec``, ``shell`` and ``env``, and its shell spellings."""

from __future__ import annotations

import os

from profiles.output.shells import FORMATS
from profiles.output.shells import render as _render

__all__ = ["FORMATS", "NEST_MARKER", "REMOVED", "build", "child_environ", "render"]
REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
NEST_MARKER = "ROLECALL_ROLE"


def build(role: str, credentials: dict[str, str], region: str | None) -> dict[str, str]:
    """Variables to set, from credential_process-shaped credentials."""
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
    return env


def child_environ(variables: dict[str, str], base: dict[str, str] | None = None) -> dict[str, str]:
    """The full environment for a child process: ours, minus profiles, plus the session."""
    env = dict(os.environ if base is None else base)
    for name in REMOVED:
        env.pop(name, None)
    env.update(variables)
    return env


def render(variables: dict[str, str], fmt: str) -> str:
    """Text to ``eval`` (or load) in the given shell or format (see ``shells``)."""
    return _render(variables, fmt, REMOVED)
