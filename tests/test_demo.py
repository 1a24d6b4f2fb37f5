"""`rolecall demo`: the seeded sandbox works through the real CLI, and leaves nothing behind.

The real CLI runs in a subprocess against the demo's moto server and a real Secret
Service; the only stand-in is ``tui.board.app`` in the run_demo tests (another part's job).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.config
import pytest
from botocore.parsers import ResponseParserError

from tests.conftest import ISOLATED
from tests.tui_world import Tmux
from tui.demo import world as demo
from tui.demo.world import EXTERNAL_ID, VENDOR, DemoWorld, demo_world

ROLES = {  # role -> (account alias, IAM role name, chain by source)
    "ci": ("tools", "CIPipelineRole", ["operator", "ci"]),
    "dev-deploy": ("dev", "DeployRole", ["operator", "ci", "dev-deploy"]),
    "staging-deploy": ("staging", "DeployRole", ["operator", "ci", "staging-deploy"]),
    "prod-deploy": ("prod", "DeployRole", ["operator", "ci", "prod-deploy"]),
    "dev-admin": ("dev", "AdminRole", ["operator", "mfa:{mfa}", "dev-admin"]),
    "staging-admin": ("staging", "AdminRole", ["operator", "mfa:{mfa}", "staging-admin"]),
    "prod-admin": ("prod", "AdminRole", ["operator", "mfa:{mfa}", "prod-admin"]),
    "audit": ("audit", "SecurityAuditRole", ["analyst", "audit"]),
    "vendor-audit": ("vendor", "VendorAuditRole", ["analyst", "vendor-audit"]),
    **{f"{env}-readonly": (env, "ReadOnlyRole", ["analyst", "audit", f"{env}-readonly"])
       for env in ("dev", "staging", "prod", "tools")},
}
TAGS = {"prod": ["prod"], "vendor": ["third-party"], "audit": ["security"]}


def rolecall(*args: str) -> subprocess.CompletedProcess:
    """The real CLI with this process's (demo) environment and no controlling terminal."""
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True,
                          env=dict(os.environ), stdin=subprocess.DEVNULL, timeout=60,
                          start_new_session=True)


def assume(*args: str) -> dict:
    result = rolecall("assume", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def account_of(arn: str) -> str:
    return arn.split(":")[4]


def tree_digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def keyring_items(service: str) -> list[str]:
    """Every secret stored under ``service`` in the Secret Service (indexed or not)."""
    from contextlib import closing

    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return [item.get_attributes().get("username", "")
                for item in collection.search_items({"service": service})]


@pytest.fixture
def operator_home(tmp_path, secret_service, monkeypatch) -> Path:
    """A HOME with the operator's own ~/.aws and a shell environment the demo must mask."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[default]\nregion = ap-south-1\n")
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAREALKEY\naws_secret_access_key = real\n")
    for key in ISOLATED:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_PROFILE", "default")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")  # would bypass the sandbox
    return home


@pytest.fixture(scope="module")
def seeded(secret_service, tmp_path_factory):
    """One demo world shared by the CLI tests of this module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        for key in ISOLATED:
            mp.delenv(key, raising=False)
        with demo_world() as w:
            yield w


def test_list_shows_every_demo_role_with_account_alias_and_tags(seeded: DemoWorld):
    result = rolecall("list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(ROLES) == set(seeded.roles)
    for name, (alias, role_name, chain) in ROLES.items():
        row = rows[name]
        assert row["account_alias"] == alias
        assert row["account_id"] == seeded.accounts[alias] == account_of(seeded.roles[name])
        assert row["role_name"] == role_name
        assert row["chain"] == [c.format(mfa=seeded.mfa_serial) for c in chain]
        assert row["tags"] == TAGS.get(alias, row["tags"])
        assert row["state"] == "none"
    assert rows["prod-deploy"]["region"] == "eu-west-1"
    assert len(set(seeded.accounts.values())) == len(seeded.accounts)  # distinct accounts


def test_prod_deploy_chain_crosses_identity_tools_and_prod(seeded: DemoWorld):
    operator = boto3.Session(profile_name="operator").client("sts").get_caller_identity()
    assert operator["Arn"] == f"arn:aws:iam::{seeded.accounts['identity']}:user/alice"

    data = assume("prod-deploy")
    assert [h["role"] for h in data["chain"]] == ["ci", "prod-deploy"]
    assert [account_of(h["arn"]) for h in data["chain"]] == [seeded.accounts["tools"],
                                                            seeded.accounts["prod"]]
    assert ":assumed-role/CIPipelineRole/" in data["chain"][0]["arn"]
    assert ":assumed-role/DeployRole/" in data["assumed_role_arn"]

    creds = json.loads(rolecall("process", "prod-deploy").stdout)  # a cache hit
    sts = boto3.client("sts", aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
    assert sts.get_caller_identity()["Account"] == seeded.accounts["prod"]


def test_mfa_admin_roles_share_one_mfa_session(seeded: DemoWorld):
    result = rolecall("assume", "prod-admin")
    assert result.returncode == 2 and "pass --mfa-code" in result.stderr  # no terminal

    data = assume("prod-admin", "--mfa-code", "123456")
    assert [h["kind"] for h in data["chain"]] == ["mfa", "role"]
    assert data["chain"][0]["arn"] == seeded.mfa_serial
    assert account_of(data["assumed_role_arn"]) == seeded.accounts["prod"]
    assert ":assumed-role/AdminRole/" in data["assumed_role_arn"]

    dev = assume("dev-admin")  # no code: the MFA session is reused
    assert dev["chain"][0]["cached"] is True and dev["cached"] is False
    assert account_of(dev["assumed_role_arn"]) == seeded.accounts["dev"]


def test_vendor_role_is_assumed_with_its_external_id(seeded: DemoWorld):
    from moto.sts.models import sts_backends

    data = assume("vendor-audit")
    assert account_of(data["assumed_role_arn"]) == VENDOR
    creds = json.loads(rolecall("process", "vendor-audit").stdout)
    sent = [r.external_id for r in sts_backends[VENDOR]["aws"].assumed_roles
            if r.access_key_id == creds["AccessKeyId"]]
    assert sent == [EXTERNAL_ID]  # what STS received, read from the server's own state


def test_member_read_only_role_through_the_audit_chain(seeded: DemoWorld):
    data = assume("prod-readonly")
    assert [h["role"] for h in data["chain"]] == ["audit", "prod-readonly"]
    assert [account_of(h["arn"]) for h in data["chain"]] == [seeded.accounts["audit"],
                                                            seeded.accounts["prod"]]
    staging = assume("staging-readonly")
    assert staging["chain"][0]["cached"] is True  # the audit session is shared


def test_the_sandbox_signs_in_to_the_console_once(seeded: DemoWorld):
    result = rolecall("console", "staging-deploy", "--print", "--service", "s3")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    url = result.stdout.strip()
    assert url.startswith(f"{seeded.url}/federation?Action=login&")
    with urllib.request.urlopen(url, timeout=10) as page:  # what a browser would open
        text = page.read().decode()
    assert "https://console.aws.amazon.com/s3/home" in text
    assert ":assumed-role/DeployRole/" in text
    with pytest.raises(urllib.error.HTTPError) as again:  # a sign-in token works once
        urllib.request.urlopen(url, timeout=10)
    assert again.value.code == 400
    refused = rolecall("console", "staging-deploy", "--print", "--duration", "2h")
    assert refused.returncode == 2 and "1 hour" in refused.stderr  # a chained session


def test_the_sandbox_cloudtrail_holds_what_its_sts_did(seeded: DemoWorld):
    assume("staging-readonly")
    result = rolecall("audit", "--cloudtrail", "--json")
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)["events"]
    readonly = [e for e in events if e["role_arn"] == seeded.roles["staging-readonly"]]
    assert readonly and all(e["known"] for e in readonly)  # this machine's own calls
    assert {e["caller_arn"] for e in readonly} == {
        e["caller_arn"] for e in readonly if ":assumed-role/SecurityAuditRole/" in e["caller_arn"]}
    strangers = {e["session_name"]: e for e in events if not e["known"]}
    assert set(strangers) == {"build-4471", "mallory"}
    assert strangers["mallory"]["error_code"] == "AccessDenied"
    assert strangers["mallory"]["account_id"] == seeded.accounts["prod"]
    accounts = {seeded.accounts[a] for a in ("dev", "staging", "prod", "tools")}
    assert {e["account_id"] for e in events} <= accounts  # every audit_role account read
    assert "Traceback" not in result.stderr


async def test_the_boards_audit_page_reads_the_sandboxs_cloudtrail(seeded: DemoWorld):
    """``a`` then ``t`` on the demo's board: CloudTrail answers (read through the account's
    audit_role), the stranger is there and not known, and no failure is shown."""
    from tests.tui_world import notes, until
    from tui.board.app import RolecallApp
    from tui.screens.audit import AuditPage

    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.board_screen.loaded()
        assert app.board_screen.board.select("dev-deploy")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AuditPage))
        page = app.screen
        await until(pilot, lambda: page.entries is not None)
        await pilot.press("t")
        await until(pilot, lambda: page.trail is not None, timeout=60)
        assert page.trail.failures == []
        assert ("build-4471", False) in [(e.session_name, e.known) for e in page.trail.events]
        assert not [n for n in notes(app) if "rolecall" in str(n) and "fail" in str(n)]


def test_the_sandbox_logs_to_its_file_never_the_terminal(seeded: DemoWorld, capfd):
    """A request moto fails on (its traceback is the server's log) reaches the log file
    in the demo's directory; the terminal the board and its subshell share sees nothing."""
    sts = boto3.client("sts", endpoint_url=seeded.url, region_name="us-east-1",
                       aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x",
                       config=botocore.config.Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ResponseParserError, match="500 Internal Server Error"):
        sts.decode_authorization_message(EncodedMessage="x")  # moto lacks it: a 500 page
    log = seeded.root / "sandbox.log"  # the server logs once it has answered
    wait_for(lambda: log.exists() and "decode_authorization_message" in log.read_text(),
             lambda: "no traceback in the log")
    assert capfd.readouterr() == ("", "")
    assert seeded.root.stat().st_mode & 0o077 == 0  # the demo's directory is private


def test_exit_forgets_sessions_restores_environ_and_leaves_home_alone(operator_home):
    from keyring.backends.SecretService import Keyring

    before_env = dict(os.environ)
    before_home = tree_digest(operator_home)
    with demo_world() as world:
        for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL_STS"):
            assert name not in os.environ
        assert os.environ["AWS_CONFIG_FILE"] == str(world.config)
        assert os.environ["ROLECALL_KEYRING_SERVICE"].startswith("rolecall-demo-")
        assert world.credentials.stat().st_mode & 0o777 == 0o600
        assume("prod-deploy")
        assume("prod-admin", "--mfa-code", "654321")
        assert rolecall("write", "prod-deploy").returncode == 0
        keys = list(json.loads((world.state / "sessions.json").read_text())["sessions"])
        assert len(keys) == 4  # ci, prod-deploy, the MFA session, prod-admin
        assert all(Keyring().get_password(world.service, k) for k in keys)
        assert sorted(keyring_items(world.service)) == sorted(keys)
        root = world.root
    assert all(Keyring().get_password(world.service, k) is None for k in keys)
    assert keyring_items(world.service) == []
    assert not root.exists()
    assert dict(os.environ) == before_env
    assert tree_digest(operator_home) == before_home
    assert sorted(p.name for p in (operator_home / ".aws").iterdir()) == ["config",
                                                                          "credentials"]


def test_worlds_are_reproducible_for_screenshots(operator_home):
    with demo_world() as first:
        accounts, roles, service = first.accounts, dict(first.roles), first.service
        config = first.config.read_text()
        assert first.seed_seconds < 10  # measured and reported, not a timing test
    with demo_world() as second:  # moto's state is reset: re-seeding does not collide
        assert (second.accounts, second.roles) == (accounts, roles)
        assert second.config.read_text() == config
        assert second.service != service  # a fresh keyring namespace every run
        org = boto3.session.Session().client("organizations", aws_access_key_id="admin",
                                             aws_secret_access_key="admin")
        org.meta.events.register("before-sign.*.*", lambda request, **_: request.headers
                                 .__setitem__("x-moto-account-id", demo.MANAGEMENT))
        listed = {a["Name"]: a["Id"] for a in org.list_accounts()["Accounts"]}
    assert {k: v for k, v in accounts.items() if k != "vendor"} == {
        ("management" if v == demo.MANAGEMENT else k): v for k, v in listed.items()}


def test_run_demo_opens_the_app_inside_the_world(operator_home, monkeypatch):
    """The board opens inside the world with the demo's hints; ``rolecall`` on the PATH
    (what the board's subshell runs) is this checkout, whatever PATH held before."""
    seen: dict[str, str] = {}
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no venv on it, as with .venv/bin/rolecall

    def run_app(hints=None, cleanups=()) -> int:
        seen.update(os.environ)
        assert rolecall("list").returncode == 0
        shim = shutil.which("rolecall")
        assert shim is not None and shim.startswith(os.environ["ROLECALL_STATE_DIR"][:-5])
        listed = subprocess.run(["rolecall", "list", "--json"], capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=60)
        assert listed.returncode == 0 and len(json.loads(listed.stdout)) == len(ROLES)
        assert "any 6 digits" in hints.mfa and "any 6 digits" in hints.welcome
        assert "every rolecall command works" in hints.shell
        return 7

    monkeypatch.setitem(sys.modules, "tui.board.app", types.SimpleNamespace(run_app=run_app))
    before = dict(os.environ)
    assert demo.run_demo() == 7
    assert seen["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert not Path(seen["ROLECALL_CONFIG"]).exists()
    assert dict(os.environ) == before


def test_sigterm_during_the_demo_still_cleans_up(operator_home):
    script = textwrap.dedent("""
        import os, sys, time, types
        def run_app(hints=None, cleanups=()):
            print(os.environ["ROLECALL_CONFIG"], flush=True)
            time.sleep(60)
            return 0
        sys.modules["tui.board.app"] = types.SimpleNamespace(run_app=run_app)
        from tui.cli import main
        sys.exit(main(["demo"]))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    catalog = Path(proc.stdout.readline().strip())  # type: ignore[union-attr]
    assert catalog.exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert "demo sandbox at http://127.0.0.1:" in proc.stderr.read()  # type: ignore[union-attr]
    assert not catalog.parent.exists()


def test_without_moto_the_cli_says_how_to_install_it(operator_home):
    script = "import sys; sys.modules['moto'] = None; from tui.cli import main; " \
             "sys.exit(main(['demo']))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["rolecall: the demo needs moto",
                                          "  fix: pip install 'rolecall[demo]'"]


def demo_keyring_items(other_than: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Every secret under a ``rolecall-demo-*`` service (except ``other_than``)."""
    from contextlib import closing

    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        items = secretstorage.get_default_collection(connection).get_all_items()
        return [s for item in items
                if (s := item.get_attributes().get("service", "")).startswith("rolecall-demo-")
                and s not in other_than]


@pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")
def test_the_readme_tour_at_80x24_then_quit_leaves_nothing(operator_home, tmp_path):
    """The README's demo tour, key for key, in a real 80x24 terminal: the hints are on
    the board, every CLI command works in the `s` subshell, and after `q` nothing of the
    sandbox remains (files, keyring items, including those the subshell made)."""
    others = set(demo_keyring_items())  # e.g. a module-scoped world still open
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    status = tmp_path / "status"
    env = {**os.environ, "TMPDIR": str(tmpdir), "SHELL": "/bin/sh",
           "PATH": "/usr/bin:/bin"}  # no venv on the PATH: the demo puts rolecall there
    term = Tmux("demo", f"{sys.executable} -m tui demo; echo $? > {status}; sleep 30",
                (80, 24), env, operator_home)
    pane = tmp_path / "pane.log"  # every byte the terminal is sent, the board's and the server's
    subprocess.run([*term.tmux, "pipe-pane", "-t", term.name, f"cat >> {pane}"], check=True)
    try:
        term.wait("rolecall demo · 13 roles in 6 accounts")
        assert "sandbox AWS" in term.screen()  # the welcome notice, inside the board
        assert [p.name[:14] for p in tmpdir.iterdir()] == ["rolecall-demo-"]
        term.keys("/")
        term.wait("filter: name")
        assert "⏎ Assume first match" in term.screen()  # the bar says what keys do here
        term.keys("-l", "prod-admin")
        term.wait("1 shown")
        term.keys("Enter")  # assumes the match: the dialog asks for the MFA code
        term.wait("Assume prod-admin")
        assert "demo: any 6 digits work" in term.screen()
        term.keys("-l", "123456")
        term.keys("Enter")
        term.wait("1 live")
        assert len(demo_keyring_items(others)) == 2  # the MFA session and prod-admin
        term.keys("w")
        term.wait("Write prod-admin to the credentials file")
        term.keys("Enter")
        term.wait("wrote [prod-admin]")
        term.keys("s")
        term.wait("every rolecall command works here")
        commands = ("rolecall list --json", "rolecall assume audit", "rolecall env dev-admin",
                    "rolecall sessions --json", "rolecall shell audit",
                    "rolecall console dev-deploy --print", "rolecall audit --cloudtrail")
        for index, command in enumerate(commands):
            term.keys("-l", f"{command} > {out}/{index}.out 2>&1; echo $? > {out}/{index}.rc")
            term.keys("Enter")
            wait_for(lambda i=index: (out / f"{i}.rc").exists(), term.screen, timeout=60)
        outputs = [(out / f"{i}.out").read_text() for i in range(len(commands))]
        codes = [int((out / f"{i}.rc").read_text()) for i in range(len(commands))]
        assert codes == [0, 0, 0, 0, 2, 0, 0], outputs
        assert len(json.loads(outputs[0])) == len(ROLES)
        assert "AWS_SESSION_TOKEN" in outputs[2]
        roles = {s["role"] for s in json.loads(outputs[3])}
        assert {"prod-admin", "audit", "dev-admin"} <= roles
        assert "already inside a rolecall shell" in outputs[4]
        assert "/federation?Action=login&" in outputs[5].splitlines()[0]  # the sign-in URL
        assert "mallory" in outputs[6] and "not in this machine's journal" in outputs[6]
        assert not any("Traceback" in o or "<html" in o.lower() for o in outputs), outputs
        term.keys("-l", "exit")
        term.keys("Enter")
        term.wait("exited with")  # the notice wraps at 80 columns: "... status 0"
        assert "status 0" in term.screen()
        # audit, dev-admin; ci and dev-deploy (console); the four audit_role sessions
        assert len(demo_keyring_items(others)) == 10
        term.keys("q")
        wait_for(status.exists, term.screen)
    finally:
        term.close()
    shown = pane.read_text(errors="replace")
    assert "Traceback" not in shown and "Error on request" not in shown
    assert status.read_text().strip() == "0"
    assert list(tmpdir.iterdir()) == []
    assert demo_keyring_items(others) == []


def wait_for(condition, show, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; screen:\n{show()}")
        time.sleep(0.1)
