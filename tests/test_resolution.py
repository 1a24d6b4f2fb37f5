"""Resolution as botocore's (see docs/architecture.md, Where roles come from) through the
real CLI against moto and the keyring: broken profiles stay
local, MFA on two hops, AWS_PROFILE never leaks, no ambient fallback, and the region
env/exec export."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import pytest

from profiles.config import inventory
from profiles.errors import UsageError
from profiles.model import Credentials
from profiles.sessions.cache import SessionCache
from profiles.sessions.engine import Engine
from tests.helpers import ACCOUNTS, MFA_SERIAL, assert_fails, chain_config, ok_json, run_detached

SECOND = "arn:aws:iam::111111111111:mfa/jump-device"
BROKEN = """
[profile missing]
role_arn = arn:aws:iam::111111111111:role/Missing
source_profile = nowhere
[profile malformed]
role_arn = arn:aws:iam::1111:role/Malformed
source_profile = base
[profile hours]
role_arn = arn:aws:iam::111111111111:role/Hours
source_profile = base
duration_seconds = 2h
[profile loop1]
role_arn = arn:aws:iam::111111111111:role/Loop1
source_profile = loop2
[profile loop2]
role_arn = arn:aws:iam::111111111111:role/Loop2
source_profile = loop1
[profile through]
role_arn = arn:aws:iam::111111111111:role/Through
source_profile = malformed
"""
BROKEN_NAMES = {"missing", "malformed", "hours", "loop1", "loop2", "through"}


def test_broken_profiles_are_listed_as_broken_and_fail_only_themselves(world):
    chain_config(world, BROKEN)
    world.catalog.write_text('[roles.typo]\nrole_arn = "arn:aws:iam::1:role/T"\n'
                             'source = "base"\n')
    rows = {r["name"]: r for r in ok_json(world.run("list", "--json"))}
    assert set(rows) == {"hop1", "hop2", "hop3", "typo"} | BROKEN_NAMES
    for name in BROKEN_NAMES | {"typo"}:
        assert rows[name]["state"] == "broken" and rows[name]["error"], name
    assert "'nowhere'" in rows["missing"]["error"]
    assert "cycle" in rows["loop1"]["error"] and "'malformed'" in rows["through"]["error"]
    assert "error" not in rows["hop1"] and rows["hop1"]["state"] == "none"
    text = world.run("list")
    assert text.returncode == 0 and "broken: " in text.stdout and "hop3" in text.stdout
    for argv in (["assume", "malformed"], ["env", "hours"], ["process", "loop1"],
                 ["write", "missing"], ["exec", "through", "--", "true"], ["shell", "typo"]):
        named = "[roles.typo]" if argv[1] == "typo" else f"'{argv[1]}'"
        assert_fails(world.run(*argv), 2, named)
    assert ok_json(world.run("assume", "hop3", "--json"))["assumed_role_arn"]


def test_the_fast_path_never_serves_a_role_broken_since_it_was_cached(world):
    chain_config(world)
    assert world.run("process", "hop1").returncode == 0
    # A loop made in the credentials file only (no role_arn there).
    world.write_credentials(world.credentials.read_text() + "[hop1]\nsource_profile = hop2\n"
                            "[hop2]\nsource_profile = hop1\n")
    assert_fails(world.run("process", "hop1"), 2, "cycle")


def _two_devices(world) -> None:
    jump = world.moto.create_role(ACCOUNTS[0], "Jump")
    admin = world.moto.create_role(ACCOUNTS[1], "Admin")
    chain_config(world, f"\n[profile jump]\nrole_arn = {jump}\nsource_profile = base\n"
                        f"mfa_serial = {MFA_SERIAL}\n[profile admin]\nrole_arn = {admin}\n"
                        f"source_profile = jump\nmfa_serial = {SECOND}\n")


@pytest.mark.parametrize("mode", ["session", "direct"])
def test_mfa_on_two_hops_takes_one_code_per_device(world, mode):
    _two_devices(world)
    world.catalog.write_text(f'[settings]\nmfa_mode = "{mode}"\n')
    one = run_detached(world, "assume", "admin", "--mfa-code", "123456")
    assert_fails(one, 2, SECOND, "--mfa-code")  # the second device has no code
    unknown = run_detached(world, "assume", "admin", "--mfa-code", "arn:aws:iam::1:mfa/x=1",
                           "--mfa-code", f"{SECOND}=222222")
    assert_fails(unknown, 2, "no MFA device")
    data = ok_json(run_detached(world, "assume", "admin", "--json", "--mfa-code",
                                f"{MFA_SERIAL}=111111", "--mfa-code", f"{SECOND}=222222"))
    kinds = [h["kind"] for h in data["chain"]]
    assert kinds == (["mfa", "role", "role"] if mode == "session" else ["role", "role"])
    assert data["assumed_role_arn"].split(":")[4] == ACCOUNTS[1]


def test_mfa_on_two_hops_prompts_for_each_device(world):
    _two_devices(world)
    asked = []
    eng = Engine(inventory.load(), SessionCache(memory_only=True),
                 mfa_prompt=lambda serial, role: asked.append(serial) or "123456")
    assert eng.mfa_serials("admin") == [MFA_SERIAL, SECOND]
    eng.assume("admin")
    assert asked == [MFA_SERIAL, SECOND]
    with pytest.raises(UsageError, match="6 digits"):
        eng.assume("admin", refresh=True, mfa_code={SECOND: "12"})


def test_aws_profile_never_leaks_into_resolution(world):
    key, secret = world.moto.create_user_keys(ACCOUNTS[0], "env-user")
    fromenv = world.moto.create_role(ACCOUNTS[1], "FromEnv")
    chain_config(world, f"\n[profile fromenv]\nrole_arn = {fromenv}\n"
                        "credential_source = Environment\n")
    env = {"AWS_PROFILE": "no-such-profile", "AWS_DEFAULT_PROFILE": "nor-this",
           "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    assert ok_json(world.run("assume", "hop2", "--json", env=env))["assumed_role_arn"]
    data = ok_json(world.run("assume", "fromenv", "--json", env=env))
    assert data["assumed_role_arn"].split(":")[4] == ACCOUNTS[1]
    assert world.run("list", env=env).returncode == 0


def test_a_source_without_credentials_never_falls_back_to_ambient_ones(world):
    key, secret = world.moto.create_user_keys(ACCOUNTS[0], "ambient")
    role = world.moto.create_role(ACCOUNTS[1], "R")
    world.write_config(f"[profile empty]\nregion = eu-west-1\n[profile r]\nrole_arn = {role}\n"
                       "source_profile = empty\n")
    env = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    assert_fails(world.run("assume", "r", env=env), 2, "'empty' has no credentials")


def test_env_and_exec_export_the_role_profiles_own_region(world):
    west = world.moto.create_role(ACCOUNTS[0], "West")
    chain_config(world, f"\n[profile west]\nrole_arn = {west}\nsource_profile = base\n"
                        "region = eu-west-2\n")
    env = {"AWS_DEFAULT_REGION": "ap-south-1", "AWS_REGION": "ap-south-1"}
    west = ok_json(world.run("env", "west", "--format", "json", env=env))
    assert west["AWS_REGION"] == west["AWS_DEFAULT_REGION"] == "eu-west-2"
    plain = ok_json(world.run("env", "hop1", "--format", "json", env=env))
    assert "AWS_REGION" not in plain and "AWS_DEFAULT_REGION" not in plain  # theirs stays
    out = world.run("exec", "hop1", "--", sys.executable, "-c",
                    "import os, json; print(json.dumps([os.environ.get('AWS_DEFAULT_REGION'),"
                    " os.environ.get('AWS_REGION')]))", env=env)
    assert json.loads(out.stdout) == ["ap-south-1", "ap-south-1"], out.stderr


def _offline_inventory(tmp_path, config: str, catalog: str = ""):
    (tmp_path / "config").write_text(config)
    (tmp_path / "rolecall.toml").write_text(catalog)
    return inventory.load(tmp_path / "config", tmp_path / "credentials",
                          tmp_path / "rolecall.toml")


def test_botocore_resolves_from_the_parse_rolecall_planned(tmp_path, monkeypatch):
    from profiles.sessions import sts

    for name in ("AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    inv = _offline_inventory(tmp_path, "[profile base]\naws_access_key_id = A\n"
                             "aws_secret_access_key = S\n[profile r]\nrole_arn = "
                             "arn:aws:iam::111111111111:role/R\nsource_profile = base\n"
                             "region = eu-west-3\n",
                             '[roles.c]\nrole_arn = "arn:aws:iam::111111111111:role/C"\n'
                             'source = "base"\nregion = "eu-central-1"\n')
    (tmp_path / "config").write_text("[profile r\n")  # botocore could not parse this now
    sts._local.__dict__.clear()
    try:
        creds = Credentials("ASIAX", "s", "t", datetime.now(UTC))
        assert sts.client(inv, "r", "eu-west-3", creds).meta.endpoint_url == \
            "https://sts.eu-west-3.amazonaws.com"
        # a catalog role: a profile of its own with its region, in this thread's copy only
        assert sts.client(inv, "c", "eu-central-1", creds).meta.endpoint_url == \
            "https://sts.eu-central-1.amazonaws.com"
        assert all(not name.startswith("\n") for name in inv.aws_config["profiles"])
        monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")  # botocore's precedence
        assert sts.client(inv, "c", "eu-central-1", creds).meta.region_name == "sa-east-1"
    finally:
        sts._local.__dict__.clear()
