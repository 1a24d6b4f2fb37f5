"""MFA codes from anywhere: a profile's ``mfa_process`` and the
``ROLECALL_MFA_PROMPT`` hook, real child processes, in the engine's precedence
(explicit code > mfa_process > hook > prompt), so renewals need no terminal."""

from __future__ import annotations

import json
import os
import re
import select
import stat
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.errors import RolecallError, UsageError
from profiles.sessions import mfa
from profiles.sessions.cache import SessionCache
from profiles.workspace import Workspace
from tests.helpers import MFA_SERIAL, StsCalls, chain_config, ok_json, run_detached
from tests.test_serve import gate, started  # noqa: F401 - serve's fixtures

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))


def script(path, body: str) -> str:
    """An executable sh script (a device or a dialog that prints a code)."""
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def mfa_world(world, process: str | None = None, mode: str = "session") -> None:
    role = world.moto.create_role("111111111111", "Mfa")
    line = f"mfa_process = {process}\n" if process else ""
    chain_config(world, f"\n[profile m1]\nrole_arn = {role}\nsource_profile = base\n"
                        f"mfa_serial = {MFA_SERIAL}\nmfa_mode = {mode}\n{line}")


def token_codes(calls: StsCalls) -> list[str]:
    return [c["TokenCode"] for c in calls if "TokenCode" in c]


@pytest.mark.parametrize("mode", ["session", "direct"])
def test_mfa_process_supplies_the_code_with_serial_and_role(world, tmp_path, mode):
    seen = tmp_path / "seen"
    device = script(tmp_path / "device",
                    f'echo "$ROLECALL_MFA_SERIAL $ROLECALL_MFA_ROLE $#" > {seen}\n'
                    'echo "Touch your key" >&2\necho "AWS:alice  314159"\n')
    mfa_world(world, f"{device} --single 'my account'", mode)
    ws = Workspace(cache=SessionCache())  # no prompt at all: a background renewal
    assert ws.engine.needs_mfa("m1") is None  # so the board's dialog asks no code
    with StsCalls().active() as calls:
        ws.assume("m1")
    assert token_codes(calls) == ["314159"]
    assert seen.read_text().split() == [MFA_SERIAL, "m1", "2"]  # shlex: 2 arguments


def test_precedence_explicit_then_mfa_process_then_the_hook(world, tmp_path, monkeypatch):
    ran = tmp_path / "ran"
    hook = script(tmp_path / "hook", f"echo hook >> {ran}\necho 111111\n")
    device = script(tmp_path / "device", f"echo device >> {ran}\necho 222222\n")
    monkeypatch.setenv(mfa.HOOK, hook)
    mfa_world(world, device)
    with StsCalls().active() as calls:
        Workspace(cache=SessionCache()).assume("m1", mfa_code="333333", refresh=True)
        assert not ran.exists()  # an explicit code: neither command runs
        ws = Workspace(cache=SessionCache())
        ws.forget(None)
        ws.assume("m1")
    assert token_codes(calls) == ["333333", "222222"]
    assert ran.read_text() == "device\n"


def test_the_hook_serves_a_role_without_mfa_process(world, tmp_path, monkeypatch):
    monkeypatch.setenv(mfa.HOOK, script(tmp_path / "hook", 'echo "code: 271828"\n'))
    mfa_world(world)
    prompted = []
    ws = Workspace(cache=SessionCache(), mfa_prompt=lambda *a: prompted.append(a) or "0")
    with StsCalls().active() as calls:
        ws.assume("m1")
    assert token_codes(calls) == ["271828"] and prompted == []


def test_without_a_terminal_the_cli_takes_the_code_from_mfa_process(world, tmp_path):
    mfa_world(world, script(tmp_path / "device", "echo 161803\n"))
    data = ok_json(run_detached(world, "assume", "m1", "--json"))
    assert [hop["kind"] for hop in data["chain"]] == ["mfa", "role"]


@pytest.mark.parametrize(("body", "error", "needle"), [
    ("echo 'no device' >&2\nexit 3", RolecallError, "failed (exit 3) for"),
    ("echo 'nothing here'", RolecallError, "printed no 6-digit code"),
    ("echo 123456\necho 654321", RolecallError, "printed 2 different 6-digit codes"),
    ("echo 1234567", RolecallError, "printed no 6-digit code"),
])
def test_a_command_that_gives_no_code_is_one_clear_error(tmp_path, body, error, needle):
    command = [script(tmp_path / "device", body + "\n")]
    with pytest.raises(error, match=re.escape(needle)) as caught:
        mfa.run(command, "mfa_process of profile 'm1'", MFA_SERIAL, "m1")
    if "exit 3" in needle:
        assert caught.value.message.endswith(": no device")  # its last stderr line


def test_a_missing_command_or_bad_quoting_is_bad_input(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        mfa.run([str(tmp_path / "nope")], "ROLECALL_MFA_PROMPT", MFA_SERIAL, "m1")
    with pytest.raises(UsageError, match="balance its quotes"):
        mfa.split_command("ykman 'oath")
    with pytest.raises(UsageError, match="empty"):
        mfa.split_command("   ")


def test_a_bad_mfa_process_breaks_only_its_profile(world):
    mfa_world(world, "ykman 'oath")
    proc = world.run("list", "--json")
    rows = {r["name"]: r for r in ok_json(proc)}
    assert rows["m1"]["state"] == "broken" and "mfa_process" in rows["m1"]["error"]
    assert rows["hop1"]["state"] != "broken"


def test_a_silent_command_is_stopped_with_its_children(tmp_path):
    pids = tmp_path / "pids"
    command = [script(tmp_path / "slow", f"sleep 30 &\necho $! > {pids}\nwait\n")]
    began = time.monotonic()
    with pytest.raises(RolecallError, match="printed no MFA code .* within 0.5s"):
        mfa.run(command, "ROLECALL_MFA_PROMPT", MFA_SERIAL, "m1", timeout=0.5)
    assert time.monotonic() - began < 10  # the sleeping child held the pipe: killed too
    child = int(pids.read_text())
    if not hasattr(os, "pidfd_open"):  # a feature test: POSIX, polling kill(pid, 0)
        deadline = time.monotonic() + 10  # a bound, not a wait for timing
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(child)
        return
    try:  # a pidfd is readable once the process has ended (SIGKILL lands asynchronously)
        handle = os.pidfd_open(child)
    except ProcessLookupError:
        return  # gone, and reaped already
    try:
        ended, _, _ = select.select([handle], [], [], 10)  # a bound, not a wait for timing
        assert ended, (Path("/proc") / str(child) / "stat").read_text()
    finally:
        os.close(handle)


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (``ps``, POSIX)."""
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True,
                           text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(out=st.binary(max_size=80))
def test_any_output_gives_its_one_code_or_an_error(out):
    import re

    alone = set(re.findall(rb"(?<![0-9])[0-9]{6}(?![0-9])", out))
    try:
        code = mfa.code_in(out, "ROLECALL_MFA_PROMPT", MFA_SERIAL)
    except RolecallError as exc:
        assert len(alone) != 1 and "6-digit" in exc.message
        return
    assert alone == {code.encode()}


async def test_the_board_renews_an_mfa_role_in_the_background_with_the_hook(world, tmp_path,
                                                                           monkeypatch):
    """A renewal on the board that needs a new MFA code takes it from the hook: no
    dialog, no terminal (the board's own prompt is never called)."""
    import time as clock_time

    from tests.tui_world import MFA, Clock, organisation, settle, until
    from tui.board.app import RolecallApp
    from tui.screens.mfa import MfaModal

    seen = tmp_path / "seen"
    monkeypatch.setenv(mfa.HOOK, script(tmp_path / "hook", f'echo "$ROLECALL_MFA_ROLE" >> '
                                        f'{seen}\necho 577215\n'))
    organisation(world)
    clock = Clock(clock_time.time())
    ws = Workspace(clock=clock, cache=SessionCache())
    old = ws.assume("prod-admin", mfa_code="123456").session
    ws.forget(f"mfa:{MFA}")  # the MFA session is gone: the renewal needs a new code
    prompted: list[tuple] = []
    ws.engine.mfa_prompt = lambda *a: prompted.append(a) or "000000"
    clock.now = old.expires_at.timestamp() - 300 - 30  # just before the refresh window
    app = RolecallApp(clock=clock, workspace=ws, ticking=False)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = app.board_screen
        await screen.loaded()
        with StsCalls().active() as calls:
            assert screen.renew_due(screen.now()) == "prod-admin"
            await until(pilot, lambda: screen.board.rows["prod-admin"].session.issued_at
                        != old.issued_at)
            await settle(app, pilot)
        assert not isinstance(app.screen, MfaModal) and prompted == []
    assert token_codes(calls) == ["577215"]
    assert seen.read_text() == "prod-admin\n"


def test_serve_renews_an_mfa_role_with_mfa_process_and_asks_nobody(  # noqa: F811
        world, tmp_path, gate, started):  # noqa: F811
    """``serve``'s renewals take the code from ``mfa_process``: the first request is
    answered, and its MFA desk (a person at a terminal or the board) is never asked."""
    from tests.test_serve import Prompt, get
    from tests.test_serve import workspace as serve_workspace

    mfa_world(world, script(tmp_path / "device", "echo 141421\n"))
    prompt = Prompt()
    server = started(serve_workspace(), prompt)
    with StsCalls().active() as calls:
        status, raw, _ = get(server, "m1")
    assert status == 200, raw
    assert json.loads(raw)["AccessKeyId"].startswith("ASIA")
    assert prompt.asked.empty() and token_codes(calls) == ["141421"]
