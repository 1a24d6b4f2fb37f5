"""The board runs the credential endpoint (see docs/architecture.md, Credential endpoint): `e`
starts it (the header says
so, ``env ROLE --server`` finds it), its renewals' MFA codes are asked in the board's
dialog, and `e` stops it. Real moto and gnome-keyring; requests from another thread."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import time

from textual.widgets import Input

from profiles.ops import endpoint_file
from tests.tui_world import MFA, Clock, organisation, settle, until, workspace
from tui.board.app import RolecallApp
from tui.screens.mfa import MfaModal

SIZE = (140, 40)


def request(port: int, token: str, role: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", f"/role/{role}", headers={"Authorization": token})
    answer = conn.getresponse()
    body = json.loads(answer.read())
    conn.close()
    return answer.status, body


def header(app) -> str:
    return str(app.board_screen.query_one("#top").render())


async def test_the_board_serves_and_answers_the_endpoints_mfa_prompts(world, monkeypatch):
    monkeypatch.setenv("ROLECALL_RUNTIME_DIR", str(world.home / "run"))
    world.env["ROLECALL_RUNTIME_DIR"] = str(world.home / "run")
    organisation(world)
    clock = Clock(time.time())
    app = RolecallApp(clock=clock, workspace=workspace(clock), auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        await pilot.press("e")
        await until(pilot, lambda: screen.endpoint is not None)
        port, token = screen.endpoint.port, screen.endpoint.token
        assert f"endpoint 127.0.0.1:{port}" in header(app)
        known = endpoint_file.read()
        assert known is not None and (known.port, known.pid) == (port, os.getpid())
        env = await asyncio.to_thread(world.run, "env", "dev-deploy", "--server")
        assert env.returncode == 0 and f"127.0.0.1:{port}/role/dev-deploy" in env.stdout

        status, body = await asyncio.to_thread(request, port, token, "dev-deploy")
        assert status == 200, body
        await until(pilot, lambda: screen.board.rows["dev-deploy"].session is not None)

        asked = asyncio.create_task(asyncio.to_thread(request, port, token, "prod-admin"))
        await until(pilot, lambda: isinstance(app.screen, MfaModal))
        assert app.screen.serial == MFA and "credential endpoint" in app.screen.hint
        assert "(MFA code wanted)" in header(app)
        assert (await asked)[0] == 503  # the SDK is not held past its own timeout
        status, body = await asyncio.to_thread(request, port, token, "prod-admin")
        assert status == 503 and "type it in the board" in body["message"], body
        app.screen.query_one("#mfa", Input).value = "123456"
        await pilot.press("enter")
        await until(pilot, lambda: screen.board.rows["prod-admin"].session is not None)
        status, body = await asyncio.to_thread(request, port, token, "prod-admin")
        assert status == 200, body
        assert "MFA code wanted" not in header(app)

        await pilot.press("e")
        await until(pilot, lambda: "endpoint" not in header(app))
        await settle(app, pilot)
        assert endpoint_file.read().pid == 0  # stopped; port and token kept for a restart
        env = await asyncio.to_thread(world.run, "env", "dev-deploy", "--server")
        assert env.returncode == 1 and "no credential endpoint is running" in env.stderr
