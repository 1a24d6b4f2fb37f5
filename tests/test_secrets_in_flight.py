"""Secrets in flight: an endpoint token never outlives the port it was issued for, nor
rests on disk when there is no login runtime dir; the console's sign-in reaches the
browser with nothing in any argv that leads to it, and succeeds only when the user's own
browser got it (an attacker reads the browser's argv and races it)."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from profiles.ops import endpoint_file
from tests.fakes.drive import http
from tests.fakes.fixtures import federation_fake  # noqa: F401
from tests.helpers import environ
from tests.test_console import fed_world
from tests.test_doors_children import POISON, only


class Idle:
    """A renewer for an endpoint that answers nothing here (only its token matters)."""

    def close(self) -> None:
        pass


# -- the endpoint's token ----------------------------------------------------------------


@pytest.fixture
def runtime(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ROLECALL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ROLECALL_RUNTIME_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


def test_a_token_never_outlives_its_port(runtime):
    first = endpoint_file.open_shared(Idle())
    old_port, old_token = first.port, first.token
    endpoint_file.close_shared(first)
    assert endpoint_file.read().token == old_token  # a login runtime dir keeps it
    with socket.socket() as squatter:  # someone took the port meanwhile
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        moved = endpoint_file.open_shared(Idle())
        try:
            assert moved.port != old_port
            assert moved.token != old_token  # the squatter learns a dead token
            assert endpoint_file.read() == endpoint_file.Endpoint(moved.port, moved.token,
                                                                  os.getpid())
        finally:
            endpoint_file.close_shared(moved)
    again = endpoint_file.open_shared(Idle())  # the same port again: shells keep working
    try:
        assert (again.port, again.token) == (moved.port, moved.token)
    finally:
        endpoint_file.close_shared(again)
    with socket.socket() as probe:  # an explicit --port elsewhere: a new token too
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    elsewhere = endpoint_file.open_shared(Idle(), port)
    try:
        assert elsewhere.port == port and elsewhere.token != moved.token
    finally:
        endpoint_file.close_shared(elsewhere)


def test_without_a_runtime_dir_the_token_is_new_each_start_and_never_left_on_disk(
        tmp_path, monkeypatch):
    state = tmp_path / "state"
    monkeypatch.setenv("ROLECALL_STATE_DIR", str(state))
    monkeypatch.delenv("ROLECALL_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert endpoint_file.path() == state / "endpoint.json" and not endpoint_file.volatile()
    first = endpoint_file.open_shared(Idle())
    token = first.token
    assert json.loads(endpoint_file.path().read_text())["token"] == token  # while it runs
    endpoint_file.close_shared(first)
    assert not endpoint_file.path().exists()  # stopped: no token rests in the state dir
    second = endpoint_file.open_shared(Idle(), first.port)
    try:
        assert second.port == first.port and second.token != token
    finally:
        endpoint_file.close_shared(second)
    # a crashed endpoint's record: the next look at it deletes it
    endpoint_file.write(endpoint_file.Endpoint(first.port, token, 0))
    with pytest.raises(Exception, match="no credential endpoint is running"):
        endpoint_file.running()
    assert not endpoint_file.path().exists()


def test_only_a_private_xdg_runtime_dir_keeps_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("ROLECALL_RUNTIME_DIR", raising=False)
    run = tmp_path / "xdg"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    assert endpoint_file.volatile()
    run.chmod(0o755)  # not the login's private dir as the XDG spec has it
    assert not endpoint_file.volatile()
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/dir")
    assert not endpoint_file.volatile()


# -- the console hand-off against an attacker ---------------------------------------------

# The user's browser: it records its pid and argv and its environment, says it is ready
# (a fifo), waits for the go (another fifo) while the attacker looks, then does what a
# browser does with the page it was given.
BROWSER = """\
import json, os, re, sys, urllib.error, urllib.parse, urllib.request
from pathlib import Path
here = Path(sys.argv[0]).parent
(here / "seen.json").write_text(json.dumps({"pid": os.getpid(), "argv": sys.argv[1:],
                                            "env": dict(os.environ)}))
with open(here / "ready", "w") as ready:
    ready.write("x")
with open(here / "go") as go:
    go.read()
class Keep(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
page = Path(urllib.parse.urlsplit(sys.argv[1]).path).read_text()
address = re.search(r'content="0;url=([^"]+)"', page).group(1)
try:
    urllib.request.build_opener(Keep).open(address, timeout=30)
except urllib.error.HTTPError as first:
    (here / "landed").write_text(str(first.code) + " " + first.headers["Location"])
"""


def _urls(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\x00]+", text)


def test_an_attacker_reading_the_browsers_argv_gets_nothing(world, federation_fake,  # noqa: F811
                                                            tmp_path):
    fed_world(world, federation_fake)
    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\n{BROWSER}")
    browser.chmod(0o700)
    for fifo in ("ready", "go"):
        os.mkfifo(tmp_path / fifo)
    env = environ(world, BROWSER=str(browser), DISPLAY="", **POISON,
                  ROLECALL_SWEEP_KEEP="kept")
    console = subprocess.Popen([sys.executable, "-m", "tui", "console", "hop1"], env=env,
                               cwd=world.home, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with open(tmp_path / "ready") as ready:  # the browser runs and waits
            ready.read()
        seen = json.loads((tmp_path / "seen.json").read_text())
        # the attacker: another local user reads every argv on the machine
        cmdline = Path(f"/proc/{seen['pid']}/cmdline").read_bytes().decode()
        assert cmdline.split("\x00")[-2:-1] == seen["argv"]  # (python, script, argv)
        stolen = [http(url) for url in _urls(cmdline)]
        assert not [s for s in stolen if s[0] == 302], stolen  # nothing leads anywhere
        (argv,) = seen["argv"]
        assert argv.startswith("file:///") and "127.0.0.1" not in argv
        page = Path(urllib.parse.urlsplit(argv).path)
        # what the argv names only its owner may read: another user cannot follow it
        for path, mode in ((page.parent, 0o700), (page, 0o600)):
            info = path.stat()
            assert (stat.S_IMODE(info.st_mode), info.st_uid) == (mode, os.getuid()), path
        with open(tmp_path / "go", "w") as go:
            go.write("go")
        out, err = console.communicate(timeout=60)
    finally:
        console.kill()
        console.wait()
    assert console.returncode == 0, err
    assert "opened the AWS console for hop1" in err
    code, location = (tmp_path / "landed").read_text().split(" ", 1)
    assert code == "302" and location.startswith(federation_fake.url)  # the real browser
    assert not page.parent.exists()  # the page is gone
    only(seen["env"])  # and the browser has no AWS credentials of anyone's


def test_a_browser_that_never_asks_is_no_success(monkeypatch):
    from profiles.estate import handoff

    pages: list[str] = []

    def opener(page_url: str) -> bool:  # started, and never reads the page
        pages.append(page_url)
        return True

    assert not handoff.open_secret("https://signin.example/?SigninToken=s", opener, wait=0.05)
    (page_url,) = pages
    assert not Path(urllib.parse.urlsplit(page_url).path).parent.exists()
