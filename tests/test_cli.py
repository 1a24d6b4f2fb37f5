"""The real ``rolecall`` command in subprocesses against moto and the real keyring."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values

from tests.helpers import (
    ACCOUNTS,
    MFA_SERIAL,
    assert_fails,
    chain_config,
    environ,
    ok_json,
    process_creds,
    run_detached,
)

AWS = str(Path(sys.executable).with_name("aws"))


def files_containing(root: Path, *needles: str) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(n.encode() in data for n in needles):
                hits.append(path)
    return hits


def test_assume_json_shape_and_cache_hit(world):
    arns = chain_config(world)
    first = ok_json(world.run("assume", "hop2", "--json"))
    assert first["role"] == "hop2" and first["cached"] is False
    assert first["assumed_role_arn"].startswith(f"arn:aws:sts::{ACCOUNTS[1]}:assumed-role/Hop2/")
    assert first["expires_at"].endswith("Z") and 0 < first["seconds_left"] <= 3600
    assert [h["role"] for h in first["chain"]] == ["hop1", "hop2"]
    assert {"kind", "arn", "expires_at", "seconds_left", "cached"} <= set(first["chain"][0])
    second = ok_json(world.run("assume", "hop2", "--json"))
    assert second["cached"] is True
    assert second["assumed_role_arn"] == first["assumed_role_arn"]
    assert second["session_name"] == first["session_name"]
    refreshed = ok_json(world.run("assume", "hop2", "--json", "--refresh"))
    assert refreshed["cached"] is False and refreshed["chain"][0]["cached"] is True
    plain = world.run("assume", "hop1")
    assert plain.returncode == 0 and plain.stdout.splitlines()[0].startswith(
        f"arn:aws:sts::{ACCOUNTS[0]}:assumed-role/Hop1/")
    assert arns["a1"] not in plain.stderr


def test_no_secret_on_disk_after_assume_only_in_credentials_after_write(world):
    chain_config(world)
    assert world.run("assume", "hop3").returncode == 0
    creds = process_creds(world, "hop3")
    secret, token = creds["SecretAccessKey"], creds["SessionToken"]
    assert files_containing(world.home, secret, token) == []
    assert files_containing(world.state, secret, token) == []
    parent = process_creds(world, "hop1")
    assert files_containing(world.home, parent["SecretAccessKey"], parent["SessionToken"]) == []
    assert world.run("write", "hop3").returncode == 0
    assert files_containing(world.home, secret, token) == [world.credentials]
    assert files_containing(world.home, parent["SessionToken"]) == []


def test_process_json_shape(world):
    chain_config(world)
    creds = process_creds(world, "hop1")
    assert set(creds) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken",
                          "Expiration"}
    assert creds["Version"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", creds["Expiration"])
    assert process_creds(world, "hop1") == creds  # cache hit: the same session


def _sh_eval(world, text: str, script: str) -> subprocess.CompletedProcess:
    env = environ(world, AWS_PROFILE="base", AWS_DEFAULT_PROFILE="base")
    return subprocess.run(["sh", "-c", f"{text}\n{script}"], capture_output=True, text=True,
                          env=env, timeout=60)


def test_env_sh_eval_gives_the_aws_cli_the_role(world):
    chain_config(world)
    world.write_config(world.config.read_text().replace(
        "[profile hop2]\n", "[profile hop2]\nregion = eu-west-1\n"))
    for attempt in ("cold", "warm"):  # the full path, then the fast path
        out = world.run("env", "hop2")
        assert out.returncode == 0, (attempt, out.stderr)
        done = _sh_eval(world, out.stdout, f'echo "${{AWS_PROFILE-unset}} $AWS_REGION '
                        f'$ROLECALL_ROLE"; {AWS} sts get-caller-identity --output json')
        assert done.returncode == 0, done.stderr
        first, _, rest = done.stdout.partition("\n")
        assert first == "unset eu-west-1 hop2"
        identity = json.loads(rest)
        assert identity["Account"] == ACCOUNTS[1]
        assert ":assumed-role/Hop2/" in identity["Arn"]


def test_env_every_format(world):
    chain_config(world)
    creds = process_creds(world, "hop1")
    expected = {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "AWS_CREDENTIAL_EXPIRATION": creds["Expiration"],
        "AWS_SESSION_EXPIRATION": creds["Expiration"], "ROLECALL_ROLE": "hop1",
        "ROLECALL_REFRESH_WINDOW": "300",  # the catalog's window, for `rolecall prompt`
    }
    # the fast path (a cache hit, plain arguments), then the full path (--debug)
    for args in (["env", "hop1"], ["env", "hop1", "--debug"]):
        as_json = ok_json(world.run(*args, "--format", "json"))
        assert as_json == expected
        dotenv = world.run(*args, "--format", "dotenv").stdout
        assert dict(dotenv_values(stream=io.StringIO(dotenv))) == expected
        assert dotenv.splitlines()[0].startswith("AWS_ACCESS_KEY_ID='")
        sh = world.run(*args).stdout
        done = _sh_eval(world, sh, "env")
        got = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        assert {k: got.get(k) for k in expected} == expected
        assert "AWS_PROFILE" not in got and "AWS_DEFAULT_PROFILE" not in got
        fish = world.run(*args, "-f", "fish").stdout.splitlines()
        assert fish[0].startswith("set -e AWS_PROFILE AWS_DEFAULT_PROFILE ")
        assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in fish[0] and fish[0].endswith("; or true")
        assert f"set -gx AWS_SESSION_TOKEN '{creds['SessionToken']}'" in fish
        ps = world.run(*args, "--format=powershell").stdout.splitlines()
        assert "Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue" in ps
        assert f"$Env:AWS_SECRET_ACCESS_KEY = '{creds['SecretAccessKey']}'" in ps


def test_exec_passes_status_and_environment(world, tmp_path):
    chain_config(world)
    script = ("import os, sys; print(os.environ['ROLECALL_ROLE'], "
              "os.environ.get('AWS_PROFILE', '-'), os.environ['AWS_ACCESS_KEY_ID']); "
              "sys.exit(int(sys.argv[1]))")
    out = world.run("exec", "hop2", "--", sys.executable, "-c", script, "7",
                    env={"AWS_PROFILE": "base"})
    assert out.returncode == 7, out.stderr
    role, profile, key = out.stdout.split()
    assert (role, profile) == ("hop2", "-")
    assert key == process_creds(world, "hop2")["AccessKeyId"]
    assert world.run("exec", "hop2", "--", "true").returncode == 0
    missing = world.run("exec", "hop2", "--", "no-such-command-rolecall")
    assert_fails(missing, 127, "no-such-command-rolecall", "not found")


def test_shell_runs_shell_and_guards_nesting(world, tmp_path):
    chain_config(world)
    record = tmp_path / "shell.out"
    shell = tmp_path / "fake-shell"
    shell.write_text(f"#!/bin/sh\necho \"$ROLECALL_ROLE $AWS_ACCESS_KEY_ID\" > {record}\nexit 3\n")
    shell.chmod(0o755)
    out = world.run("shell", "hop1", env={"SHELL": str(shell)})
    assert out.returncode == 3, out.stderr
    role, key = record.read_text().split()
    assert role == "hop1" and key == process_creds(world, "hop1")["AccessKeyId"]
    record.unlink()
    nested = world.run("shell", "hop1", env={"SHELL": str(shell), "ROLECALL_ROLE": "hop2"})
    assert_fails(nested, 2, "--nest", "hop2")
    assert not record.exists()
    allowed = world.run("shell", "hop1", "--nest", env={"SHELL": str(shell),
                                                         "ROLECALL_ROLE": "hop2"})
    assert allowed.returncode == 3 and record.read_text().split()[0] == "hop1"


def test_list_sessions_and_forget(world):
    chain_config(world)
    world.catalog.write_text(f'[accounts."{ACCOUNTS[2]}"]\nalias = "prod"\ntags = ["prod"]\n')
    rows = {r["name"]: r for r in ok_json(world.run("list", "--json"))}
    assert set(rows) == {"hop1", "hop2", "hop3"}
    assert rows["hop3"]["chain"] == ["base", "hop1", "hop2", "hop3"]
    assert rows["hop3"]["account_alias"] == "prod" and rows["hop3"]["tags"] == ["prod"]
    assert rows["hop3"]["state"] == "none"
    assert world.run("assume", "hop3").returncode == 0
    assert world.run("write", "hop1", "--as", "ops").returncode == 0
    rows = {r["name"]: r for r in ok_json(world.run("list", "--json"))}
    assert all(rows[n]["state"] == "active" for n in rows)
    assert rows["hop1"]["profiles"] == ["ops"]
    assert 0 < rows["hop3"]["seconds_left"] <= 3600
    text = world.run("list").stdout
    assert "base > hop1 > hop2 > hop3" in text and "prod" in text
    sessions = ok_json(world.run("sessions", "--json"))
    assert sorted(s["role"] for s in sessions) == ["hop1", "hop2", "hop3"]
    assert all(s["state"] == "active" and s["expires_at"].endswith("Z") for s in sessions)
    forgot = world.run("forget", "hop3")
    assert forgot.returncode == 0 and "forgot 1 session" in forgot.stdout
    assert sorted(s["role"] for s in ok_json(world.run("sessions", "--json"))) == ["hop1",
                                                                                 "hop2"]
    assert ok_json(world.run("assume", "hop3", "--json"))["cached"] is False
    assert world.run("forget", "--all").returncode == 0
    assert ok_json(world.run("sessions", "--json")) == []
    assert "no cached sessions" in world.run("sessions").stdout


def test_one_mfa_code_serves_two_roles_over_the_cli(world):
    m1 = world.moto.create_role(ACCOUNTS[0], "M1")
    m2 = world.moto.create_role(ACCOUNTS[1], "M2")
    chain_config(world, f"\n[profile m1]\nrole_arn = {m1}\nsource_profile = base\n"
                        f"mfa_serial = {MFA_SERIAL}\n\n[profile m2]\nrole_arn = {m2}\n"
                        f"source_profile = base\nmfa_serial = {MFA_SERIAL}\n")
    first = ok_json(run_detached(world, "assume", "m1", "--json", "--mfa-code", "123456"))
    assert [h["kind"] for h in first["chain"]] == ["mfa", "role"]
    second = run_detached(world, "assume", "m2", "--json")  # no code, no terminal
    data = ok_json(second)
    assert data["chain"][0]["cached"] is True and data["cached"] is False
    assert data["assumed_role_arn"].split(":")[4] == ACCOUNTS[1]
    kinds = sorted(s["kind"] for s in ok_json(world.run("sessions", "--json")))
    assert kinds == ["mfa", "role", "role"]


def test_direct_mfa_mode_makes_no_mfa_session(world):
    d1 = world.moto.create_role(ACCOUNTS[0], "D1", max_session=43200)
    chain_config(world, f"\n[profile d1]\nrole_arn = {d1}\nsource_profile = base\n"
                        f"mfa_serial = {MFA_SERIAL}\nmfa_mode = direct\n")
    data = ok_json(run_detached(world, "assume", "d1", "--json", "--mfa-code", "123456",
                                "--duration", "3h"))
    assert [h["kind"] for h in data["chain"]] == ["role"]
    assert 3 * 3600 - 60 < data["seconds_left"] <= 3 * 3600
    assert [s["kind"] for s in ok_json(world.run("sessions", "--json"))] == ["role"]


def test_unreachable_endpoint_fails_fast_with_one_line(offline_world):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    offline_world.write_config(
        "[profile base]\n[profile r]\nrole_arn = arn:aws:iam::111111111111:role/R\n"
        "source_profile = base\n")
    offline_world.write_credentials("[base]\naws_access_key_id = AKIAX\n"
                                    "aws_secret_access_key = s\n")
    # memory-only keyring: this test is about the network, not the Secret Service
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    import time

    started = time.monotonic()
    out = offline_world.run("assume", "r", env=env, timeout=30)
    assert time.monotonic() - started < 15
    assert_fails(out, 1, "unreachable", f"127.0.0.1:{port}")


def test_debug_shows_the_traceback(offline_world):
    offline_world.write_config("[profile r]\nrole_arn = bad\nsource_profile = x\n")
    out = offline_world.run("--debug", "assume", "r")
    assert out.returncode == 2 and "Traceback" in out.stderr
    assert out.stderr.rstrip().splitlines()[-2].startswith("rolecall: ")


def test_env_does_not_leak_outer_profile_into_exec(world):
    chain_config(world)
    out = world.run("exec", "hop1", "--", sys.executable, "-c",
                    "import os; print(os.environ.get('AWS_DEFAULT_PROFILE', '-'))",
                    env={"AWS_DEFAULT_PROFILE": "base"})
    assert out.returncode == 0 and out.stdout.strip() == "-"
    assert os.environ.get("ROLECALL_ROLE") is None


def test_sessions_and_list_agree_on_the_refresh_window(world):
    chain_config(world)
    world.catalog.write_text('[settings]\nrefresh_window = "2h"\n')
    assert world.run("assume", "hop1").returncode == 0
    [row] = [r for r in ok_json(world.run("list", "--json")) if r["name"] == "hop1"]
    [entry] = ok_json(world.run("sessions", "--json"))
    assert row["state"] == entry["state"] == "expiring"


def test_base_identities_botocore_resolves(world):
    """credential_source = Environment and a credential_process base both work."""
    r1 = world.moto.create_role(ACCOUNTS[0], "FromEnv")
    r2 = world.moto.create_role(ACCOUNTS[1], "FromProcess")
    key, secret = world.moto.create_user_keys("000000000000", "envuser")
    helper = world.home / "creds.py"
    helper.write_text("import json\nprint(json.dumps({'Version': 1, "
                      f"'AccessKeyId': {key!r}, 'SecretAccessKey': {secret!r}}}))\n")
    world.write_config(
        f"[profile fromenv]\nrole_arn = {r1}\ncredential_source = Environment\n\n"
        f"[profile proc]\ncredential_process = {sys.executable} {helper}\n\n"
        f"[profile fromproc]\nrole_arn = {r2}\nsource_profile = proc\n")
    env = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    data = ok_json(world.run("assume", "fromenv", "--json", env=env))
    assert ":assumed-role/FromEnv/" in data["assumed_role_arn"]
    rows = {r["name"]: r["chain"] for r in ok_json(world.run("list", "--json"))}
    assert rows["fromenv"] == ["credential_source=Environment", "fromenv"]
    assert rows["fromproc"] == ["proc", "fromproc"]
    data = ok_json(world.run("assume", "fromproc", "--json"))
    assert data["assumed_role_arn"].split(":")[4] == ACCOUNTS[1]
    missing = world.run("assume", "fromenv", "--refresh")  # no keys in the environment
    assert_fails(missing, 1, "Environment")


def test_catalog_role_chained_from_an_aws_profile(world):
    chain_config(world)
    target = world.moto.create_role(ACCOUNTS[2], "CatalogTarget")
    world.catalog.write_text(
        f'[roles.deploy]\nrole_arn = "{target}"\nsource = "hop1"\nexternal_id = "ext-1"\n'
        'session_name = "deploy-{profile}"\nregion = "eu-central-1"\n')
    data = ok_json(world.run("assume", "deploy", "--json"))
    assert [h["role"] for h in data["chain"]] == ["hop1", "deploy"]
    assert data["session_name"] == "deploy-deploy"
    assert data["assumed_role_arn"].endswith(":assumed-role/CatalogTarget/deploy-deploy")
    env = ok_json(world.run("env", "deploy", "--format", "json"))
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"
