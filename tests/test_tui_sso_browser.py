"""The board's sign-in in the browser: where one can open, the sign-in it offers opens it
(the stand-in in ``$BROWSER``), waits for the callback, then assumes the role; a denial
closes the dialog with the reason."""

from __future__ import annotations

import pytest

from profiles.estate.tokens import TokenStore
from profiles.sessions.cache import SessionCache
from tests.browser import install, visits
from tests.sso_world import corp, identity  # noqa: F401
from tests.test_tui_sso import SIZE, logged_out
from tests.tui_world import settle, texts, until
from tui.screens.assume import AssumeModal
from tui.screens.sso_login import SignInModal


@pytest.fixture
def browser_log(tmp_path, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    log = tmp_path / "browser.log"
    monkeypatch.setenv("BROWSER", install(tmp_path / "stand-in"))
    monkeypatch.setenv("STAND_IN_LOG", str(log))
    return log


async def _offer(app, pilot, role: str) -> None:
    await app.board_screen.loaded()
    assert app.board_screen.board.select(role)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, AssumeModal))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, SignInModal))
    assert "opens your browser to sign in" in texts(app.screen)
    await pilot.press("y")


async def test_the_board_signs_in_in_the_browser_then_assumes(corp, identity, browser_log):  # noqa: F811
    app = logged_out(corp)
    async with app.run_test(size=SIZE) as pilot:
        await _offer(app, pilot, "prod/ReadOnly")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal), timeout=30)
        await pilot.press("enter")
        board = app.board_screen.board
        await until(pilot, lambda: board.rows["prod/ReadOnly"].session is not None)
        await settle(app, pilot)
    assert len(visits(browser_log)) == 1
    assert identity.fakes.oidc.calls.of("CreateToken")[0].params["grantType"] == \
        "authorization_code"
    assert TokenStore.of(SessionCache()).token("corp") is not None


async def test_a_denial_in_the_browser_is_said_on_the_board(corp, identity, browser_log):  # noqa: F811
    identity.center.consent = "deny"
    app = logged_out(corp)
    async with app.run_test(size=SIZE) as pilot:
        await _offer(app, pilot, "dev/Billing")
        await until(pilot, lambda: any("denied in the browser" in n.message
                                       for n in app._notifications), timeout=30)
        await settle(app, pilot)
        assert not isinstance(app.screen, AssumeModal)
    assert TokenStore.of(SessionCache()).token("corp") is None
