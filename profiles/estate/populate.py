"""Profiles for every tool (``sso populate``): each role discovery found in an IAM
Identity Center session becomes a ``[profile NAME]`` of the AWS config file whose
``credential_process`` is ``rolecall process ROLE``, so the AWS CLI, the SDKs, Terraform
and IDEs reach it through rolecall's cache and sign-in.

A profile is named as the role is (or by ``--template``, with the fields of the
``sso_name`` setting), every character the AWS files and a shell would read as
structure made a ``-``. A name a profile of the user's own already has (in the config
outside rolecall's blocks, or in the credentials file, whose keys botocore would merge
in), another session's block has, or two roles would share, is skipped and reported:
rolecall never takes a name. Nor ``default``, which every tool uses when none is named.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from profiles.config.sso_roles import SsoSession, check_template, render
from profiles.estate import roster
from profiles.output import awsconfig, ini, target

BLOCK = "in rolecall's block for sso-session "
_UNSAFE = re.compile(r"[^\w.@+=,/:-]+")  # a section name botocore splits, a shell word


@dataclass
class Plan:
    """The profiles one session's block should hold, and the roles left out (and why)."""

    session: SsoSession
    wanted: dict[str, str] = field(default_factory=dict)  # profile name -> its command
    roles: dict[str, str] = field(default_factory=dict)  # profile name -> rolecall role
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (role, why)


def command(role: str) -> str:
    """``rolecall process ROLE``, quoted as botocore splits a credential_process."""
    if sys.platform == "win32":
        return subprocess.list2cmdline(["rolecall", "process", role])
    return f"rolecall process {shlex.quote(role)}"


def profile_name(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-")[:128]


def taken(inv) -> dict[str, str]:
    """Names no populated profile may take, with whose they are: the user's own profiles
    (config and credentials file) and every session's block, by session."""
    config = Path(inv.config_file)
    out: dict[str, str] = {"default": "the default profile"}
    for name in inv.aws_files.credentials:
        out[name] = f"your own profile [{name}] in {inv.credentials_file}"
    try:
        text = target.read(target.resolve(config))
    except Exception:  # noqa: BLE001 - the write reports an unreadable file itself
        text = ""
    lines = ini.split_lines(text)
    found = awsconfig.blocks(lines, ini.classify(lines), config) if text else {}
    ours = {name: session for session, block in found.items() for name in block.profiles}
    for name in inv.aws_files.config.get("profiles", {}):
        if name not in ours:
            out.setdefault(name, f"your own profile in {config}")
    for name, session in ours.items():
        out.setdefault(name, f"{BLOCK}{session}")
    return out


def plan(inv, session: SsoSession, template: str | None = None) -> Plan:
    """The profiles for ``session``'s discovered roles."""
    if template is not None:
        check_template(template, "--template")
    names = {a.account_id: a.name for a in getattr(
        roster.read(inv.sso_file).get(session.name), "accounts", ())} if inv.sso_file else {}
    origin = f"IAM Identity Center ({session.name})"
    blocked = {name: why for name, why in taken(inv).items()
               if why != f"{BLOCK}{session.name}"}
    out = Plan(session)
    for role in inv.roles.values():
        if role.sso_session != session.name or role.origin != origin:
            continue
        account = inv.account(role.account_id)
        label = role.name if template is None else render(template, {
            "account_alias": account.alias or names.get(role.account_id) or role.account_id,
            "account_id": role.account_id,
            "account_name": names.get(role.account_id) or role.account_id,
            "role_name": role.role_short_name, "sso_session": session.name})
        name = profile_name(label)
        why = blocked.get(name) or (f"role {out.roles[name]!r}'s profile"
                                    if name in out.roles else None)
        if not name:
            out.skipped.append((role.name, "its name has nothing a profile name can hold"))
        elif why is not None:
            out.skipped.append((role.name, f"the name {name!r} is {why}"))
        else:
            out.wanted[name], out.roles[name] = command(role.name), role.name
    return out
