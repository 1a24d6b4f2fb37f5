"""A small estate for the ``rolecall run`` tests: deploy roles in four accounts (two
tagged ``prod``, one without an alias), a read-only role, an MFA role, and helpers to
read what the children wrote."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.conftest import World

ACCOUNTS = {"dev": "111111111111", "prod": "222222222222", "prod-eu": "333333333333",
            "sandbox": "444444444444"}
MFA = "arn:aws:iam::000000000000:mfa/operator"
CATALOG = """\
[accounts."111111111111"]
alias = "dev"
tags = ["dev"]

[accounts."222222222222"]
alias = "prod"
tags = ["prod"]

[accounts."333333333333"]
alias = "prod-eu"
tags = ["prod", "eu"]
"""
# Board order: dev, prod, prod-eu (by alias), then the account without one.
DEPLOY = ["dev-deploy", "prod-deploy", "prodeu-deploy", "sandbox-deploy"]
PY = sys.executable


def estate(world: World, mfa: bool = False) -> dict[str, str]:
    """The roles in moto and the AWS config; returns role name -> role ARN."""
    arns = {
        "dev-deploy": world.moto.create_role(ACCOUNTS["dev"], "Deploy"),
        "dev-read": world.moto.create_role(ACCOUNTS["dev"], "ReadOnly"),
        "prod-deploy": world.moto.create_role(ACCOUNTS["prod"], "Deploy"),
        "prodeu-deploy": world.moto.create_role(ACCOUNTS["prod-eu"], "Deploy"),
        "sandbox-deploy": world.moto.create_role(ACCOUNTS["sandbox"], "Deploy"),
    }
    text = "[profile base]\nregion = us-east-1\n\n" + "".join(
        f"[profile {name}]\nrole_arn = {arn}\nsource_profile = base\n\n"
        for name, arn in arns.items())
    if mfa:
        for name, account in (("dev-admin", "dev"), ("prod-admin", "prod")):
            arns[name] = world.moto.create_role(ACCOUNTS[account], "Admin")
            text += (f"[profile {name}]\nrole_arn = {arns[name]}\nsource_profile = base\n"
                     f"mfa_serial = {MFA}\n\n")
    world.write_config(text)
    world.catalog.write_text(CATALOG)
    if not world.credentials.exists() or "[base]" not in world.credentials.read_text():
        world.base_profile()
    return arns


def py(code: str) -> list[str]:
    """A child command: this interpreter running ``code``."""
    return [PY, "-c", code]


# A child that reports what it was given: its identity as STS sees it (through the AWS
# CLI when asked), its account variables, its directory and which credential variables
# it holds, as one JSON line.
REPORT = """
import json, os, subprocess, sys
env = os.environ
out = {"account_id": env.get("ROLECALL_ACCOUNT_ID"), "alias": env.get("ROLECALL_ACCOUNT_ALIAS"),
       "role": env.get("ROLECALL_ROLE"), "cwd": os.getcwd(), "key": env.get("AWS_ACCESS_KEY_ID"),
       "profile": env.get("AWS_PROFILE"), "stdin": sys.stdin.read()}
if len(sys.argv) > 1:
    out["arn"] = subprocess.run([sys.argv[1], "sts", "get-caller-identity", "--query", "Arn",
                                 "--output", "text"], capture_output=True, text=True,
                                check=True).stdout.strip()
print("REPORT " + json.dumps(out))
"""


def reports(text: str) -> dict[str, dict]:
    """The REPORT lines of a prefix-mode stream, by role."""
    out = {}
    for line in text.splitlines():
        role, sep, rest = line.partition("] REPORT ")
        if sep:
            out[role.lstrip("[")] = json.loads(rest)
    return out


def aws_cli() -> str:
    return str(Path(PY).with_name("aws"))


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        return os.path.exists(f"/proc/{pid}")
