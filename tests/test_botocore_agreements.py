"""Where botocore (the AWS CLI's resolver) and AWS have a rule rolecall must keep too:
a profile whose ``sso_start_url`` disagrees with its ``[sso-session]``'s is refused,
naming both values; and an MFA code is used once (AWS accepts each code once), so a
device on two hops of a chain needs two codes, and a code the user gave is never
followed by a prompt or a fix that says to pass ``--mfa-code``."""

from __future__ import annotations

import stat

import botocore.session
import pytest
from botocore.exceptions import InvalidConfigError

from profiles.errors import UsageError
from profiles.sessions.cache import SessionCache
from profiles.workspace import Workspace
from tests.helpers import MFA_SERIAL, StsCalls, assert_fails, chain_config, ok_json
from tests.test_cli_tty import Terminal

SSO = """\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1

[profile admin]
sso_session = corp
sso_start_url = https://other.awsapps.com/start
sso_account_id = 111111111111
sso_role_name = Admin
"""


# -- sso_start_url against its sso-session ------------------------------------------------


def test_a_profile_that_disagrees_with_its_sso_session_is_refused(offline_world):
    world = offline_world
    world.write_config(SSO)
    oracle = botocore.session.Session(profile="admin")  # what the AWS CLI does
    with pytest.raises(InvalidConfigError, match="inconsistent"):
        oracle.get_credentials()
    err = assert_fails(world.run("assume", "admin"), 2, "profile 'admin'",
                       "'https://other.awsapps.com/start'",
                       "'https://corp.awsapps.com/start'", "[sso-session corp]")
    assert "remove sso_start_url from profile 'admin'" in err
    listed = {r["name"]: r for r in ok_json(world.run("list", "--json"))}
    assert listed["admin"]["state"] == "broken" and "disagrees" in listed["admin"]["error"]
    world.write_config(SSO.replace("sso_start_url = https://other.awsapps.com/start\n", ""))
    listed = {r["name"]: r for r in ok_json(world.run("list", "--json"))}
    assert listed["admin"]["state"] != "broken"  # the session's own URL: fine


# -- one code, one use ------------------------------------------------------------------


def two_hops(world, process: str | None = None) -> None:
    """m1 (session mode: GetSessionToken with the device), then m2 assumed from m1 with
    the same device again (a later hop: AssumeRole with SerialNumber)."""
    one = world.moto.create_role("111111111111", "Mfa")
    two = world.moto.create_role("222222222222", "Mfa2")
    line = f"mfa_process = {process}\n" if process else ""
    chain_config(world, f"\n[profile m1]\nrole_arn = {one}\nsource_profile = base\n"
                        f"mfa_serial = {MFA_SERIAL}\n{line}"
                        f"\n[profile m2]\nrole_arn = {two}\nsource_profile = m1\n"
                        f"mfa_serial = {MFA_SERIAL}\n")


@pytest.mark.parametrize("given", ["123456", f"{MFA_SERIAL}=123456"])
def test_a_given_code_goes_to_one_hop_and_the_next_code_finishes(world, given):
    two_hops(world)
    err = assert_fails(world.run("assume", "m2", "--mfa-code", given), 2,
                       f"m2 needs a second code from MFA device {MFA_SERIAL}",
                       "AWS accepts each code once", "device's next code")
    assert "pass --mfa-code" not in err
    with StsCalls().active() as calls:
        done = Workspace(cache=SessionCache()).assume("m2", mfa_code="654321")
    assert [c["TokenCode"] for c in calls if "TokenCode" in c] == ["654321"]
    assert done.cached == [True, True, False]  # the MFA session and m1 were kept


def test_a_given_code_is_never_followed_by_a_prompt(world):
    two_hops(world)
    term = Terminal(world, "assume", "m2", "--mfa-code", "123456")
    status, stdout = term.finish()
    assert status == 2 and stdout == ""
    assert b"MFA code for" not in term.screen  # not asked again
    assert b"AWS accepts each code once" in term.screen


def test_a_device_command_that_prints_the_same_code_again_is_caught(world, tmp_path):
    device = tmp_path / "device"
    device.write_text("#!/bin/sh\necho 314159\n")
    device.chmod(device.stat().st_mode | stat.S_IXUSR)
    two_hops(world, str(device))
    with StsCalls().active() as calls, pytest.raises(UsageError) as caught:
        Workspace(cache=SessionCache()).assume("m2")
    assert "got the one an earlier hop of its chain used" in str(caught.value)
    assert [c["TokenCode"] for c in calls if "TokenCode" in c] == ["314159"]  # sent once
