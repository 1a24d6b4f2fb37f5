"""What the board does to sessions over time: chained sessions outlive a forgotten
source, renewals keep the duration asked for, the memory-only keyring notice comes
once, a denied role is offered an external id (and told why), and enter in the filter
assumes the first match. Real moto and gnome-keyring; a small STS where moto is lenient.
"""

from __future__ import annotations

import json
import time

import pytest
from textual.widgets import Input

from profiles.sessions.cache import SessionCache
from profiles.workspace import Workspace
from tests.fake_sts import StsHandler, serve, sts_error
from tests.tui_world import (
    Clock,
    assume_role_xml,
    organisation,
    settle,
    texts,
    until,
    workspace,
)
from tui.board.app import RolecallApp
from tui.screens.assume import DENIED_WHY, AssumeModal

SIZE = (140, 40)


async def test_forgetting_a_source_keeps_its_chained_session_on_the_board(world):
    arns = organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    ws.assume("audit")
    target = arns["member-ro"].replace("MemberReadOnly", "BreakGlass")
    ws.chain("audit", target, label="audit>BreakGlass")
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        board = screen.board
        assert "audit>BreakGlass" in board.rows
        board.select("audit")
        await pilot.press("x")
        await until(pilot, lambda: board.rows["audit"].session is None)
        await settle(app, pilot)
        child = board.rows["audit>BreakGlass"]  # still live, still listed
        assert child.session is not None and child.session.seconds_left(screen.now()) > 0
        listed = json.loads(world.run("sessions", "--json").stdout)
        assert "audit>BreakGlass" in {s["role"] for s in listed}
        board.select("audit>BreakGlass")
        await pilot.pause()
        assert "chained by hand from audit" in screen.detail.plain
        await pilot.press("r")  # its source has no session now: says so, keeps the child
        await until(pilot, lambda: any("no active session" in n.message
                                       for n in app._notifications))
        await settle(app, pilot)
        assert board.rows["audit>BreakGlass"].session is not None


async def test_renewals_keep_the_duration_asked_for(world):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    app = RolecallApp(clock=clock, workspace=ws, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        board = screen.board
        board.select("dev-deploy")  # MaxSessionDuration 2h, not chained
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        app.screen.query_one("#duration", Input).value = "1h30m"
        await pilot.press("enter")
        await until(pilot, lambda: board.rows["dev-deploy"].session is not None)
        await settle(app, pilot)
        first = board.rows["dev-deploy"].session

        def lifetime(session) -> float:  # moto's expiry is real time; the test clock moves
            return session.expires_at.timestamp() - time.time()

        assert lifetime(first) == pytest.approx(5400, abs=30)
        clock.now = first.expires_at.timestamp() - 300 - 30  # due for renewal
        screen.tick()
        await until(pilot, lambda: board.rows["dev-deploy"].session.issued_at
                    != first.issued_at)
        await settle(app, pilot)
        renewed = board.rows["dev-deploy"].session
        assert lifetime(renewed) == pytest.approx(5400, abs=30)  # not the 1h default
        clock.advance(5)
        await pilot.press("r")  # a refresh by hand keeps it too
        await until(pilot, lambda: board.rows["dev-deploy"].session.issued_at
                    != renewed.issued_at)
        await settle(app, pilot)
        assert lifetime(board.rows["dev-deploy"].session) == pytest.approx(5400, abs=30)


async def test_memory_only_keyring_notice_comes_once(world, monkeypatch):
    from profiles.sessions import backends, kernel_keyring

    monkeypatch.setattr(backends, "_given", set())  # as in a fresh process
    # No Secret Service, and the kernel keyring's system calls refused (a container's)
    monkeypatch.setattr(kernel_keyring, "probe", lambda: "the keyctl system calls are "
                        "blocked here (a container's seccomp profile, or a sandbox)")
    organisation(world)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={world.home}/no-such-bus")
    clock = Clock(time.time())
    ws = Workspace(clock=clock, cache=SessionCache())
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        for name in ("prod-deploy", "dev-deploy", "prod-deploy"):
            screen.board.select(name)
            await pilot.press("r")
            await until(pilot, lambda: not screen.board.busy)
            await settle(app, pilot)
        warning = ws.cache.warning
        assert warning and "memory" in warning
        shown = [n for n in app._notifications if n.message == warning]
        assert len(shown) == 1 and shown[0].severity == "warning"
        assert sum("renew" in (n.title or "") or "refresh" in (n.title or "")
                   for n in app._notifications) == 3


class DeniedSts:
    """STS that denies AssumeRole of ``role_arn`` unless ``ExternalId`` is ``expected``
    (moto does not enforce trust conditions); everything else is answered."""

    def __init__(self, role_arn: str, expected: str) -> None:
        self.requests: list[dict[str, str]] = []
        fake = self

        class Handler(StsHandler):
            def do_POST(self) -> None:  # noqa: N802
                _, form = self.read_form()
                fake.requests.append(form)
                if form.get("RoleArn") == role_arn and form.get("ExternalId") != expected:
                    return self.send(403, sts_error("AccessDenied", "User is not authorized "
                                                    "to perform: sts:AssumeRole"))
                self.send(200, assume_role_xml(form))

        self.server, self.url = serve(Handler)


async def test_a_denied_role_is_offered_an_external_id_and_told_why(world, monkeypatch):
    arns = organisation(world)
    sts = DeniedSts(arns["prod-deploy"], "vendor-7f3a9c")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sts.url)
    clock = Clock(time.time())
    app = RolecallApp(clock=clock, workspace=workspace(clock), auto_renew=False,
                      ticking=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.board_screen
            await screen.loaded()
            screen.board.select("prod-deploy")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, AssumeModal))
            assert not app.screen.query("#external-id")  # nothing says it needs one
            await pilot.press("enter")
            await until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
            await settle(app, pilot)
            assert "denied" in next(n.message for n in app._notifications
                                    if n.severity == "error")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, AssumeModal))
            modal = app.screen
            assert modal.query("#external-id") and DENIED_WHY in texts(modal)
            modal.query_one("#external-id", Input).value = "vendor-7f3a9c"
            modal.query_one("#duration", Input).focus()
            await pilot.press("enter")
            await until(pilot, lambda: screen.board.rows["prod-deploy"].session is not None)
            await settle(app, pilot)
            assert sts.requests[-1]["ExternalId"] == "vendor-7f3a9c"
            await pilot.press("enter")  # it worked: the next dialog asks no more
            await until(pilot, lambda: isinstance(app.screen, AssumeModal))
            assert not app.screen.query("#external-id")
    finally:
        sts.server.shutdown()


async def test_enter_in_the_filter_assumes_the_first_match(world):
    organisation(world)
    clock = Clock(time.time())
    app = RolecallApp(clock=clock, workspace=workspace(clock), auto_renew=False,
                      ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        await pilot.press("slash", *"dev-dep", "enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        assert app.screen.needs.role == "dev-deploy"
        await pilot.press("escape")
        assert screen.board.has_focus and screen.board.query == "dev-dep"  # kept
        await pilot.press("slash", "down")  # down: to the list, the filter kept
        assert screen.board.has_focus and not isinstance(app.screen, AssumeModal)
        await pilot.press("escape")
        assert screen.board.query == "" and len(screen.board.visible_names) == 5
