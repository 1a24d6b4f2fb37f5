"""The real AWS CLI as a client: a profile rolecall wrote, and credential_process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ACCOUNTS, chain_config, environ

AWS = str(Path(sys.executable).with_name("aws"))


def caller(world, profile: str) -> dict:
    out = subprocess.run([AWS, "sts", "get-caller-identity", "--profile", profile,
                          "--output", "json"], capture_output=True, text=True,
                         env=environ(world), cwd=world.home, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_aws_cli_uses_a_profile_rolecall_wrote(world):
    chain_config(world)
    written = world.run("write", "hop3", "--as", "deploy")
    assert written.returncode == 0, written.stderr
    identity = caller(world, "deploy")
    assert identity["Account"] == ACCOUNTS[2]
    assert ":assumed-role/Hop3/" in identity["Arn"]


def test_aws_cli_uses_rolecall_as_credential_process(world):
    chain_config(world)
    command = f"{sys.executable} -m tui process hop2"
    world.write_config(world.config.read_text() + f"\n[profile cp]\ncredential_process = "
                       f"{command}\n")
    first = caller(world, "cp")  # cold: the full path assumes hop1 and hop2
    assert first["Account"] == ACCOUNTS[1] and ":assumed-role/Hop2/" in first["Arn"]
    second = caller(world, "cp")  # warm: the fast path serves the cached session
    assert second["Arn"] == first["Arn"]
    sessions = json.loads(world.run("sessions", "--json").stdout)
    assert sorted(s["role"] for s in sessions) == ["hop1", "hop2"]
