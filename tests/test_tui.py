"""The TUI through Textual's pilot: every action, with an injected clock.

Real parts: moto over HTTP for STS, gnome-keyring for the cache, the real credentials
file. The subshell is tested outside the pilot (suspend needs a real terminal)."""

from __future__ import annotations

import contextlib
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
    T0,
    Clock,
    organisation,
    seed,
    seeded,
    settle,
    until,
    workspace,
)
from tui.board.app import RolecallApp
from tui.board.shell import nested_guard, run_shell
from tui.board.table import chain_text, haystack, matches
from tui.screens.modals import (
    AssumeModal,
    ChainModal,
    ConfirmModal,
    HelpScreen,
    MfaModal,
    WriteModal,
)

SIZE = (160, 40)


def line_texts(app: RolecallApp) -> list[str]:
    board = app.board
    assert board is not None
    return ["".join(s.text for s in board.render_line(y)) for y in range(board.size.height)]


def row_text(app: RolecallApp, name: str) -> str:
    return next(t for t in line_texts(app) if f"  {name} " in t)


def cell(app: RolecallApp, name: str, column: str):
    board = app.board
    assert board is not None
    return board._cell(board.rows[name], column)


# -- board -----------------------------------------------------------------------------


async def test_board_groups_by_account_with_countdowns(world):
    clock = Clock()
    ws = seeded(world, clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        await pilot.pause()
        lines = line_texts(app)
        assert lines[0].split()[:5] == ["ROLE", "CHAIN", "SESSION", "LEFT", "PROFILES"]
        groups = [t.strip() for t in lines if t.startswith(" ") and not t.startswith("  ")]
        assert groups[:4] == ["audit  333333333333", "dev  111111111111   dev",
                              "member  444444444444   pci", "prod  222222222222   prod"]
        assert "10:00" in row_text(app, "prod-deploy")
        assert "active" in row_text(app, "prod-deploy")
        assert "03:20" in row_text(app, "dev-deploy")
        assert "expiring" in row_text(app, "dev-deploy")
        assert "2:00:05" in row_text(app, "audit")
        assert "expired" in row_text(app, "member-ro")
        assert "base › audit › member-ro" in row_text(app, "member-ro")
        # colours: warning inside the refresh window, prod tag in the warning colour
        warning = app.board._style("board--warning")
        assert cell(app, "dev-deploy", "left").style == warning
        assert cell(app, "prod-deploy", "left").style != warning
        assert app.board._style("board--prod").color == warning.color


async def test_first_load_inline_from_a_current_snapshot_else_in_a_worker(world):
    """With no inventory snapshot the worker parses the config behind "loading roles…";
    once one is current, the rows are on the board when on_mount returns, so the first
    frame shows them."""
    from profiles.config import snapshot as config_snapshot

    organisation(world)
    past = time.time() - 60  # settled files, so the worker writes the snapshot
    for path in (world.config, world.credentials, world.catalog):
        os.utime(path, (past, past))
    inline: list[tuple[bool, int]] = []  # on_mount's load: done?, rows on the board

    class Probe(RolecallApp):
        def _load_now(self) -> bool:
            done = super()._load_now()
            assert self.board is not None
            inline.append((done, len(self.board.rows)))
            return done

    for expected in ((False, 0), (True, 5)):
        app = Probe(clock=Clock(), auto_renew=False, ticking=False)
        async with app.run_test(size=SIZE) as pilot:
            await app.loaded()
            await pilot.pause()
            assert app.board is not None and len(app.board.rows) == 5
            assert "member-ro" in row_text(app, "member-ro")
        assert inline == [expected]
        inline.clear()
        assert config_snapshot.read() is not None


async def test_tick_updates_only_countdown_cells(world):
    clock = Clock()
    ws = seeded(world, clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        await pilot.pause()
        board = app.board
        assert board is not None
        lines_before = board._lines
        before = board.updates
        clock.advance(1)
        changed = board.tick(app.now())
        await pilot.pause()
        assert changed == 3  # three live countdowns; the expired one stays "expired"
        assert board.updates - before == 3
        assert board._lines is lines_before  # not rebuilt
        assert "09:59" in row_text(app, "prod-deploy")
        assert "03:19" in row_text(app, "dev-deploy")
        clock.advance(400)  # prod-deploy enters the window, dev-deploy expires
        app.tick()
        await pilot.pause()
        assert "03:19" in row_text(app, "prod-deploy") and "expiring" in row_text(
            app, "prod-deploy")
        assert "expired" in row_text(app, "dev-deploy")


async def test_filter_as_you_type_and_sort(world):
    clock = Clock()
    ws = seeded(world, clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        board = app.board
        assert board is not None
        await pilot.press("slash", "p", "r", "o", "d")
        assert board.visible_names == ["prod-admin", "prod-deploy"]
        await pilot.press(*"-d")
        assert board.visible_names == ["prod-deploy"]
        for query, expected in (("pci", ["member-ro"]), ("333333333333", ["audit"]),
                                ("MemberReadOnly", ["member-ro"]), ("alias", [])):
            app.query_one("#filter", Input).value = query
            await pilot.pause()
            assert board.visible_names == expected, query
        await pilot.press("escape")
        assert len(board.visible_names) == 5
        assert board.has_focus
        await pilot.press("o")
        assert board.sort == "name"
        assert board.visible_names == sorted(board.visible_names)
        await pilot.press("o")
        assert board.sort == "time left"
        assert board.visible_names[:4] == ["member-ro", "dev-deploy", "prod-deploy", "audit"]
        assert "ACCOUNT" in line_texts(app)[0]
        await pilot.press("o")
        assert board.sort == "account"


async def test_headers_sit_on_their_columns_at_any_width(world):
    """Each title starts where its column's cells start (the countdown's ends where they
    end), whatever the width and sort."""
    from tui.board.table import GAP

    clock = Clock()
    ws = seeded(world, clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        board = app.board
        assert board is not None
        for width in (90, 130, 160, 230):
            await pilot.resize_terminal(width, 40)
            await pilot.pause()
            for _ in range(2):  # account order, then name order (with ACCOUNT)
                lines = line_texts(app)
                columns = board.columns(board.scrollable_content_region.width)
                start, rows = 2, board.visible_names
                shown = len(lines[0])
                for column in columns:
                    end = start + column.width
                    if end > shown:  # a narrow board crops the last columns, rows too
                        assert all(len(row_text(app, n)) == shown for n in rows)
                        break
                    title = lines[0][start:end]
                    assert title == column.fit(column.title), (width, column, lines[0])
                    assert (title.endswith if column.right else title.startswith)(column.title)
                    assert lines[0][start + column.width:end + GAP] == " " * GAP
                    for name in rows:
                        text = row_text(app, name)
                        value = cell(app, name, column.key).plain
                        assert text[start:end] == column.fit(value), (width, name, column)
                    start = end + GAP
                if width >= 160:
                    assert "LEFT" in lines[0] and "PROFILES" in lines[0]
                await pilot.press("o")
            await pilot.press("o")  # back to account order


def test_filter_matches_every_field():
    from profiles.model import Account
    from profiles.workspace import RoleRow

    row = RoleRow("ci", "arn:aws:iam::123456789012:role/Pipeline", "Pipeline",
                  Account("123456789012", "tools", ("shared",)), ("base", "ci"), None, None,
                  None)
    hay = haystack(row)
    for query in ("ci", "TOOLS", "shared", "1234", "role/pipe", "tools pipe"):
        assert matches(hay, query), query
    assert not matches(hay, "prod")
    assert chain_text(("base", f"mfa:{MFA}", "admin")) == "base › mfa:operator › admin"


async def test_cursor_and_detail_pane(world, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    clock = Clock()
    ws = seeded(world, clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        board = app.board
        assert board is not None and board.selected == "audit"
        await pilot.press("down")
        assert board.selected == "dev-deploy"
        await pilot.press("end")
        assert board.selected == "prod-deploy"
        text = app.detail.plain
        assert "arn:aws:sts::222222222222:assumed-role/ProdDeploy/operator" in text
        assert "2030-01-01 12:10:00 UTC" in text and "2030-01-01T12:10:00Z" in text
        assert "10:00 left" in text
        await pilot.press("home", "down", "down")
        assert board.selected == "member-ro"
        text = app.detail.plain
        assert "audit" in text and "member-ro" in text and "chained, 1h cap" in text
        # secrets never reach the screen
        session = ws.cache.get(ws.engine.plan("prod-deploy").steps[-1].key)
        assert session is not None and session.credentials is not None
        board.select("prod-deploy")
        await pilot.pause()
        screen = app.export_screenshot()
        assert session.credentials.secret_access_key not in screen
        assert session.credentials.session_token not in screen
        assert session.credentials.access_key_id not in screen
    monkeypatch.delenv("TZ")
    time.tzset()


# -- assume ----------------------------------------------------------------------------


async def test_assume_asks_for_mfa_only_when_needed(world):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        assert app.board.select("prod-deploy")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        modal = app.screen
        assert not modal.query("#mfa")
        assert modal.query("#external-id")
        labels = " ".join(str(label.render()) for label in modal.query("Label"))
        assert "Duration (15m to 12h; empty: 1h" in labels  # no MaxSessionDuration known
        await pilot.press("escape")
        assert app.board.select("prod-admin")
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
        await until(pilot, lambda: (app.board.rows["prod-admin"].session is not None))
        await settle(app, pilot)
        row = app.board.rows["prod-admin"]
        assert row.session.arn.startswith("arn:aws:sts::222222222222:assumed-role/Admin/")
        assert "active" in row_text(app, "prod-admin")
        # the MFA session is cached: the next assumption asks no code
        assert ws.engine.needs_mfa("prod-admin") is None
        text = app.detail.plain
        assert "MFA session" in text


async def test_assume_duration_validated_and_failure_notified(world, monkeypatch):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        app.board.select("dev-deploy")
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
        assert app.board.rows["dev-deploy"].session is None
        assert not app.board.busy


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
            await app.loaded()
            board = app.board
            board.select("prod-deploy")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, AssumeModal))
            await pilot.press("enter")
            await until(pilot, lambda: "prod-deploy" in board.busy)
            started = time.monotonic()
            await pilot.press("home")
            assert board.selected == "audit"
            await pilot.press("down", "down")
            assert board.selected == "member-ro"
            await pilot.press("slash", *"dev")
            assert board.visible_names == ["dev-deploy"]
            await pilot.press("escape")
            app.tick()
            assert time.monotonic() - started < 2.0  # the STS call is still hanging
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
    from datetime import UTC, datetime, timedelta
    from urllib.parse import parse_qs

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(
                int(self.headers["Content-Length"])).decode()).items()}
            release.wait(30)
            expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            arn = form["RoleArn"]
            assumed = (f"arn:aws:sts::{arn.split(':')[4]}:assumed-role/"
                       f"{arn.rsplit('/', 1)[1]}/{form['RoleSessionName']}")
            body = (
                '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                "<AssumeRoleResult><Credentials><AccessKeyId>ASIASLOW</AccessKeyId>"
                "<SecretAccessKey>slowsecret</SecretAccessKey><SessionToken>slowtoken"
                f"</SessionToken><Expiration>{expires}</Expiration></Credentials>"
                f"<AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId><Arn>{assumed}</Arn>"
                "</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>").encode()
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
        await app.loaded()
        app.board.select("prod-deploy")
        await pilot.press("c")  # no session: refused
        await pilot.pause()
        assert not isinstance(app.screen, ChainModal)
        assert any("no active session" in n.message for n in app._notifications)
        app.board.select("audit")
        await pilot.press("c")
        assert isinstance(app.screen, ChainModal)
        target = arns["member-ro"].replace("MemberReadOnly", "BreakGlass")
        app.screen.query_one("#target", Input).value = target
        await pilot.press("enter")
        await until(pilot, lambda: "audit>BreakGlass" in app.board.rows)
        await settle(app, pilot)
        row = app.board.rows["audit>BreakGlass"]
        assert row.session.arn.startswith("arn:aws:sts::444444444444:assumed-role/BreakGlass/")
        assert row.chain == ("base", "audit", "audit>BreakGlass")
        assert app.board.selected == "audit>BreakGlass"
        # the 1-hour chaining cap (moto's expiry is from real time; the test clock is fixed)
        assert row.session.expires_at.timestamp() - time.time() <= 3600
        text = app.detail.plain
        assert "audit>BreakGlass" in text and "chained, 1h cap" in text
        app.board.select("audit")
        await pilot.pause()
        assert "Chained from this session" in app.detail.plain
        # a catalog role whose own chain passes through audit is simply assumed
        await pilot.press("c")
        app.screen.query_one("#target", Input).value = "member"
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: app.board.rows["member-ro"].session is not None)
        await settle(app, pilot)
        assert app.board.selected == "member-ro"


async def test_write_profile_then_unmanaged_name_needs_confirmation(world):
    organisation(world)
    world.write_credentials(world.credentials.read_text()
                            + "\n# hand-written\n[mine]\naws_access_key_id = AKIAHAND\n")
    clock = Clock(time.time())
    ws = workspace(clock)
    ws.assume("dev-deploy")
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        app.board.select("dev-deploy")
        await pilot.press("w")
        assert isinstance(app.screen, WriteModal)
        assert app.screen.query_one("#profile", Input).value == "dev-deploy"
        await pilot.press("enter")
        await until(pilot, lambda: app.board.rows["dev-deploy"].profiles == ("dev-deploy",))
        assert "dev-deploy" in row_text(app, "dev-deploy").split()[-1]
        await pilot.press("w")
        app.screen.query_one("#profile", Input).value = "bad name"
        await pilot.press("enter")
        assert "invalid profile name" in str(app.screen.query_one("#error").render())
        app.screen.query_one("#profile", Input).value = "mine"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("n")
        await settle(app, pilot)
        assert "AKIAHAND" in world.credentials.read_text()
        await pilot.press("w")
        app.screen.query_one("#profile", Input).value = "mine"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await until(pilot, lambda: "mine" in app.board.rows["dev-deploy"].profiles)
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
        await app.loaded()
        app.board.select("prod-deploy")
        clock.advance(5)
        await pilot.press("r")
        await until(pilot, lambda: app.board.rows["prod-deploy"].session.issued_at
                    != first.issued_at)
        await settle(app, pilot)
        await pilot.press("x")
        await until(pilot, lambda: app.board.rows["prod-deploy"].session is None)
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
        await app.loaded()
        assert app.renew_due(app.now()) is None
        clock.now = old.expires_at.timestamp() - 300 - 59  # a minute before the window
        app.tick()
        await until(pilot, lambda: app.board.rows["prod-deploy"].session.issued_at
                    != old.issued_at)
        await settle(app, pilot)
        new = app.board.rows["prod-deploy"].session
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
        await app.loaded()
        app.tick()
        await until(pilot, lambda: isinstance(app.screen, MfaModal))
        assert app.screen.serial == MFA
        await pilot.press(*"654321", "enter")
        await until(pilot, lambda: app.board.rows["prod-admin"].session.issued_at
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
        await app.loaded()
        app.tick()
        await until(pilot, lambda: isinstance(app.screen, MfaModal))
        await pilot.press("escape")
        await settle(app, pilot)
        assert any("cancelled" in n.message for n in app._notifications)
        clock.advance(5)
        app.tick()
        await pilot.pause()
        assert not isinstance(app.screen, MfaModal)
        now_issued = app.board.rows["prod-admin"].session.issued_at
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
    monkeypatch.setattr(app, "open_shell", lambda name, env: opened.append((name, env)))
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        app.board.select("prod-deploy")
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
        await app.loaded()
        app.open_shell("prod-deploy", {"ROLECALL_ROLE": "prod-deploy"})
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
    env = {**os.environ, "SHELL": "/bin/sh", "TERM": "xterm-256color"}
    env.pop("TMUX", None)
    sock = f"/tmp/rolecall-tui-{os.getpid()}.sock"  # short: unix socket paths are limited
    tmux = ["tmux", "-S", sock]  # a private server, so it has our environment
    launch = f"SHELL={script} {sys.executable} -m tui; sleep 30"
    subprocess.run([*tmux, "new-session", "-d", "-s", "board", "-x", "160", "-y", "40",
                    launch], env=env, check=True, cwd=world.home)
    try:
        def screen() -> str:
            done = subprocess.run([*tmux, "capture-pane", "-p", "-t", "board"],
                                  capture_output=True, text=True)
            return done.stdout + done.stderr

        def keys(*names: str) -> None:
            subprocess.run([*tmux, "send-keys", "-t", "board", *names], check=True)

        wait_for(lambda: "prod-deploy" in screen() and "active" in screen(), show=screen)
        keys("/")
        wait_for(lambda: "filter: name" in screen(), show=screen)
        keys("-l", "prod-deploy")
        wait_for(lambda: "1 shown" in screen(), show=screen)
        keys("Enter")
        keys("s")
        wait_for(marker.exists, show=screen)
        assert marker.read_text().strip() == "prod-deploy"
        wait_for(lambda: "exited with status 0" in screen(), show=screen)
        assert "rolecall ·" in screen()
        keys("q")
        wait_for(lambda: "rolecall ·" not in screen(), show=screen)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        with contextlib.suppress(OSError):
            os.unlink(sock)


def wait_for(condition, timeout: float = 20.0, show=None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out" + (f":\n{show()}" if show else ""))
        time.sleep(0.1)


# -- help, palette, quit ---------------------------------------------------------------


async def test_help_lists_every_binding(world):
    organisation(world)
    app = RolecallApp(clock=Clock(), workspace=workspace(Clock()), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = {row[2] for row in app.screen.rows}
        assert {"assume", "chain", "write", "shell", "refresh", "forget", "filter", "sort",
                "help", "quit"} <= listed
        keys = {row[2]: row[0] for row in app.screen.rows}
        assert keys["filter"] == "/" and keys["help"] == "?" and keys["quit"] == "q"
        await pilot.press("x")  # board keys do nothing under a dialog
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        ids = {b.id for b in app.BINDINGS}
        assert {"assume", "chain", "write", "shell", "refresh", "forget", "filter", "help",
                "quit"} <= ids


async def test_heap_frozen_after_the_first_rows_and_released_on_exit(world):
    import gc

    organisation(world)
    app = RolecallApp(clock=Clock(), workspace=workspace(Clock()), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        await pilot.pause()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


async def test_key_bar_lists_the_keys_and_a_click_presses_one(world):
    from tui.board.keybar import KeyBar

    organisation(world)
    app = RolecallApp(clock=Clock(), workspace=workspace(Clock()), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        bar = app.query_one(KeyBar)
        line = bar.render().plain
        for hint in ("⏎ Assume", "c Chain", "w Write", "s Shell", "r Refresh", "x Forget",
                     "/ Filter", "o Sort", "? Help", "q Quit", "^p palette"):
            assert hint in line, hint
        assert line.rstrip().endswith("^p palette")
        x = line.index("? Help")
        await pilot.click(KeyBar, offset=(x + 3, 0))
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.click(KeyBar, offset=(line.index("/ Filter"), 0))
        await pilot.press(*"prod")
        assert app.board is not None and app.board.query == "prod"


async def test_command_palette_runs_actions_on_a_named_role(world):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        await pilot.press("ctrl+p")
        await pilot.press(*"assume: dev-dep")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        assert app.screen.needs.role == "dev-deploy"
        assert app.board.selected == "dev-deploy"
        await pilot.press("enter")
        await until(pilot, lambda: app.board.rows["dev-deploy"].session is not None)
        await settle(app, pilot)


async def test_quit_and_load_errors(world):
    world.write_config("[profile broken\nrole_arn = nope\n")
    app = RolecallApp(clock=Clock(), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        assert app.load_error is not None
        assert "cannot parse" in str(app.query_one("#top").render())
        await pilot.press("enter")  # nothing loaded: a warning, not a crash
        await pilot.press("q")
    assert app.return_value == 0


async def test_one_broken_profile_is_a_broken_row_and_the_rest_load(world):
    world.write_config("[profile base]\n[profile good]\nrole_arn = "
                       "arn:aws:iam::111111111111:role/Good\nsource_profile = base\n"
                       "[profile broken]\nrole_arn = nope\nsource_profile = base\n")
    app = RolecallApp(clock=Clock(), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        assert app.load_error is None
        assert set(app.board.rows) == {"good", "broken"}
        assert app.board.rows["broken"].error and app.board.rows["good"].error is None
        assert app.board.select("broken")
        await pilot.pause()
        assert str(app.board.state_cell(app.board.rows["broken"])) == "broken"
        await pilot.press("enter")  # refused with the profile's error, not a crash
        await until(pilot, lambda: any("malformed role_arn" in str(n.message)
                                       for n in app._notifications))
        await pilot.press("q")
    assert app.return_value == 0


async def test_workspace_is_built_in_a_worker_when_not_given(world):
    organisation(world)
    app = RolecallApp(clock=lambda: T0, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        await pilot.pause()
        assert app.ws is not None and len(app.board.rows) == 5
        assert app.ws.engine.mfa_prompt == app._prompt_mfa


def test_seed_helper_is_deterministic(world):
    organisation(world)
    ws = workspace(Clock())
    session = seed(ws, "member-ro", T0 + 60)
    assert session.seconds_left(T0) == 60
    assert ws.engine.cached("member-ro") is None  # inside the window


async def test_screenshot_png_font_is_monospace_on_cells(world):
    """The PNG converter gets an installed monospace font spaced to one cell per
    character (a proportional fallback squeezed the header off its columns)."""
    from tui.demo.screenshots import _advance, _mono_svg

    app = RolecallApp(clock=Clock(), workspace=seeded(world, Clock()), auto_renew=False,
                      ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        await pilot.pause()
        svg = _mono_svg(app.export_screenshot())
    assert "Fira Code, monospace" not in svg
    spacing = float(svg.split("DejaVu Sans Mono")[1].split("letter-spacing: ")[1].split("px")[0])
    assert abs(_advance(20) + spacing - 0.61 * 20) < 1e-3
