"""``rolecall console``: a sign-in URL from the local federation fake
(``ROLECALL_FEDERATION_URL``) for a role's moto session, printed or handed to a real
browser process (``$BROWSER``) through a private page and a one-time loopback redirect,
so neither the secret URL nor the way to it is in any process's argv; the 1-hour console
cap of role-chained sessions; the board's ``b`` key."""

from __future__ import annotations

import stat
import sys
import urllib.parse
from pathlib import Path

import pytest

from profiles.errors import UsageError
from profiles.estate import console, handoff
from tests.fakes.drive import http
from tests.fakes.fixtures import federation_fake  # noqa: F401
from tests.helpers import assert_fails, chain_config, process_creds

# A browser: it records its argv, reads the page it was given (file://), then follows
# the page's refresh (the loopback hand-off) and opens the sign-in URL at the federation
# endpoint without following that one.
BROWSER = """\
import re, sys, urllib.parse, urllib.request
from pathlib import Path
class Keep(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
here = Path(sys.argv[0])
here.with_name("argv").write_text(repr(sys.argv[1:]))
page = Path(urllib.parse.urlsplit(sys.argv[1]).path).read_text()
address = re.search(r'content="0;url=([^"]+)"', page).group(1)
opener = urllib.request.build_opener(Keep)
try:
    opener.open(address, timeout=30)
except urllib.error.HTTPError as first:
    try:
        opener.open(first.headers["Location"], timeout=30)
    except urllib.error.HTTPError as second:
        here.with_name("landed").write_text(str(second.code))
"""


def followed(page_url: str) -> str:
    """The loopback address a hand-off page sends the browser to (as a browser reads it)."""
    import html
    import re

    text = Path(urllib.parse.urlsplit(page_url).path).read_text()
    return html.unescape(re.search(r'content="0;url=([^"]+)"', text).group(1))


def fed_world(world, fed) -> None:
    chain_config(world, "\n[profile eu]\nrole_arn = arn:aws:iam::111111111111:role/Hop1\n"
                        "source_profile = base\nregion = eu-west-1\n")
    world.env.update(fed.env)


def login_query(url: str, fed) -> dict[str, str]:
    base, _, query = url.partition("?")
    assert base == fed.url
    return dict(urllib.parse.parse_qsl(query, strict_parsing=True))


def test_print_gives_a_sign_in_url_that_logs_in_once(world, federation_fake):  # noqa: F811
    fed = federation_fake
    fed_world(world, fed)
    done = world.run("console", "hop1", "--print")
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    query = login_query(url, fed)
    assert (query["Action"], query["Issuer"]) == ("login", "rolecall")
    assert query["Destination"] == "https://console.aws.amazon.com/console/home"
    assert query["SigninToken"] not in done.stderr and "15 minutes" in done.stderr
    creds = process_creds(world, "hop1")  # the cached session the console used
    assert creds["SecretAccessKey"] not in url and creds["SessionToken"] not in url
    (call,) = [c for c in fed.calls if c.operation == "getSigninToken"]
    assert "SessionDuration" not in call.params  # the console lasts as long as the session
    status, headers, _ = http(url)
    assert status == 302 and headers["Location"] == query["Destination"]
    (login,) = fed.logins
    assert login.grant.access_key_id == creds["AccessKeyId"] and not login.grant.chained
    assert http(url)[0] == 302  # (the fake lets a token be reused within 15 minutes)


@pytest.mark.parametrize(("args", "page"), [
    (("--service", "s3", "--region", "eu-west-1"),
     "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1"),
    (("--service", "iam"), "https://eu-west-1.console.aws.amazon.com/iamv2/home"),
    (("--service", "ec2"), "https://eu-west-1.console.aws.amazon.com/ec2/v2/home?region=eu-west-1"),
    ((), "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"),
])
def test_service_and_region_shape_the_destination(world, federation_fake, args, page):  # noqa: F811
    fed_world(world, federation_fake)
    done = world.run("console", "eu", "--print", *args)
    assert done.returncode == 0, done.stderr
    assert login_query(done.stdout.strip(), federation_fake)["Destination"] == page


def test_a_chained_session_is_capped_at_one_hour(world, federation_fake):  # noqa: F811
    fed = federation_fake
    fed_world(world, fed)
    assert_fails(world.run("console", "hop2", "--print", "--duration", "2h"), 2,
                 "AWS caps its console session at 1 hour")
    assert not fed.calls  # refused before anything was asked
    fed.mark_chained(process_creds(world, "hop2")["AccessKeyId"])
    done = world.run("console", "hop2", "--print", "--duration", "1h")
    assert done.returncode == 0, done.stderr
    assert "caps a role-chained session's console at 1 hour" in done.stderr
    (call,) = [c for c in fed.calls if c.operation == "getSigninToken"]
    assert call.params["SessionDuration"] == "3600"


def test_a_refusal_or_no_endpoint_is_one_line(world, federation_fake):  # noqa: F811
    fed_world(world, federation_fake)
    federation_fake.reject(process_creds(world, "hop1")["AccessKeyId"])
    err = assert_fails(world.run("console", "hop1", "--print"), 1,
                       "refused the session (HTTP 400)", "--refresh")
    assert "<html" not in err
    assert_fails(world.run("console", "hop1", "--print", env={
        console.ENV: "http://127.0.0.1:9/federation"}), 1, "unreachable")
    assert_fails(world.run("console", "hop1", "--print", env={console.ENV: "ftp://x/?a=b"}),
                 2, "not an http(s) URL")


@pytest.mark.parametrize("args", [("--service", "s3?x=1"), ("--service", "a b"),
                                  ("--region", "eu west"), ("--duration", "10m")])
def test_bad_options_are_refused_before_anything_is_asked(world, federation_fake, args):  # noqa: F811
    fed_world(world, federation_fake)
    assert_fails(world.run("console", "hop1", "--print", *args), 2)
    assert not federation_fake.calls


def test_the_browser_gets_a_one_time_loopback_address_not_the_secret(world, federation_fake,  # noqa: F811
                                                                      tmp_path):
    fed = federation_fake
    fed_world(world, fed)
    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\n{BROWSER}")
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    done = world.run("console", "hop1", "--service", "s3", env={
        "BROWSER": str(browser), "DISPLAY": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "opened the AWS console for hop1" in done.stderr
    (argv,) = eval((tmp_path / "argv").read_text())  # noqa: S307 - our own repr
    assert argv.startswith("file:///") and argv.endswith("/signin.html")
    assert "Signin" not in argv and "127.0.0.1" not in argv
    assert (tmp_path / "landed").read_text() == "302"  # the fake's login redirect
    (login,) = fed.logins
    assert login.destination == "https://console.aws.amazon.com/s3/home"
    page = Path(urllib.parse.urlsplit(argv).path)
    assert not page.parent.exists()  # the page and its directory are gone


def test_no_browser_says_print(world, federation_fake):  # noqa: F811
    fed_world(world, federation_fake)
    assert_fails(world.run("console", "hop1", env={"DISPLAY": "", "WAYLAND_DISPLAY": "",
                                                   "BROWSER": ""}), 2,
                 "no graphical web browser", "--print")
    assert not federation_fake.calls
    # the command in the fix is one a shell runs as written
    world.config.write_text(world.config.read_text() + "\n[profile x$(id)]\nrole_arn = "
                            "arn:aws:iam::111111111111:role/Hop1\nsource_profile = base\n")
    fix = assert_fails(world.run("console", "x$(id)", env={"DISPLAY": "", "WAYLAND_DISPLAY": "",
                                                          "BROWSER": ""}), 2, "--print")
    assert "rolecall console 'x$(id)' --print" in fix


def test_the_hand_off_answers_once_then_never(monkeypatch):
    seen: list = []

    def browser(page_url: str) -> bool:
        address = followed(page_url)
        seen.append(http(address))  # the browser's fetch
        seen.append(http(address))  # anyone after it
        seen.append(http(address.rsplit("/", 1)[0] + "/guess"))
        return True

    assert handoff.open_secret("https://signin.example/federation?SigninToken=s", browser)
    (status, headers, _), again, guess = seen
    assert status == 302 and headers["Location"].endswith("SigninToken=s")
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert (again[0], guess[0]) == (410, 404)
    assert not handoff.open_secret("https://x/", lambda address: False)
    assert not handoff.open_secret("https://x/", lambda address: True, wait=0.05)


@pytest.mark.parametrize(("arn", "region", "service", "page", "signin"), [
    ("arn:aws-cn:iam::1:role/R", "cn-north-1", "s3",
     "https://console.amazonaws.cn/s3/home?region=cn-north-1",
     "https://signin.amazonaws.cn/federation"),
    ("arn:aws-us-gov:iam::1:role/R", "us-gov-west-1", None,
     "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
     "https://signin.amazonaws-us-gov.com/federation"),
    ("arn:aws:iam::1:role/R", None, "ddb", "https://console.aws.amazon.com/dynamodbv2/home",
     "https://signin.aws.amazon.com/federation"),
    ("arn:aws:iam::1:role/R", "ap-south-1", "route53",
     "https://ap-south-1.console.aws.amazon.com/route53/v2/home",
     "https://ap-south-1.signin.aws.amazon.com/federation"),
])
def test_partitions_regions_and_services(monkeypatch, arn, region, service, page, signin):
    monkeypatch.delenv(console.ENV, raising=False)
    part = console.partition_of(arn, region)
    assert console.destination(part, region, service) == page
    assert console.endpoint(part, region) == signin


def test_the_sign_in_is_never_in_a_repr():
    from datetime import UTC, datetime

    found = console.Signin("https://x/?SigninToken=secret", "https://c/", False,
                           datetime.now(UTC), None)
    assert "secret" not in repr(found)
    with pytest.raises(UsageError):
        console.check_service("../../evil")


# -- the board ---------------------------------------------------------------------------


async def test_the_b_key_opens_the_console_in_a_worker(world, federation_fake, monkeypatch):  # noqa: F811
    from profiles.sessions.cache import SessionCache
    from profiles.workspace import Workspace
    from tests.tui_world import Clock, notes, until
    from tui.board.app import RolecallApp

    fed_world(world, federation_fake)
    monkeypatch.setenv(console.ENV, federation_fake.url)
    monkeypatch.setenv("BROWSER", "a-browser")
    opened: list = []

    def browser(page_url: str) -> bool:  # a browser started on the page, following it
        import threading

        address = followed(page_url)
        threading.Thread(target=lambda: opened.append(http(address)), daemon=True).start()
        return True

    monkeypatch.setattr(handoff, "_default_open", browser)
    app = RolecallApp(clock=Clock(), workspace=Workspace(cache=SessionCache()),
                      auto_renew=False, ticking=False)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.board_screen
        await screen.loaded()
        screen.board.select("eu")
        await pilot.press("b")
        await until(pilot, lambda: any(n.title == "console eu opened" for n in notes(app)))
    (status, headers, _), = opened
    assert status == 302 and headers["Location"].startswith(federation_fake.url)
    message = next(n.message for n in notes(app) if n.title == "console eu opened")
    assert "eu-west-1.console.aws.amazon.com" in message and "Signin" not in message
