"""The board's doctor (``d``; see docs/architecture.md, Doctor and lint): the checklist of
``rolecall doctor`` on a page,
against moto (IAM, STS, Organizations over HTTP; moto enforces no trust, so every
verdict is doctor's own), and offered after STS denies an assume (a loopback STS that
denies as real STS does and passes every other request on to moto).
"""

from __future__ import annotations

import contextlib
import io
import time
import urllib.error
import urllib.request

import pytest
from rich.console import Console
from textual.widgets import Input, Static
from textual.worker import WorkerCancelled

from profiles.errors import AwsError, RolecallError
from tests.fake_sts import FakeSts, StsHandler, serve, sts_error
from tests.test_trust_doctor import Estate, _account, _doc, allow_assume, trusts
from tests.test_tui_snapshots import utc  # noqa: F401 - a fixture
from tests.tui_world import (
    Clock,
    chained_by_hand,
    flat,
    notes,
    organisation,
    seed,
    settle,
    until,
    workspace,
)
from tui.board.app import RolecallApp
from tui.board.doctoring import offer_doctor
from tui.board.keybar import KeyBar
from tui.screens.assume import AssumeModal
from tui.screens.doctor import DoctorPage
from tui.screens.mfa import MfaModal

SMALL, LARGE = (80, 24), (140, 40)


def text_of(page: DoctorPage) -> str:
    """The summary and every hop and note of the page, as plain text at its width."""
    width = page.query_one("#doctor-checks").content_region.width
    return "\n".join(plain(w.content, width).rstrip("\n") for w in page.query(Static)
                     if w.id != "page-title")


def plain(renderable, width: int = 80) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def chain(estate: Estate, deploy_trust: str) -> tuple[str, str]:
    """base > ci (account A) > deploy (account B, trusting ``deploy_trust``), a reader in
    B; returns the ARNs of ci and deploy."""
    a, b = _account(), _account()
    estate.user_policy(allow_assume())
    ci = estate.role("ci", a, "CIPipeline", _doc(trusts(estate.user_arn)),
                     policy=allow_assume())
    deploy = estate.role("deploy", b, "Deploy", _doc(trusts(deploy_trust or ci)),
                         source="ci")
    estate.reader(b)
    return ci, deploy


def app_for(clock: Clock | None = None) -> RolecallApp:
    clock = clock or Clock(time.time())
    return RolecallApp(clock=clock, workspace=workspace(clock), auto_renew=False,
                       ticking=False)


async def open_doctor(app, pilot, name: str) -> DoctorPage:
    screen = app.board_screen
    await screen.loaded()
    assert screen.board.select(name)
    await pilot.press("d")
    await until(pilot, lambda: isinstance(app.screen, DoctorPage))
    page = app.screen
    await until(pilot, lambda: page.report is not None or page.error is not None, 60)
    await pilot.pause()
    return page


def fits(page: DoctorPage) -> None:
    """Everything on the page is within the screen, nothing scrolls sideways."""
    screen = page.region
    scroll = page.query_one("#doctor-checks")
    assert scroll.virtual_size.width <= scroll.size.width, scroll.virtual_size
    for widget in (page.query_one("#page-title"), page.query_one("#doctor-summary"),
                   scroll, page.query_one(KeyBar)):
        assert screen.contains_region(widget.region), (widget.id, widget.region)
    for hop in page.query(".doctor-hop"):
        assert hop.region.width <= scroll.size.width


# -- d on a role ------------------------------------------------------------------------


async def test_d_on_an_allowed_chain_shows_every_check_passing(world):
    estate = Estate(world)
    ci, _ = chain(estate, "")
    app = app_for()
    async with app.run_test(size=SMALL) as pilot:
        page = await open_doctor(app, pilot, "deploy")
        assert page.error is None and page.report.verdict == "allowed"
        assert str(page.query_one("#page-title").render()) == "doctor · deploy"
        summary = str(page.query_one("#doctor-summary").render())
        assert summary.startswith("deploy: allowed · every check passes")
        shown_text = text_of(page)
        for number, role in ((1, "ci"), (2, "deploy")):
            assert f"hop {number}/2  {role}  allowed" in shown_text
        assert "FAIL" not in shown_text and "fix:" not in shown_text
        for check in ("trust", "identity", "external_id", "mfa", "duration", "org"):
            assert shown_text.count(f"pass    {check}") == 2, check
        account_a = ci.split(":")[4]
        assert f"arn:aws:sts::{account_a}:assumed-role/CIPipeline/" in flat(shown_text)
        assert flat(estate.user_arn) in flat(shown_text)  # hop 1's caller
        assert "not evaluated (unknown)" in shown_text and "service control policies" in \
            shown_text
        bar = page.query_one(KeyBar).render().plain
        assert "esc Back" in bar and "n Next problem" in bar and "r Check again" in bar
        fits(page)
        await pilot.press("n")  # nothing to go to: it says so
        assert any("nothing fails" in n.message for n in notes(app))
        await pilot.press("r")  # again: the same checklist, drawn anew
        await until(pilot, lambda: not page.running, 60)
        await pilot.pause()
        assert text_of(page) == shown_text and len(page.query(".doctor-hop")) == 2
        await pilot.press("escape")
        assert app.screen is app.board_screen
        await settle(app, pilot)  # doctor assumed ci (its caller for hop 2): on the board
        assert app.board_screen.board.rows["ci"].session is not None


async def test_d_on_a_denied_role_shows_the_failing_check_and_its_fix_at_80x24(world):
    estate = Estate(world)
    other = f"arn:aws:iam::{_account()}:role/CI-Pipeline"
    ci, deploy = chain(estate, other)
    app = app_for()
    async with app.run_test(size=SMALL) as pilot:
        page = await open_doctor(app, pilot, "deploy")
        assert page.report.verdict == "denied"
        summary = str(page.query_one("#doctor-summary").render())
        assert summary == "deploy: denied · hop 2/2 FAIL: trust"
        text = text_of(page)
        assert "hop 1/2  ci  allowed" in text and "hop 2/2  deploy  denied" in text
        assert "FAIL    trust" in text
        assert flat(f'fix: add "{ci}" to the Principal of the trust policy of {deploy}') in \
            flat(text)
        assert flat(other) in flat(text)  # who it trusts instead
        fits(page)
        scroll = page.query_one("#doctor-checks")
        hop2 = page.hops[1]
        top = scroll.content_region.y + 1  # hop 2's heading, under its margin line
        assert scroll.scroll_y > 0 and hop2.region.y == top  # the problem first
        scroll.scroll_home(animate=False)
        await pilot.pause()
        assert hop2.region.y > top
        await pilot.press("n")
        await pilot.pause()
        assert hop2.region.y == top
        await pilot.press("question_mark")  # help lists the page's keys
        rows = dict(app.screen.rows)
        assert rows["n"].startswith("scroll to the next hop") and "d" not in rows
        await pilot.press("escape", "escape")
        assert app.screen is app.board_screen


async def test_the_checks_run_in_a_worker_and_a_page_left_drops_its_answer(world,
                                                                          monkeypatch):
    """STS holds every answer: the page says it is checking, the board still answers
    keys, a page left meanwhile drops its answer and the next one shows its own."""
    organisation(world)
    sts = FakeSts()
    sts.hold = True
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    app = app_for()
    try:
        async with app.run_test(size=SMALL) as pilot:
            screen = app.board_screen
            await screen.loaded()
            screen.board.select("dev-deploy")
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, DoctorPage))
            first = app.screen
            await until(pilot, lambda: sts.requests)  # the worker waits on STS
            assert str(first.query_one("#doctor-summary").render()).startswith(
                "checking dev-deploy")
            await pilot.press("escape", "o")  # back on the board, which still works
            assert app.screen is screen and screen.board.sort != "account"
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, DoctorPage))
            second = app.screen
            assert second is not first
            sts.delay.set()  # STS answers now
            await until(pilot, lambda: second.report is not None or second.error, 60)
            await settled(app, pilot)
            assert app.screen is second and first.report is None
            assert not [n for n in notes(app) if n.severity == "error"]
    finally:
        sts.stop()


async def settled(app, pilot) -> None:
    """``settle``, where a reload may cancel another (both pages' checks end in one):
    every worker ends, a cancelled one is fine, a failed one is not."""
    for _ in range(4):
        for worker in list(app.workers):
            with contextlib.suppress(WorkerCancelled):
                await worker.wait()
        await pilot.pause()


# -- the offer after a denied assume ----------------------------------------------------


class DenyingSts:
    """STS on loopback that denies AssumeRole of the ARNs in ``deny`` as real STS words
    it, and passes every other request on to moto."""

    def __init__(self, upstream: str) -> None:
        self.deny: set[str] = set()
        fake = self

        class Handler(StsHandler):
            def do_POST(self) -> None:  # noqa: N802
                body, form = self.read_form()
                if form.get("Action") == "AssumeRole" and form.get("RoleArn") in fake.deny:
                    return self.send(403, sts_error(
                        "AccessDenied", "User: a[/]b is not authorized to perform: "
                        f"sts:AssumeRole on resource: {form['RoleArn']}"))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(upstream + self.path, data=body,
                                                 headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        self.send(response.status, response.read())
                except urllib.error.HTTPError as exc:
                    self.send(exc.code, exc.read())

        self.server, self.url = serve(Handler)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_a_denied_assume_offers_the_doctor_with_what_sts_said(world, monkeypatch):
    estate = Estate(world)
    vendor = _account()
    estate.user_policy(allow_assume())
    arn = estate.role("vendor", vendor, "Audit", _doc(trusts(
        f"arn:aws:iam::{estate.home}:root", StringEquals={"sts:ExternalId": "k3y-1234-abcd"})))
    estate.reader(vendor)
    sts = DenyingSts(world.moto.url)
    sts.deny.add(arn)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    app = app_for()
    try:
        async with app.run_test(size=SMALL) as pilot:
            screen = app.board_screen
            await screen.loaded()
            screen.board.select("vendor")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, AssumeModal))
            app.screen.query_one("#duration", Input).value = "2h"
            await pilot.press("enter")
            await until(pilot, lambda: any(n.severity == "error" for n in notes(app)))
            await settle(app, pilot)
            denied = next(n for n in notes(app) if n.severity == "error")
            assert denied.title == "assume vendor failed" and "denied" in denied.message
            assert "press d on vendor and the doctor checks both" in denied.message
            assert "rolecall doctor" not in denied.message  # the board's words, not the CLI's
            page = await open_doctor(app, pilot, "vendor")
            text = text_of(page)
            assert text.startswith("vendor: denied · FAIL: trust, external_id, duration")
            assert "STS denied the last assume: AssumeRole " in text
            assert "User: a[/]b is not authorized" in text  # STS's words, literally
            assert "FAIL    external_id" in text and "sends none" in text
            # the duration asked in the dialog is the one checked
            assert flat("2h requested exceeds the MaxSessionDuration 1h") in flat(text)
            fits(page)
            await pilot.press("escape")
            sts.deny.clear()  # the owner fixed it: the next assume works
            await pilot.press("r")
            await until(pilot, lambda: screen.board.rows["vendor"].session is not None)
            await settle(app, pilot)
            page = await open_doctor(app, pilot, "vendor")  # the denial is history
            assert "STS denied" not in text_of(page)
    finally:
        sts.stop()


async def test_a_parent_that_needs_mfa_asks_for_the_code_on_the_board(world):
    """doctor assumes every parent first (to ask STS who it is): an MFA parent's code is
    asked in the board's dialog; cancelling it is said on the page, r asks again."""
    arns = organisation(world)
    world.write_config(world.config.read_text() + "\n[profile admin-ro]\nrole_arn = "
                       f"{arns['member-ro']}\nsource_profile = prod-admin\n")
    app = app_for()
    async with app.run_test(size=SMALL) as pilot:
        screen = app.board_screen
        await screen.loaded()
        screen.board.select("admin-ro")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, MfaModal))
        page = app.screen_stack[-2]
        assert isinstance(page, DoctorPage)
        await pilot.press("escape")
        await until(pilot, lambda: page.error is not None)
        assert "MFA prompt for admin-ro's chain was cancelled" in str(
            page.query_one("#doctor-summary").render())
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, MfaModal))
        await pilot.press(*"123456", "enter")
        await until(pilot, lambda: page.report is not None, 60)
        assert [h.role for h in page.report.hops] == ["prod-admin", "admin-ro"]
        assert page.error is None
        await settle(app, pilot)
        assert screen.board.rows["prod-admin"].session is not None


def test_offer_doctor_rewrites_only_a_fix_that_names_the_doctor():
    core = AwsError("AssumeRole x denied: no", fix="both sides must allow it (STS does not "
                    "say which side denied: `rolecall doctor 'a b'` checks both)")
    core.code = "AccessDenied"
    offered = offer_doctor(core, "a b")
    assert offered is not None and type(offered) is AwsError and offered.code == "AccessDenied"
    assert offered.message == core.message
    assert offered.fix == ("both sides must allow it (STS does not say which side denied: "
                           "press d on a b and the doctor checks both)")
    assert offer_doctor(AwsError("throttled", fix="wait a few seconds"), "r") is None
    assert offer_doctor(RolecallError("no fix"), "r") is None
    other = offer_doctor(AwsError("x", fix="see rolecall doctor ROLE"), r"a\1[/]")
    assert other is not None and other.fix.endswith(
        r"; press d on a\1[/] and the doctor checks both sides")


async def test_d_on_a_hand_made_chain_or_a_broken_role_says_why_not(world):
    organisation(world)
    world.write_config(world.config.read_text() + "\n[profile lost]\nrole_arn = "
                       "arn:aws:iam::111111111111:role/Lost\nsource_profile = nowhere\n")
    clock = Clock()
    ws = workspace(clock)
    seed(ws, "audit", clock.now + 3600)
    chained_by_hand(ws)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SMALL) as pilot:
        await app.board_screen.loaded()
        app.board_screen.board.select("audit>BreakGlass")
        await pilot.press("d")
        await pilot.pause()
        assert app.screen is app.board_screen
        assert any("chain made by hand" in n.message for n in notes(app))
        app.board_screen.board.select("lost")
        await pilot.press("d")
        await pilot.pause()
        assert app.screen is app.board_screen
        failed = [n for n in notes(app) if n.title == "doctor lost failed"]
        assert failed and "lost is broken" in failed[0].message


# -- snapshot ---------------------------------------------------------------------------


def fixed_chain(world) -> None:
    """The denied chain with fixed accounts, user and session names (a snapshot draws
    them): base (alice in 707070707070) > ci (717171717171) > deploy (727272727272),
    whose trust policy names a CI role that is not ci."""
    moto = world.moto
    key, secret = moto.create_user_keys("707070707070", "alice")
    world.write_credentials(f"[base]\naws_access_key_id = {key}\n"
                            f"aws_secret_access_key = {secret}\n")
    moto.client("iam", "707070707070").put_user_policy(
        UserName="alice", PolicyName="assume", PolicyDocument=allow_assume())
    alice = "arn:aws:iam::707070707070:user/alice"
    ci = moto.create_role("717171717171", "CIPipeline", _doc(trusts(alice)))
    moto.client("iam", "717171717171").put_role_policy(
        RoleName="CIPipeline", PolicyName="deploy", PolicyDocument=allow_assume())
    deploy = moto.create_role("727272727272", "ProductionDeployRole", _doc(trusts(
        "arn:aws:iam::717171717171:role/CI-Pipeline")))
    reader = moto.create_role("727272727272", "ReadOnly", _doc(trusts(alice)))
    world.write_config(
        "[profile base]\nregion = us-east-1\n\n"
        f"[profile ci]\nrole_arn = {ci}\nsource_profile = base\n\n"
        f"[profile prod-deploy]\nrole_arn = {deploy}\nsource_profile = ci\n\n"
        f"[profile prod-readonly]\nrole_arn = {reader}\nsource_profile = base\n")
    world.catalog.write_text('[settings]\nsession_name = "alice-1893499200"\n')


@pytest.mark.usefixtures("utc")  # the snapshots' own fixture (TZ=UTC)
@pytest.mark.parametrize("size", [LARGE, SMALL], ids=["140x40", "80x24"])
def test_doctor_page_snapshot(world, snap_compare, size):
    fixed_chain(world)
    clock = Clock()
    app = RolecallApp(clock=clock, workspace=workspace(clock), auto_renew=False,
                      ticking=False)

    async def ready(pilot):
        await open_doctor(app, pilot, "prod-deploy")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=ready)
