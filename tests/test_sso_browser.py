"""`rolecall sso login` and `process` signing in in the browser, as a black box: a stand-in
browser in ``$BROWSER`` (tests/browser.py) goes from the hand-off through the fake's
``/authorize`` to rolecall's loopback callback. A tampered state and a denial end with one
line; ``--device-code`` and an SSH session use the device code; eight `process` calls
with no login open one tab and all succeed; a refused token is renewed with no tab; with
no browser `process` says how to sign in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import install, visits
from tests.helpers import assert_fails, environ
from tests.sso_world import ACCOUNTS, ROLES, corp, identity  # noqa: F401

NO_BROWSER = ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "SSH_CONNECTION", "SSH_CLIENT",
              "SSH_TTY")
PROFILES = "".join(f"[profile r{i}]\nsso_session = corp\nsso_account_id = {account}\n"
                   f"sso_role_name = {role}\n\n"
                   for i, (account, role) in enumerate(
                       (a, r) for a in ACCOUNTS for r in ROLES) if i < 8)


@pytest.fixture
def desk(corp, tmp_path, monkeypatch):  # noqa: F811
    """A desktop whose browser is the stand-in; returns its log."""
    for name in NO_BROWSER:
        monkeypatch.delenv(name, raising=False)
    log = tmp_path / "browser.log"
    corp.world.env.update(BROWSER=install(tmp_path / "stand-in"), STAND_IN_LOG=str(log))
    corp.configure(PROFILES)
    return log


def secrets_of(identity) -> list[str]:  # noqa: F811
    center = identity.center
    return [*center.tokens, *center.refresh_tokens, *center.codes,
            *(c.client_secret for c in center.clients.values())]


def test_sso_login_signs_in_in_the_browser(corp, identity, desk):  # noqa: F811
    done = corp.world.run("sso", "login", "--no-sync")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("logged in to corp (until ")
    assert done.stderr == "rolecall: sign in to IAM Identity Center (corp) in the browser " \
        "(waiting up to 5 minutes)\n"
    visit, = visits(desk)
    authorize = next(url for url in visit["visited"] if "/authorize?" in url)
    assert authorize.startswith(identity.fakes.oidc.endpoint)
    assert visit["status"] == 200 and "/oauth/callback?" in visit["visited"][-1]
    assert authorize not in visit["visited"][0]  # the browser was handed no secret URL
    state = authorize.split("state=")[1].split("&")[0]
    for secret in [state, *secrets_of(identity)]:
        assert secret not in done.stdout + done.stderr
    status = json.loads(corp.world.run("sso", "status", "--json").stdout)[0]
    assert (status["logged_in"], status["login"]) == (True, "rolecall")


@pytest.mark.parametrize("end, says", [
    ("tamper", "rolecall: refused an answer from the browser that did not carry this "
               "sign-in's state"),
    ("deny", "rolecall: the sign-in was denied in the browser"),
])
def test_a_tampered_state_or_a_denial_is_one_line(corp, identity, desk, end, says):  # noqa: F811
    if end == "deny":
        identity.center.consent = "deny"
    else:
        corp.world.env["STAND_IN_MODE"] = "tamper"
    done = corp.world.run("sso", "login", "--no-sync")
    assert done.returncode == 1 and done.stdout == ""
    opening, error, fix = done.stderr.splitlines()  # what it asked, then one failure
    assert opening.startswith("rolecall: sign in to IAM Identity Center (corp) in the browser")
    assert error.startswith(says) and fix.startswith("  fix: run `rolecall sso login corp` again")
    assert identity.fakes.oidc.calls.count("CreateToken") == 0


@pytest.fixture
def approving(identity):  # noqa: F811
    """The person approves each device code as soon as it is shown."""
    center, start = identity.center, identity.center.start_device

    def start_and_approve(client, start_url):
        device = start(client, start_url)
        device.state, device.user = "approved", center.user
        return device

    center.start_device = start_and_approve
    return identity


@pytest.mark.parametrize("how", ["--device-code", "ssh"])
def test_the_device_code_when_asked_or_over_ssh(corp, approving, desk, how):  # noqa: F811
    args = ["sso", "login", "--no-sync"]
    if how == "ssh":
        corp.world.env["SSH_CONNECTION"] = "192.0.2.1 50000 192.0.2.2 22"
    else:
        args.append(how)
    done = corp.world.run(*args)
    assert done.returncode == 0, done.stderr
    assert "user_code=" in done.stderr and visits(desk) == []
    assert ("no browser can open here" in done.stderr) is (how == "ssh")
    assert approving.fakes.oidc.calls.of("CreateToken")[0].params["grantType"] == \
        "urn:ietf:params:oauth:grant-type:device_code"


def run_many(world, args_list: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Several `rolecall` commands at once, as parallel SDKs start credential_process."""
    env = environ(world)
    procs = [subprocess.Popen([sys.executable, "-m", "tui", *args], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, cwd=world.home)
             for args in args_list]
    out = []
    for proc, args in zip(procs, args_list, strict=True):
        stdout, stderr = proc.communicate(timeout=120)
        out.append(subprocess.CompletedProcess([*args], proc.returncode, stdout, stderr))
    return out


def test_eight_process_calls_with_no_login_open_one_tab(corp, identity, desk):  # noqa: F811
    done = run_many(corp.world, [["process", f"r{i}"] for i in range(8)])
    for result in done:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["Version"] == 1
    assert len(visits(desk)) == 1  # one tab
    oidc = identity.fakes.oidc
    assert oidc.calls.count("Authorize") == 1 and oidc.calls.count("RegisterClient") == 1
    assert identity.fakes.portal.calls.count("GetRoleCredentials", ok=True) == 8


def test_a_refused_token_is_renewed_without_a_browser(corp, identity, desk):  # noqa: F811
    assert corp.world.run("sso", "login", "--no-sync").returncode == 0
    identity.center.expire()  # the portal no longer takes the access token
    done = corp.world.run("process", "r0")
    assert done.returncode == 0, done.stderr
    assert len(visits(desk)) == 1  # the login's own tab, no other
    grants = [c.params["grantType"] for c in identity.fakes.oidc.calls.of("CreateToken")]
    assert grants == ["authorization_code", "refresh_token"]


def test_process_with_no_browser_says_how_to_sign_in(corp, identity, desk):  # noqa: F811
    del corp.world.env["BROWSER"]
    done = corp.world.run("process", "r0")
    assert_fails(done, 1, "IAM Identity Center session 'corp' is not logged in")
    assert "fix: run `rolecall sso login corp`" in done.stderr
    assert visits(desk) == [] and identity.fakes.oidc.calls.count("RegisterClient") == 0


def test_the_stand_in_is_a_real_executable(tmp_path):
    path = Path(install(tmp_path / "b"))
    assert path.stat().st_mode & 0o111
    assert subprocess.run([str(path), "x"], env={"STAND_IN_MODE": "close"}).returncode == 1
