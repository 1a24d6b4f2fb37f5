"""The environment handed to ``exec``, ``shell`` and ``env``, and its shell spellings."""

from __future__ import annotations

import json
import os

REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
FORMATS = ("sh", "fish", "powershell", "dotenv", "json")
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


def _sq(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def render(variables: dict[str, str], fmt: str) -> str:
    """Text to ``eval`` (or load) in the given shell or format."""
    if fmt == "json":
        return json.dumps(variables, indent=2) + "\n"
    lines: list[str] = []
    if fmt == "sh":
        lines.append("unset " + " ".join(REMOVED))
        lines += [f"export {k}={_sq(v)}" for k, v in variables.items()]
    elif fmt == "fish":
        lines += [f"set -e {k}" for k in REMOVED]
        lines += [f"set -gx {k} {_sq(v).replace(chr(92), chr(92) * 2)}"
                  for k, v in variables.items()]
    elif fmt == "powershell":
        lines += [f"Remove-Item Env:{k} -ErrorAction SilentlyContinue" for k in REMOVED]
        lines += [f"$Env:{k} = '{v.replace(chr(39), chr(39) * 2)}'" for k, v in variables.items()]
    elif fmt == "dotenv":
        lines += [f"{k}={json.dumps(v)}" for k, v in variables.items()]
    else:
        raise ValueError(fmt)
    return "\n".join(lines) + "\n"
