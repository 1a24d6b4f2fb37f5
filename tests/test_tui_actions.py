"""The TUI through Textual's pilot: every action, with an injected clock.

Real parts: moto over HTTP for STS, gnome-keyring for the cache, the real credentials
file. The subshell is tested outside the pilot (suspend needs a real terminal)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from textual.widgets import Input

from profiles.output import credfile
from tests.tui_world import (
    MFA,
    Clock,
    Tmux,
    assume_role_xml,
    organisation,
    row_text,
    settle,
    texts,
    until,
    wait_for,
    workspace,
)
from tui.board.app import RolecallApp
from tui.board.screen import BoardScreen
from tui.board.shell import nested_guard, run_shell
from tui.screens.assume import AssumeModal
from tui.screens.chain import ChainModal
from tui.screens.confirm import ConfirmModal
from tui.screens.mfa import MfaModal
from tui.screens.write import WriteModal

SIZE = (160, 40)



# -- assume ----------------------------------------------------------------------------


async def test_assume_asks_for_mfa_only_when_needed(world):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        assert app.board_screen.board.select("prod-deploy")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        modal = app.screen
        assert not modal.query("#mfa")
        assert not modal.query("#external-id")  # none configured, and STS never denied it
        labels = texts(modal)
        assert "Duration (15m to 12h; empty: 1h" in labels  # no MaxSessionDuration known
        await pilot.press("escape")
        assert app.board_screen.board.select("prod-admin")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        modal = app.screen
        assert modal.needs.mfa_serial == MFA
        assert modal.needs.max_duration == 3600 and modal.needs.chained  # MFA session mode
        assert "caps it at 1 hour" in " ".join(str(s.render()) for s in modal.query(".note"))
        await pilot.press(*"12345", "enter")
        assert "6 digits" in str(modal.query_one("#error").render())
        assert isinstance(app.screen, AssumeModal)
        await pilot.press("6", "enter")
        await until(pilot, lambda: not isinstance(app.screen, AssumeModal))
        board = app.board_screen.board
        await until(pilot, lambda: board.rows["prod-admin"].session is not None)
        await settle(app, pilot)
        row = app.board_screen.board.rows["prod-admin"]
        assert row.session.arn.startswith("arn:aws:sts::222222222222:assumed-role/Admin/")
        assert "active" in row_text(app, "prod-admin")
        # the MFA session is cached: the next assumption asks no code
        assert ws.engine.needs_mfa("prod-admin") is None
        text = app.board_screen.detail.plain
        assert "MFA session" in text


async def test_assume_duration_validated_and_failure_notified(world, monkeypatch):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        app.board_screen.board.select("dev-deploy")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        assert app.screen.needs.max_duration == 12 * 3600  # no max_duration in the config
        app.screen.query_one("#duration", Input).value = "13h"
        await pilot.press("enter")
        assert "outside 15m to 12h" in str(app.screen.query_one("#error").render())
        app.screen.query_one("#duration", Input).value = "2h"
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        await pilot.press("enter")
        await until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        await settle(app, pilot)
        note = next(n for n in app._notifications if n.severity == "error")
        assert "STS unreachable" in note.message and "fix:" in note.message
        assert app.board_screen.board.rows["dev-deploy"].session is None
        assert not app.board_screen.board.busy


async def test_slow_sts_leaves_the_board_responsive(world, monkeypatch):
    organisation(world)
    release = threading.Event()
    server = slow_sts(release)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    clock = Clock(time.time())
    ws = workspace(clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await app.board_screen.loaded()
            board = app.board_screen.board
            board.select("prod-deploy")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, AssumeModal))
            await pilot.press("enter")
            await until(pilot, lambda: "prod-deploy" in board.busy)
            await pilot.press("home")
            assert board.selected == "audit"
            await pilot.press("down", "down")
            assert board.selected == "member-ro"
            await pilot.press("slash", *"dev")
            assert board.visible_names == ["dev-deploy"]
            await pilot.press("escape")
            app.board_screen.tick()
            # every key above was handled while the STS call still hangs (no wall clock)
            assert "prod-deploy" in board.busy and not release.is_set()
            release.set()
            await until(pilot, lambda: board.rows["prod-deploy"].session is not None)
            await settle(app, pilot)
            assert not board.busy
    finally:
        release.set()
        server.shutdown()


def slow_sts(release: threading.Event) -> ThreadingHTTPServer:
    """An STS that holds every request until ``release`` is set, then answers."""
    from urllib.parse import parse_qs

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(
                int(self.headers["Content-Length"])).decode()).items()}
            release.wait(30)
            body = assume_role_xml(form, "ASIASLOW")
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# -- chain, write, refresh, forget -------------------------------------------------------


async def test_chain_to_a_typed_arn_and_to_a_catalog_role(world):
    arns = organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    ws.assume("audit")
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        app.board_screen.board.select("prod-deploy")
        await pilot.press("c")  # no session: refused
        await pilot.pause()
        assert not isinstance(app.screen, ChainModal)
        assert any("no active session" in n.message for n in app._notifications)
        app.board_screen.board.select("audit")
        await pilot.press("c")
        assert isinstance(app.screen, ChainModal)
        target = arns["member-ro"].replace("MemberReadOnly", "BreakGlass")
        app.screen.query_one("#target", Input).value = target
        await pilot.press("enter")
        await until(pilot, lambda: "audit>BreakGlass" in app.board_screen.board.rows)
        await settle(app, pilot)
        row = app.board_screen.board.rows["audit>BreakGlass"]
        assert row.session.arn.startswith("arn:aws:sts::444444444444:assumed-role/BreakGlass/")
        assert row.chain == ("base", "audit", "audit>BreakGlass")
        assert app.board_screen.board.selected == "audit>BreakGlass"
        # the 1-hour chaining cap (moto's expiry is from real time; the test clock is fixed)
        assert row.session.expires_at.timestamp() - time.time() <= 3600
        text = app.board_screen.detail.plain
        assert "audit>BreakGlass" in text and "chained, 1h cap" in text
        app.board_screen.board.select("audit")
        await pilot.pause()
        assert "Chained from this session" in app.board_screen.detail.plain
        # a catalog role whose own chain passes through audit is simply assumed
        await pilot.press("c")
        app.screen.query_one("#target", Input).value = "member"
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: app.board_screen.board.rows["member-ro"].session is not None)
        await settle(app, pilot)
        assert app.board_screen.board.selected == "member-ro"


async def test_write_profile_then_unmanaged_name_needs_confirmation(world):
    organisation(world)
    world.write_credentials(world.credentials.read_text()
                            + "\n# hand-written\n[mine]\naws_access_key_id = AKIAHAND\n")
    clock = Clock(time.time())
    ws = workspace(clock)
    ws.assume("dev-deploy")
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        app.board_screen.board.select("dev-deploy")
        await pilot.press("w")
        assert isinstance(app.screen, WriteModal)
        assert app.screen.query_one("#profile", Input).value == "dev-deploy"
        await pilot.press("enter")
        board = app.board_screen.board
        await until(pilot, lambda: board.rows["dev-deploy"].profiles == ("dev-deploy",))
        assert "dev-deploy" in row_text(app, "dev-deploy").split()[-1]
        await pilot.press("w")
        app.screen.query_one("#profile", Input).value = "bad name"
        await pilot.press("enter")
        assert "invalid profile name" in str(app.screen.query_one("#error").render())
        app.screen.query_one("#profile", Input).value = "mine"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        asked = texts(app.screen)  # the question names the profile and the file
        assert "Replace profile [mine]?" in asked
        assert f"[mine] in {world.credentials} was not written by rolecall" in asked
        await pilot.press("n")
        await settle(app, pilot)
        assert "AKIAHAND" in world.credentials.read_text()
        await pilot.press("w")
        app.screen.query_one("#profile", Input).value = "mine"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await until(pilot, lambda: "mine" in app.board_screen.board.rows["dev-deploy"].profiles)
        text = world.credentials.read_text()
        assert "AKIAHAND" not in text and "# hand-written" in text
        assert {s.name for s in credfile.managed()} == {"dev-deploy", "mine"}
        assert stat.S_IMODE(world.credentials.stat().st_mode) == 0o600
    # the written profile works with the AWS CLI against the sandbox
    env = {k: v for k, v in os.environ.items() if k != "AWS_PROFILE"}
    proc = subprocess.run([sys.executable, "-m", "awscli", "sts", "get-caller-identity",
                           "--profile", "mine", "--output", "text"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "assumed-role/DevDeploy" in proc.stdout


async def test_refresh_and_forget(world):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    first = ws.assume("prod-deploy").session
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        app.board_screen.board.select("prod-deploy")
        clock.advance(5)
        await pilot.press("r")
        await until(pilot, lambda: app.board_screen.board.rows["prod-deploy"].session.issued_at
                    != first.issued_at)
        await settle(app, pilot)
        await pilot.press("x")
        await until(pilot, lambda: app.board_screen.board.rows["prod-deploy"].session is None)
        assert any("forgot 1 session" in n.message for n in app._notifications)
        assert ws.cache.get(first.key) is None


# -- auto-renew ------------------------------------------------------------------------


async def test_auto_renew_before_the_refresh_window(world):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    old = ws.assume("prod-deploy").session
    clock.now = old.expires_at.timestamp() - 30 * 60  # far from the window: nothing
    app = RolecallApp(clock=clock, workspace=ws, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        assert app.board_screen.renew_due(app.board_screen.now()) is None
        clock.now = old.expires_at.timestamp() - 300 - 59  # a minute before the window
        app.board_screen.tick()
        await until(pilot, lambda: app.board_screen.board.rows["prod-deploy"].session.issued_at
                    != old.issued_at)
        await settle(app, pilot)
        new = app.board_screen.board.rows["prod-deploy"].session
        assert new.issued_at.timestamp() == pytest.approx(clock.now, abs=1)
        assert any("renew prod-deploy" in (n.title or "") for n in app._notifications)


async def test_auto_renew_asks_for_a_new_mfa_code_itself(world):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    old = ws.assume("prod-admin", mfa_code="123456").session
    ws.forget(f"mfa:{MFA}")  # the MFA session is gone: a renewal needs a new code
    clock.now = old.expires_at.timestamp() - 300 - 30
    app = RolecallApp(clock=clock, workspace=ws, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        app.board_screen.tick()
        await until(pilot, lambda: isinstance(app.screen, MfaModal))
        assert app.screen.serial == MFA
        await pilot.press(*"654321", "enter")
        await until(pilot, lambda: app.board_screen.board.rows["prod-admin"].session.issued_at
                    != old.issued_at)
        await settle(app, pilot)
        assert ws.engine.needs_mfa("prod-admin") is None


async def test_auto_renew_mfa_prompt_cancelled_is_not_repeated(world):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    old = ws.assume("prod-admin", mfa_code="123456").session
    ws.forget(f"mfa:{MFA}")
    clock.now = old.expires_at.timestamp() - 300 - 30
    app = RolecallApp(clock=clock, workspace=ws, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        app.board_screen.tick()
        await until(pilot, lambda: isinstance(app.screen, MfaModal))
        await pilot.press("escape")
        await settle(app, pilot)
        assert any("cancelled" in n.message for n in app._notifications)
        clock.advance(5)
        app.board_screen.tick()
        await pilot.pause()
        assert not isinstance(app.screen, MfaModal)
        now_issued = app.board_screen.board.rows["prod-admin"].session.issued_at
        assert int(now_issued.timestamp()) == int(old.issued_at.timestamp())


# -- shell -----------------------------------------------------------------------------


def test_subshell_gets_the_session_environment(world, tmp_path, monkeypatch):
    """The code path the `s` key runs (inside App.suspend), outside the pilot."""
    organisation(world)
    ws = workspace(Clock(time.time()))
    session = ws.assume("prod-deploy").session
    out = tmp_path / "env.txt"
    script = tmp_path / "fake-shell"
    script.write_text(f"#!/bin/sh\nenv > {out}\nexit 7\n")
    script.chmod(0o755)
    monkeypatch.setenv("SHELL", str(script))
    monkeypatch.setenv("AWS_PROFILE", "base")
    assert run_shell(ws.environment("prod-deploy", session)) == 7
    env = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    assert env["ROLECALL_ROLE"] == "prod-deploy"
    assert env["AWS_ACCESS_KEY_ID"] == session.credentials.access_key_id
    assert env["AWS_SESSION_TOKEN"] == session.credentials.session_token
    assert "AWS_PROFILE" not in env
    monkeypatch.setenv("ROLECALL_ROLE", "dev-deploy")
    with pytest.raises(Exception, match="already inside a rolecall shell"):
        nested_guard()


async def test_shell_key_suspends_and_refuses_when_nested(world, monkeypatch):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    ws.assume("prod-deploy")
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    opened: list[tuple[str, dict]] = []
    monkeypatch.setattr(BoardScreen, "open_shell",
                        lambda self, name, env: opened.append((name, env)))
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        app.board_screen.board.select("prod-deploy")
        await pilot.press("s")
        await until(pilot, lambda: bool(opened))
        name, env = opened[0]
        assert name == "prod-deploy" and env["ROLECALL_ROLE"] == "prod-deploy"
        monkeypatch.setenv("ROLECALL_ROLE", "prod-deploy")
        await pilot.press("s")
        await pilot.pause()
        assert len(opened) == 1
        assert any("already inside a rolecall shell" in n.message for n in app._notifications)


async def test_open_shell_without_a_terminal_is_a_notification(world):
    organisation(world)
    app = RolecallApp(clock=Clock(), workspace=workspace(Clock()), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        app.board_screen.open_shell("prod-deploy", {"ROLECALL_ROLE": "prod-deploy"})
        await pilot.pause()
        assert any("cannot suspend" in n.message for n in app._notifications)


@pytest.mark.skipif(not __import__("shutil").which("tmux"), reason="needs tmux")
def test_shell_under_tmux_returns_to_the_board(world, tmp_path):
    """The real `s` key in a real terminal: the board suspends, the shell runs with the
    session, and the board comes back when it exits."""
    organisation(world)
    workspace(Clock(time.time())).assume("prod-deploy")
    marker = tmp_path / "shell-ran"
    script = tmp_path / "fake-shell"
    script.write_text(f"#!/bin/sh\necho \"$ROLECALL_ROLE\" > {marker}\n")
    script.chmod(0o755)
    term = Tmux("board", f"SHELL={script} {sys.executable} -m tui; sleep 30", (160, 40),
                {**os.environ, "SHELL": "/bin/sh"}, world.home)
    try:
        term.wait(condition=lambda: "prod-deploy" in term.screen() and "active" in term.screen())
        term.keys("-l", "/prod-deploy")  # typed fast: no key lost to the list
        term.wait("1 shown")
        term.keys("Down", "s")  # to the list, keeping the filter; s reaches the list
        wait_for(marker.exists, show=term.screen)
        assert marker.read_text().strip() == "prod-deploy"
        term.wait("exited with status 0")
        assert "rolecall ·" in term.screen() and "1 shown" in term.screen()
        term.keys("q")
        term.wait(condition=lambda: "rolecall ·" not in term.screen())
    finally:
        term.close()




