"""`rolecall sso populate`: a profile per discovered role in a managed block of the AWS
config file, used by the real AWS CLI through ``credential_process``; the user's bytes,
mode and own profiles kept (a clash skipped and reported); ``--prune``, ``--dry-run``,
``--template``; hostile account names from the portal."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.config.text import UNSAFE
from tests.fakes import reserved_role_name
from tests.helpers import assert_fails, environ
from tests.sso_world import corp, identity  # noqa: F401

AWS = str(Path(sys.executable).with_name("aws"))
MINE = "# my settings\r\n[default]\r\nregion = eu-west-1\r\n\r\n"
EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))


def aws(world, *args: str) -> subprocess.CompletedProcess:
    """The AWS CLI, with rolecall on its PATH (credential_process runs `rolecall`)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run([AWS, *args], capture_output=True, text=True, cwd=world.home,
                          env=environ(world, PATH=path), timeout=120)


@pytest.fixture
def listed(corp):  # noqa: F811
    """corp logged in, its nine roles listed, and a config of the user's own around it."""
    corp.world.write_config(MINE + corp.world.config.read_bytes().decode().replace("\n", "\r\n"))
    corp.world.config.chmod(0o644)
    corp.log_in()
    corp.sync()
    return corp


def profiles(world) -> dict[str, str]:
    from botocore.configloader import build_profile_map, raw_config_parse

    found = build_profile_map(raw_config_parse(str(world.config)))["profiles"]
    return {name: values.get("credential_process", "") for name, values in found.items()}


def test_the_aws_cli_uses_every_populated_profile(listed, identity):  # noqa: F811
    world = listed.world
    before = world.config.read_bytes()
    done = world.run("sso", "populate")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"sso-session corp: 9 added, 0 updated, 0 removed, 0 unchanged " \
        f"in {world.config}\n"
    text = world.config.read_bytes()
    assert text.startswith(before) and b"\r\n# rolecall managed begin: sso-session corp\r\n" \
        in text and text.endswith(b"# rolecall managed end: sso-session corp\r\n")
    assert stat.S_IMODE(world.config.stat().st_mode) == 0o644  # the user's mode kept
    found = profiles(world)
    assert found["prod/ReadOnly"] == "rolecall process prod/ReadOnly"
    assert len([n for n, c in found.items() if c.startswith("rolecall process")]) == 9
    who = aws(world, "sts", "get-caller-identity", "--profile", "staging/Billing")
    assert who.returncode == 0, who.stderr
    role = reserved_role_name("222222222222", "Billing")
    assert json.loads(who.stdout)["Arn"] == \
        f"arn:aws:sts::222222222222:assumed-role/{role}/operator@example.com"
    listing = {r["name"] for r in json.loads(world.run("list", "--json").stdout)}
    assert "prod/ReadOnly" in listing and not any("@" in n for n in listing)
    again = world.run("sso", "populate", "corp")
    assert again.stdout.endswith("0 added, 0 updated, 0 removed, 9 unchanged in "
                                 f"{world.config}\n") and world.config.read_bytes() == text


def test_a_clash_with_the_user_s_profile_is_skipped_and_reported(listed):  # noqa: F811
    world = listed.world
    world.write_config(world.config.read_bytes().decode() + "[profile prod-ReadOnly]\r\n"
                       "region = x\r\n")
    world.write_credentials("[dev-Billing]\naws_access_key_id = AKIAEXAMPLE\n"
                            "aws_secret_access_key = secret\n")
    done = world.run("sso", "populate", "--template", "{account_alias}-{role_name}")
    assert done.returncode == 0, done.stderr
    assert "7 added" in done.stdout
    assert "rolecall: note: skipped role 'prod/ReadOnly': the name 'prod-ReadOnly' is your " \
        f"own profile in {world.config}" in done.stderr
    assert "rolecall: note: skipped role 'dev/Billing': the name 'dev-Billing' is your own " \
        f"profile [dev-Billing] in {world.credentials}" in done.stderr
    assert "--template" in done.stderr
    found = profiles(world)
    assert found["prod-ReadOnly"] == "" and found["staging-Billing"] == \
        "rolecall process staging/Billing"
    assert world.config.read_bytes().decode().count("[profile prod-ReadOnly]") == 1
    world.write_config(world.config.read_bytes().decode() + "[profile prod/Billing]\r\n")
    named = world.run("sso", "populate")  # the role itself is renamed where a profile is
    assert named.returncode == 0 and "9 added" in named.stdout, named.stderr
    assert profiles(world)["prod/Billing@111111111111"] == \
        "rolecall process prod/Billing@111111111111"
    assert "7 profiles of sso-session corp name roles no longer listed" in named.stderr


def test_prune_removes_what_discovery_no_longer_lists(listed, identity):  # noqa: F811
    world = listed.world
    assert world.run("sso", "populate").returncode == 0
    text = world.config.read_bytes().decode().replace(
        "credential_process = rolecall process dev/ReadOnly\r\n",
        "credential_process = rolecall process dev/ReadOnly\r\nregion = ap-south-1\r\n")
    world.write_config(text)
    identity.center.unassign(identity.center.user, "111111111111", "Billing")
    listed.sync()
    kept = world.run("sso", "populate")
    assert "0 removed" in kept.stdout and "prod/Billing" in profiles(world)
    assert "1 profiles of sso-session corp name roles no longer listed (prod/Billing)" in \
        kept.stderr and "--prune removes them" in kept.stderr
    pruned = world.run("sso", "populate", "--prune")
    assert "1 removed, 8 unchanged" in pruned.stdout, pruned.stderr
    assert "prod/Billing" not in profiles(world)
    assert "region = ap-south-1\r\n" in world.config.read_bytes().decode()  # the user's key, kept


def test_dry_run_shows_the_diff_with_secrets_masked_and_writes_nothing(listed):  # noqa: F811
    world = listed.world
    world.write_config(world.config.read_bytes().decode() + "[profile keys]\r\n"
                       "aws_access_key_id = AKIA\r\n"
                       "aws_secret_access_key = s3cr3t-value")  # no newline at the end
    before = world.config.read_bytes()
    done = world.run("sso", "populate", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert world.config.read_bytes() == before
    assert "+[profile prod/ReadOnly]" in done.stdout and "s3cr3t-value" not in done.stdout
    assert "-aws_secret_access_key = ****" in done.stdout
    assert "dry run: sso-session corp: 9 added" in done.stderr


def test_bad_input_is_one_clear_line(corp):  # noqa: F811
    world = corp.world
    assert_fails(world.run("sso", "populate", "--template", "{nope}"), 2, "unknown field")
    assert_fails(world.run("sso", "populate", "corp"), 1, "'corp' is not logged in")
    world.write_config("[profile base]\nregion = us-east-1\n")
    assert_fails(world.run("sso", "populate"), 2, "no IAM Identity Center session in")


def test_a_hostile_account_name_is_one_profile_the_aws_cli_can_use(corp, identity):  # noqa: F811
    identity.center.add_account("444444444444", "a b;$(touch pwned)]\n[x", roles=("Dev",))
    corp.log_in()
    corp.sync()
    world = corp.world
    done = world.run("sso", "populate")
    assert done.returncode == 0, done.stderr
    name = next(n for n in profiles(world) if n.endswith("/Dev"))
    assert name == "a-b-touch-pwned-x/Dev"
    assert profiles(world)[name] == "rolecall process 'a b;$(touch pwned)] [x/Dev'"
    who = aws(world, "sts", "get-caller-identity", "--profile", name)
    assert who.returncode == 0, who.stderr
    assert not (world.home / "pwned").exists()


@settings(max_examples=min(EXAMPLES, 40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4),
       user=st.sampled_from(["", "[profile x/R]\nregion = a\n", "[default]\n\tk = v\n"]))
def test_any_role_names_make_profiles_botocore_reads_back(tmp_path_factory, names, user):
    """Whatever the roles are named, the block holds one profile per name kept, each
    ``credential_process`` splitting back to exactly ``rolecall process ROLE``, and the
    user's sections as they were."""
    from botocore.configloader import build_profile_map, raw_config_parse

    from profiles.estate import populate
    from profiles.output import awsconfig

    path = tmp_path_factory.mktemp("cfg") / "config"
    path.write_text(user)
    wanted = {}
    for role in (f"{n}/R" for n in names):
        if UNSAFE.search(role) or populate.profile_name(role) in ("", "x/R", "default"):
            continue  # a name with a control character is refused when the config loads
        wanted.setdefault(populate.profile_name(role), (role, populate.command(role)))
    awsconfig.populate(path, "s", {k: v[1] for k, v in wanted.items()})
    found = build_profile_map(raw_config_parse(str(path)))["profiles"]
    for name, (role, _) in wanted.items():
        assert shlex.split(found[name]["credential_process"]) == ["rolecall", "process", role]
    if "x/R" in user:
        assert found["x/R"] == {"region": "a"}
    assert path.read_text().startswith(user)
