"""Every STS call rolecall makes is journaled (see docs/architecture.md, Audit and journal), from
each path, with the
outcome and never a secret: the real CLI against moto, a denying STS, a dead one."""

from __future__ import annotations

from profiles.ops import journal
from tests.helpers import MFA_SERIAL, chain_config, ok_json, process_creds
from tests.sso_world import corp, identity  # noqa: F401
from tests.test_trust_denied import DenyingSts


def entries(world):
    return journal.entries(world.state)


def test_assume_journals_each_hop_with_its_outcome(world):
    arns = chain_config(world)
    assumed = ok_json(world.run("assume", "hop2", "--json"))
    got = entries(world)
    assert [(e.action, e.role, e.via, e.result) for e in got] == [
        ("AssumeRole", "hop1", "cli", "ok"), ("AssumeRole", "hop2", "cli", "ok")]
    hop2 = got[1]
    assert hop2.role_arn == arns["a2"] and hop2.account_id == arns["a2"].split(":")[4]
    assert hop2.session_name == assumed["session_name"]
    assert hop2.expires_at == assumed["expires_at"]
    assert 3590 <= hop2.duration <= 3600  # what was sent: capped at what hop1 had left
    assert hop2.caller_arn == assumed["chain"][0]["arn"]  # hop1's session signed it
    assert hop2.host and hop2.error_code is None
    # A cache hit calls no STS, so it journals nothing.
    assert world.run("assume", "hop2").returncode == 0
    assert len(entries(world)) == 2


def test_the_credential_process_slow_path_is_via_process(world):
    chain_config(world)
    creds = process_creds(world, "hop1")
    assert [(e.role, e.via) for e in entries(world)] == [("hop1", "process")]
    text = journal.path(world.state).read_text()
    assert creds["SecretAccessKey"] not in text and creds["SessionToken"] not in text
    assert creds["AccessKeyId"] not in text
    assert (journal.path(world.state).stat().st_mode & 0o777) == 0o600


def test_an_mfa_session_is_journaled_as_get_session_token(world):
    arn = world.moto.create_role("111111111111", "Mfa")
    chain_config(world, f"\n[profile mfa]\nrole_arn = {arn}\nsource_profile = base\n"
                 f"mfa_serial = {MFA_SERIAL}\n")
    assert world.run("assume", "mfa", "--mfa-code", "123456").returncode == 0
    got = entries(world)
    assert [(e.action, e.role) for e in got] == [
        ("GetSessionToken", f"mfa:{MFA_SERIAL}"), ("AssumeRole", "mfa")]
    assert got[0].account_id == "000000000000" and got[0].role_arn == ""
    assert "123456" not in journal.path(world.state).read_text()


def test_a_denial_and_an_unreachable_sts_are_journaled_with_their_codes(world):
    sts = DenyingSts()
    try:
        world.write_credentials("[base]\naws_access_key_id = AKIAEXAMPLE\n"
                                "aws_secret_access_key = secret\n")
        world.write_config("[profile base]\nregion = us-east-1\n\n[profile deploy]\n"
                           "role_arn = arn:aws:iam::222222222222:role/Deploy\n"
                           "source_profile = base\n")
        assert world.run("assume", "deploy", env={"AWS_ENDPOINT_URL_STS": sts.url}
                         ).returncode == 1
    finally:
        sts.stop()
    assert world.run("assume", "deploy", env={"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9"}
                     ).returncode == 1
    got = entries(world)
    assert [(e.role, e.result) for e in got] == [("deploy", "denied"), ("deploy", "error")]
    assert got[0].error_code == "AccessDenied" and got[0].expires_at is None
    assert got[1].error_code == "EndpointConnectionError"
    assert got[0].account_id == "222222222222"


def test_a_journal_that_cannot_be_written_never_fails_the_call(world):
    chain_config(world)
    world.state.mkdir(mode=0o700, exist_ok=True)
    journal.path(world.state).mkdir()  # a directory where the file would go
    assert world.run("assume", "hop1").returncode == 0


async def test_the_board_journals_via_board(world):
    """The board's own workspace (made on first use), and one handed to it."""
    import time

    from profiles.workspace import Workspace
    from tests.tui_world import settle, until
    from tui.board.app import RolecallApp
    from tui.screens.assume import AssumeModal

    chain_config(world)
    assert RolecallApp(workspace=Workspace()).ws.engine.via == "board"
    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.board_screen.loaded()
        assert app.board_screen.board.select("hop2")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        await pilot.press("enter")
        await settle(app, pilot)
    assert [(e.role, e.via, e.result) for e in entries(world)] == [
        ("hop1", "board", "ok"), ("hop2", "board", "ok")]


# The endpoint's renewals journal via serve: tests/test_serve.py::
# test_a_session_with_11_minutes_left_is_renewed.
def test_a_run_journals_via_run_and_its_shared_parent_once(world):
    """``rolecall run`` across hop2 and hop3: one engine under its worker threads, so
    hop1 (and hop2, hop3's parent) are assumed once each, all journaled as ``run``."""
    chain_config(world)
    result = world.run("run", "hop2", "hop3", "--output", "quiet", "--", "true")
    assert result.returncode == 0, result.stderr
    got = [(e.action, e.role, e.via, e.result) for e in entries(world)]
    assert sorted(got) == [("AssumeRole", role, "run", "ok") for role in ("hop1", "hop2", "hop3")]


def test_one_engine_serves_several_paths_each_call_its_own_via(world):
    """run and serve share an engine with the board: ``via=`` (or ``acting_as``) names
    each call's path, per thread, never another thread's."""
    import threading

    import pytest

    from profiles.workspace import Workspace

    chain_config(world)
    ws = Workspace(via="board")
    inside, done = threading.Event(), threading.Event()

    def serve_thread() -> None:
        with ws.engine.acting_as("serve"):
            inside.set()
            done.wait(30)
            ws.process("hop2")

    worker = threading.Thread(target=serve_thread)
    worker.start()
    assert inside.wait(30)
    ws.assume("hop1")  # while the other thread is acting as serve: still the board's
    done.set()
    worker.join(30)
    ws.assume("hop3", via="run")
    assert [(e.role, e.via) for e in entries(world)] == [
        ("hop1", "board"), ("hop2", "serve"), ("hop3", "run")]
    with pytest.raises(ValueError):
        ws.assume("hop1", via="elsewhere")


def test_an_sso_hop_is_journaled_as_the_path_acting(corp, identity, moto):  # noqa: F811
    """GetRoleCredentials too takes its path from the call, not only the engine's own."""
    corp.log_in()
    corp.sync()
    ws = corp.workspace(via="board")
    ws.assume("prod/AdministratorAccess", via="serve")
    entry = journal.entries()[-1]
    assert (entry.action, entry.role, entry.via, entry.result) == (
        "GetRoleCredentials", "prod/AdministratorAccess", "serve", "ok")
