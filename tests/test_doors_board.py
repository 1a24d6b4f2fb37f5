"""The terminal door, swept over the board: every page and dialog (found by subclass, so a
new screen needs a recipe here), the board itself, its detail pane, notifications, the
palette and help, fed the hostile corpus from the sources the board shows (a config
refused at load, STS's answers, CloudTrail, a child's output, policy text), and what
Textual would write to the terminal, its rendered segments, checked for anything a
terminal would act on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from profiles.errors import AwsError
from profiles.trust.checks import Check
from profiles.trust.doctor import Hop, Report
from tests.doors_world import raw_controls
from tests.fakes.fixtures import cloudtrail_fake  # noqa: F401
from tests.test_doors_terminal import BIDI, C0, C1, ESC, HOSTILE, LONG, XML_SAFE
from tests.tui_world import notes, organisation, until
from tui.board.app import RolecallApp
from tui.board.hints import Hints
from tui.screens.dialog import Dialog
from tui.screens.page import Page

EVERYTHING = "".join(h[:300] for h in HOSTILE)


def drawn(app) -> list[str]:
    """The text of every segment Textual would write for the current screen (its own
    control segments, the cursor moves, aside)."""
    update = app.screen._compositor.render_full_update()
    return [segment.text for line in update.strips for strip in line for segment in strip
            if not segment.control]


async def assert_drawn_safe(app, pilot, where: str) -> str:
    """Nothing on screen a terminal would act on; returns the screen's text."""
    await pilot.pause()
    texts = drawn(app)
    for text in texts:
        assert raw_controls(text, newline=False) == [], (where, text[:300])
    return "".join(texts)


# -- item: CloudTrail on the audit page ---------------------------------------------------

async def test_the_audit_page_spells_out_cloudtrail_fields(world, cloudtrail_fake,  # noqa: F811
                                                           monkeypatch):
    """The audit page wrote CloudTrail's fields (session name, caller ARN, source IP,
    user agent) to the terminal with their ESC intact: an OSC 0 title, an OSC 52
    clipboard write, SGR colours."""
    arns = organisation(world)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", cloudtrail_fake.url)
    when = datetime.now(UTC) - timedelta(minutes=3)
    cloudtrail_fake.assume_role(arns["prod-deploy"], f"s{ESC}", f"arn:aws:iam::9:user/{ESC}",
                                when=when, source_ip=f"10.0.0.1{ESC}", user_agent=ESC)
    cloudtrail_fake.assume_role(arns["prod-deploy"], f"t{BIDI}{C1}", f"u{C0}", when=when,
                                source_ip=LONG)
    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    async with app.run_test(size=(100, 40), notifications=True, tooltips=True) as pilot:
        await app.board_screen.loaded()
        assert app.board_screen.board.select("prod-deploy")
        await pilot.press("a")
        await until(pilot, lambda: app.screen.__class__.__name__ == "AuditPage")
        page = app.screen
        await pilot.press("t")
        await until(pilot, lambda: page.trail is not None, timeout=60)
        screen = await assert_drawn_safe(app, pilot, "audit page")
        assert "s\\x1b]52;c;" in screen and "user/\\x1b]52;c;" in screen
        assert "t\\u202eevil" in screen


# -- every page and dialog, by construction ----------------------------------------------

def _report() -> Report:
    checks = (Check("trust", "fail", f"statement 0 ({ESC}) trusts nobody", f"add {BIDI}"),
              Check("identity", "unknown", f"cannot read {C1}", f"allow {C0}"),
              Check("org", "pass", EVERYTHING))
    hop = Hop(f"r{ESC}", f"arn:aws:iam::111111111111:role/{BIDI}", "denied", checks,
              caller=f"arn:aws:iam::000000000000:user/{C0}")
    return Report(f"r{ESC}", "denied", (hop,))


def _pages() -> dict[str, Callable]:
    from tui.screens import assume, audit, chain, confirm, doctor, help, mfa, sso_login, write
    from tui.screens.run import RunModal

    def login():
        modal = sso_login.LoginModal(f"corp{ESC}")
        modal.call_after_refresh(modal.show_prompt, f"https://x/{ESC}{BIDI}", f"CODE{C0}")
        return modal

    return {
        "AssumeModal": lambda: assume.AssumeModal(assume.AssumeNeeds(
            f"r{ESC}", f"arn:aws:iam::1:mfa/{BIDI}", 3600, True, 900, f"why {C1}",
            f"hint {C0}")),
        "ChainModal": lambda: chain.ChainModal(f"src{ESC}", [f"a{BIDI}", f"b{C0}", LONG]),
        "ConfirmModal": lambda: confirm.replace_profile(f"p{ESC}", f"/tmp/{BIDI}"),
        "SignInModal": lambda: sso_login.SignInModal(
            sso_login.markup("Sign in to [b]$n[/b]?", n=ESC),
            sso_login.markup("[b]$r[/b] needs $n", r=BIDI, n=C1), yes="Sign in"),
        "LoginModal": login,
        "MfaModal": lambda: mfa.MfaModal(f"arn:aws:iam::1:mfa/{ESC}", f"r{BIDI}", f"h{C1}"),
        "WriteModal": lambda: write.WriteModal(f"r{ESC}", f"/home/{BIDI}/credentials"),
        "RunModal": lambda: RunModal([f"a{ESC}", f"b{BIDI}", f"c{C0}", "d", "e"],
                                     lambda names, command: []),
        "HelpScreen": lambda: help.HelpScreen(
            [(f"keys {ESC}", [(f"k{C0}", f"does {BIDI}")])],
            hints=Hints(welcome=f"welcome {ESC}")),
        "DoctorPage": lambda: doctor.DoctorPage(f"r{ESC}", _report,
                                                denial=f"denied: {XML_SAFE}"),
        "AuditPage": lambda: audit.AuditPage(f"r{ESC}"),
        # reached through the board below (they need a running run):
        "RunScreen": None, "OutputPage": None,
    }


def _subclasses(base: type) -> set[str]:
    import tui.screens.assume  # noqa: E401, F401
    import tui.screens.audit
    import tui.screens.chain
    import tui.screens.confirm  # noqa: E401, F401
    import tui.screens.doctor
    import tui.screens.help
    import tui.screens.mfa  # noqa: E401, F401
    import tui.screens.run
    import tui.screens.sso_login
    import tui.screens.write  # noqa: F401

    found, todo = set(), [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("tui."):
                found.add(sub.__name__)
                todo.append(sub)
    return found


def test_every_page_and_dialog_has_a_hostile_recipe():
    missing = (_subclasses(Dialog) | _subclasses(Page)) - set(_pages())
    assert not missing, f"add {sorted(missing)} to _pages() in {__file__}"


async def test_every_page_and_dialog_spells_out_hostile_text(world):
    organisation(world)
    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    async with app.run_test(size=(100, 40), notifications=True, tooltips=True) as pilot:
        await app.board_screen.loaded()
        for name, make in _pages().items():
            if make is None:
                continue
            screen = make()
            await app.push_screen(screen)
            await pilot.pause()
            if isinstance(screen, Dialog):
                screen.error(f"error {EVERYTHING}")
            if name == "DoctorPage":
                await until(pilot, lambda s=screen: s.report is not None)
            await assert_drawn_safe(app, pilot, name)
            app.pop_screen()
        app.say(EVERYTHING, title=f"t{ESC}", timeout=30)
        app.fail("assume", AwsError(EVERYTHING, EVERYTHING))
        await assert_drawn_safe(app, pilot, "notifications")


# -- the board fed by its sources --------------------------------------------------------

async def test_a_config_refused_at_load_is_spelled_out_on_the_board(world):
    world.write_config(f"[profile r{ESC}]\nregion = us-east-1\n")
    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False,
                      hints=Hints(banner=f"b{BIDI}", welcome=f"w{ESC}"))
    async with app.run_test(size=(100, 30), notifications=True, tooltips=True) as pilot:
        await app.board_screen.loaded()
        assert app.board_screen.load_error is not None
        await until(pilot, lambda: notes(app))
        await pilot.pause(0.5)
        screen = await assert_drawn_safe(app, pilot, "board, load failed")
        assert "r\\x1b]52;c;" in screen


async def test_a_hostile_sts_denial_and_the_doctor_are_spelled_out(world, monkeypatch):
    from tests.fake_sts import StsHandler, serve, sts_error

    organisation(world)
    message = XML_SAFE.replace("&", "&amp;").replace("<", "&lt;")

    class Denying(StsHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.read_form()
            self.send(403, sts_error("AccessDenied", message))

    server, url = serve(Denying)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    try:
        async with app.run_test(size=(100, 40), notifications=True, tooltips=True) as pilot:
            await app.board_screen.loaded()
            assert app.board_screen.board.select("dev-deploy")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.__class__.__name__ == "AssumeModal")
            await pilot.press("enter")
            await until(pilot, lambda: any("\\u202e" in str(n.message) for n in notes(app)))
            await assert_drawn_safe(app, pilot, "board, assume denied")
            await pilot.press("d")
            await until(pilot, lambda: app.screen.__class__.__name__ == "DoctorPage")
            page = app.screen
            await until(pilot, lambda: page.report is not None or page.error is not None, 60)
            await assert_drawn_safe(app, pilot, "doctor page, STS denied")
    finally:
        server.shutdown()


@pytest.mark.parametrize("output", [ESC, C0, C1 + BIDI, LONG])
async def test_a_childs_hostile_output_is_spelled_out_in_the_run_screens(world, output,
                                                                          tmp_path):
    organisation(world)
    script = tmp_path / "hostile.py"
    script.write_text(f"import sys\nsys.stdout.write({output + chr(10)!r})\n")
    import sys

    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    async with app.run_test(size=(100, 40), notifications=True, tooltips=True) as pilot:
        await app.board_screen.loaded()
        assert app.board_screen.board.select("dev-deploy")
        await pilot.press("exclamation_mark")
        await until(pilot, lambda: app.screen.__class__.__name__ == "RunModal")
        app.screen.query_one("#command").value = f"{sys.executable} {script}"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.__class__.__name__ == "RunScreen")
        run_screen = app.screen
        await until(pilot, lambda: run_screen.runner.done, timeout=60)
        await assert_drawn_safe(app, pilot, "run screen")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.__class__.__name__ == "OutputPage")
        await until(pilot, lambda: app.screen.read_to > 0)
        screen = await assert_drawn_safe(app, pilot, "output page")
        assert "\\x" in screen or "\\u" in screen or output == LONG


async def test_a_hostile_session_arn_is_spelled_out_in_the_detail_pane(world, monkeypatch):
    """STS names the session it grants: the board's detail pane shows that ARN."""
    from tests.test_doors_terminal import GrantingSts

    organisation(world)
    sts = GrantingSts()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    try:
        async with app.run_test(size=(140, 40), notifications=True, tooltips=True) as pilot:
            await app.board_screen.loaded()
            assert app.board_screen.board.select("dev-deploy")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.__class__.__name__ == "AssumeModal")
            await pilot.press("enter")
            board = app.board_screen
            await until(pilot, lambda: board.row("dev-deploy").session is not None, 60)
            board.show_detail()
            screen = await assert_drawn_safe(app, pilot, "board, detail pane")
            assert "\\u202e" in screen
    finally:
        sts.stop()
