"""`rolecall sso ...` as a black box (see docs/architecture.md, IAM Identity Center): login --share
and the real AWS CLI
using that login, status, logout, `list` listing stale roles again, progress on a
terminal only, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import reserved_role_name
from tests.helpers import assert_fails, environ, ok_json
from tests.sso_world import corp, identity  # noqa: F401
from tests.test_cli_tty import Terminal

AWS = str(Path(sys.executable).with_name("aws"))
PROFILES = ("[profile dev]\nsso_session = corp\nsso_account_id = 333333333333\n"
            "sso_role_name = ReadOnly\nregion = us-east-1\n\n")


@pytest.fixture(autouse=True)
def no_browser(monkeypatch):
    """No browser can open here: `sso login` signs in with a device code."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def approving(identity):  # noqa: F811
    """The person approves each code as soon as it is shown (the first poll succeeds)."""
    center = identity.center
    start = center.start_device

    def start_and_approve(client, start_url):
        device = start(client, start_url)
        device.state, device.user = "approved", center.user
        return device

    center.start_device = start_and_approve
    return identity


def aws(world, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AWS, *args], capture_output=True, text=True, env=environ(world),
                          cwd=world.home, timeout=60)


@pytest.mark.parametrize("legacy", [False, True])
def test_login_share_lets_the_aws_cli_use_the_login(corp, approving, legacy):  # noqa: F811
    center = approving.center
    if legacy:
        corp.world.write_config(
            f"[profile dev]\nsso_start_url = {center.start_url}\nsso_region = us-east-1\n"
            "sso_account_id = 333333333333\nsso_role_name = ReadOnly\nregion = us-east-1\n")
    else:
        corp.configure(PROFILES)
    world = corp.world
    assert aws(world, "sts", "get-caller-identity", "--profile", "dev").returncode != 0
    done = world.run("sso", "login", "dev", "--share", "--no-browser")
    assert done.returncode == 0, done.stderr
    assert "user_code=" in done.stderr and "logged in to" in done.stdout
    assert "shared with the AWS CLI" in done.stdout and "roles in 3 accounts" in done.stderr
    who = aws(world, "sts", "get-caller-identity", "--profile", "dev")
    assert who.returncode == 0, who.stderr
    role = reserved_role_name("333333333333", "ReadOnly")
    assert json.loads(who.stdout)["Arn"] == \
        f"arn:aws:sts::333333333333:assumed-role/{role}/operator@example.com"
    token = approving.fakes.portal.calls.of("GetRoleCredentials")[-1].credential
    assert token not in done.stdout + done.stderr
    status = ok_json(world.run("sso", "status", "--json"))[0]
    assert (status["logged_in"], status["login"], status["roles"]) == (True, "rolecall", 9)
    out = world.run("sso", "logout", "dev")
    assert out.returncode == 0 and "logged out of" in out.stdout, out.stderr
    assert aws(world, "sts", "get-caller-identity", "--profile", "dev").returncode != 0
    assert ok_json(world.run("sso", "status", "--json"))[0]["logged_in"] is False


def test_list_lists_a_stale_session_again_and_says_when_it_cannot(corp, approving):  # noqa: F811
    world = corp.world
    first = world.run("list")
    assert first.returncode == 0
    assert "note: the roles of IAM Identity Center session 'corp' are never listed" in \
        first.stderr and "rolecall sso login corp" in first.stderr
    assert world.run("sso", "login", "--no-sync", "--no-browser").returncode == 0
    assert approving.fakes.portal.calls.count("ListAccounts") == 0
    listed = world.run("list", "--json")
    assert "9 roles in 3 accounts" in listed.stderr
    names = {r["name"] for r in json.loads(listed.stdout)}
    assert {"prod/ReadOnly", "dev/Billing", "staging/AdministratorAccess"} <= names
    again = world.run("list", "--json")  # fresh now: no call at all
    assert again.stderr == "" and approving.fakes.portal.calls.count("ListAccounts") == 1


def test_sync_shows_progress_on_a_terminal_only(corp, approving):  # noqa: F811
    corp.log_in()
    quiet = corp.world.run("sso", "sync")
    assert quiet.returncode == 0 and "listing" not in quiet.stderr
    assert quiet.stderr.startswith("rolecall: corp: 9 roles in 3 accounts")
    term = Terminal(corp.world, "sso", "sync")
    term.expect(b"9 roles in 3 accounts")
    assert b"listing corp" in term.screen  # Rich's bar, drawn before it went away
    term.finish()
    assert ok_json(corp.world.run("sso", "sync", "--json"))["sessions"][0]["roles"] == 9


def test_bad_input_is_one_clear_line(corp):  # noqa: F811
    world = corp.world
    assert_fails(world.run("sso", "login", "nope"), 2, "unknown IAM Identity Center session")
    assert_fails(world.run("sso", "frobnicate"), 2, "unknown command")
    world.write_config("[profile base]\nregion = us-east-1\n")
    assert_fails(world.run("sso", "login"), 2, "no IAM Identity Center session in")
    assert world.run("sso", "status").stdout == \
        "no IAM Identity Center sessions in the AWS config\n"
    world.write_config("[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\n")
    assert_fails(world.run("sso", "login", "corp"), 2, "has no sso_region")


def test_progress_shows_a_hostile_session_name_literally(monkeypatch):
    import io

    from tui.cli.sso import _Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    with _Progress("a[/]b[bold]c") as progress:
        progress(1, 3)
        progress.bar.refresh()
    assert "listing a[/]b[bold]c" in err.getvalue()
