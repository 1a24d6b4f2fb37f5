"""The board and IAM Identity Center (see docs/architecture.md, IAM Identity Center): SSO roles on
the board, and the login
it offers when an assumption needs one (no token, or an expired one)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from profiles.estate.tokens import TokenStore
from profiles.sessions.cache import SessionCache
from tests.sso_world import corp, identity  # noqa: F401
from tests.tui_world import settle, texts, until
from tui.board.app import RolecallApp
from tui.screens.assume import AssumeModal
from tui.screens.doctor import DoctorPage
from tui.screens.sso_login import LoginModal, SignInModal

SIZE = (160, 40)


@pytest.fixture(autouse=True)
def no_browser(monkeypatch):
    """No browser can open here: the board signs in with a device code."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)


def logged_out(corp):  # noqa: F811
    """corp's roles listed, then its login gone from the keyring."""
    corp.log_in()
    corp.sync()
    TokenStore.of(SessionCache()).drop("corp")
    return RolecallApp(clock=corp.identity.clock, workspace=corp.workspace(),
                       auto_renew=False, ticking=False)


@pytest.mark.parametrize("stale", [False, True], ids=["listed", "listed-again"])
async def test_the_board_offers_a_login_then_assumes(corp, identity, stale):  # noqa: F811
    identity.center.enforce_interval = False
    app = logged_out(corp)
    if stale:  # past sso_ttl: the login lists the roles again, then assumes
        identity.clock.advance(13 * 3600)
    async with app.run_test(size=SIZE) as pilot:
        board = app.board_screen.board
        await app.board_screen.loaded()
        assert "sso:corp" in " ".join(board.rows["prod/ReadOnly"].chain)
        assert board.select("prod/ReadOnly")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SignInModal))
        assert "needs a login to IAM Identity Center session corp" in texts(app.screen)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, LoginModal)
                    and "user_code=" in texts(app.screen))
        shown = texts(app.screen)
        device = identity.center.device()
        assert device.user_code in shown and device.device_code not in shown
        identity.center.approve()
        await until(pilot, lambda: isinstance(app.screen, AssumeModal), timeout=30)
        await pilot.press("enter")
        await until(pilot, lambda: board.rows["prod/ReadOnly"].session is not None)
        await settle(app, pilot)
        assert TokenStore.of(SessionCache()).token("corp") is not None
        assert "SSO role" in app.board_screen.detail.plain
        listed = [n.message for n in app._notifications if "roles listed" in n.message]
        assert listed == (["signed in; 9 roles listed"] if stale else [])


async def test_a_cancelled_login_leaves_no_token(corp, identity):  # noqa: F811
    app = logged_out(corp)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        app.board_screen.board.select("dev/Billing")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SignInModal))
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, LoginModal)
                    and "user_code=" in texts(app.screen))
        await pilot.press("escape")
        await until(pilot, lambda: any("cancelled" in n.message for n in app._notifications))
        await settle(app, pilot)
        assert TokenStore.of(SessionCache()).token("corp") is None
        assert app.board_screen.board.rows["dev/Billing"].session is None


async def test_a_stale_listing_is_listed_again_when_the_board_opens(corp, identity):  # noqa: F811
    corp.log_in(expires_in=3 * 86400)
    corp.sync()
    identity.center.add_account("444444444444", "sandbox", roles=("PowerUser",))
    identity.clock.advance(13 * 3600)  # past sso_ttl (12 h)
    app = RolecallApp(clock=identity.clock, workspace=corp.workspace(), auto_renew=False,
                      ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        assert "sandbox/PowerUser" not in app.board_screen.board.rows
        await until(pilot, lambda: app.board_screen.board is not None
                    and "sandbox/PowerUser" in app.board_screen.board.rows, timeout=30)
        assert any("10 IAM Identity Center roles listed" in n.message
                   for n in app._notifications)


async def test_d_on_an_sso_role_says_what_decides_it(corp, identity):  # noqa: F811
    corp.log_in()
    corp.sync()
    app = RolecallApp(clock=identity.clock, workspace=corp.workspace(), auto_renew=False,
                      ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        assert app.board_screen.board.select("prod/ReadOnly")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DoctorPage)
                    and app.screen.error is not None, timeout=30)
        assert "its assignment to you does" in str(app.screen.error)
        await settle(app, pilot)
        assert not identity.fakes.portal.calls.count("GetRoleCredentials")


async def test_the_boards_endpoint_offers_the_login_an_sso_role_needs(corp, identity,  # noqa: F811
                                                                      monkeypatch):
    """`e`, then an SDK asks for an SSO role whose login is gone: a 503 naming the login,
    the board offers its sign-in once, and after it the endpoint serves the role."""
    from tests.test_serve_board import request

    monkeypatch.setenv("ROLECALL_RUNTIME_DIR", str(corp.world.home / "run"))
    identity.center.enforce_interval = False
    app = logged_out(corp)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        await pilot.press("e")
        await until(pilot, lambda: screen.endpoint is not None)
        port, token = screen.endpoint.port, screen.endpoint.token
        role = quote("prod/ReadOnly", safe="")
        status, body = await asyncio.to_thread(request, port, token, role)
        assert status == 503 and body["code"] == "LoginRequired", body
        await until(pilot, lambda: isinstance(app.screen, SignInModal) and "needs a login to "
                    "IAM Identity Center session corp" in texts(app.screen))
        status, body = await asyncio.to_thread(request, port, token, role)  # asked again
        assert status == 503 and "rolecall sso login corp" in body["message"], body
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, LoginModal)
                    and "user_code=" in texts(app.screen))
        identity.center.approve()
        await until(pilot, lambda: isinstance(app.screen, AssumeModal), timeout=30)
        await pilot.press("escape")  # the endpoint needs no session of the board's
        status, body = await asyncio.to_thread(request, port, token, role)
        assert status == 200 and body["AccessKeyId"], body
        assert sum(isinstance(s, SignInModal) for s in app.screen_stack) == 0
        offers = [n for n in app._notifications if "sso login" in n.message]
        assert offers == []  # offered as a dialog, not as a failure notice per request
        await pilot.press("e")
        await until(pilot, lambda: screen.endpoint is None)
        await settle(app, pilot)
