"""The board's audit page (``a``; see docs/architecture.md, Audit and journal) through the pilot:
the role's journal first,
CloudTrail on request (read through the role, assumed via the board), callers the journal
does not know highlighted, every name drawn literally."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from profiles.ops import journal
from profiles.ops.journal import Entry
from tests.fakes.fixtures import cloudtrail_fake  # noqa: F401
from tests.tui_world import notes, organisation, until
from tui.board.app import RolecallApp
from tui.board.keybar import KeyBar
from tui.screens.audit import AuditPage

BASE_USER = "arn:aws:iam::000000000000:user/operator"
HOSTILE = "arn:aws:iam::999999999999:user/[bold]mallory[/]"


def lines(widget) -> list[tuple[str, list]]:
    """Each line of ``widget`` as drawn: its text and its segments' styles."""
    out = []
    for y in range(widget.size.height):
        strip = widget.render_line(y)
        out.append(("".join(s.text for s in strip), [s.style for s in strip if s.text.strip()]))
    return out


async def audit_page(app, pilot, role: str) -> AuditPage:
    """Select ``role`` on the board, press ``a``; the page once its journal is read."""
    await app.board_screen.loaded()
    assert app.board_screen.board.select(role)
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, AuditPage))
    page = app.screen
    await until(pilot, lambda: page.entries is not None)
    return page


def when(minutes_ago: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes_ago)


async def test_audit_page_journal_then_cloudtrail_unknown_callers_highlighted(
        world, cloudtrail_fake, monkeypatch):  # noqa: F811
    arns = organisation(world)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", cloudtrail_fake.url)
    role = arns["prod-deploy"]
    known = {"caller_arn": BASE_USER}  # the caller CloudTrail names: this machine's
    for minutes, session, extra in ((1, "alice-1", known), (50, "alice-0", {
            "result": "denied", "error_code": "AccessDenied"})):
        journal.record(Entry(time=journal.now_iso(when(minutes).timestamp()),
                             action="AssumeRole", role="prod-deploy", role_arn=role,
                             account_id="222222222222", session_name=session, **extra),
                       world.state)
    journal.record(Entry(time=journal.now_iso(), action="AssumeRole", role="dev-deploy",
                         session_name="elsewhere"), world.state)
    cloudtrail_fake.assume_role(role, "alice-1", BASE_USER, when=when(1.1))
    cloudtrail_fake.assume_role(role, "a[/]b", HOSTILE, when=when(5), source_ip="[i]x")
    cloudtrail_fake.assume_role(arns["prod-admin"], "not-this-role", HOSTILE, when=when(2))
    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    async with app.run_test(size=(80, 24)) as pilot:
        page = await audit_page(app, pilot, "prod-deploy")
        assert [e.session_name for e in page.entries] == ["alice-1", "alice-0"]
        await pilot.pause()
        drawn = "\n".join(text for text, _ in lines(page.query_one("#journal")))
        assert "alice-1" in drawn and "denied AccessDenied" in drawn
        assert "elsewhere" not in drawn
        assert "t CloudTrail" in page.query_one(KeyBar).render().plain
        assert cloudtrail_fake.calls.count("LookupEvents") == 0  # only on request

        await pilot.press("t")
        await until(pilot, lambda: page.trail is not None, timeout=30)
        await pilot.pause()
        assert [(e.session_name, e.known) for e in page.trail.events] == [
            ("alice-1", True), ("a[/]b", False)]
        trail = lines(page.query_one("#trail"))
        text = "\n".join(t.rstrip() for t, _ in trail)
        assert f"    by {HOSTILE}" in text.splitlines()  # literally, whole, at 80 columns
        assert "a[/]b  from [i]x" in text and "not-this-role" not in text
        known = [styles for t, styles in trail if "alice-1" in t or BASE_USER in t]
        unknown = [styles for t, styles in trail if "a[/]b" in t or HOSTILE in t]
        assert len(known) == len(unknown) == 2
        assert all(s.bold for line in unknown for s in line)
        assert not any(s.bold for line in known for s in line)
        assert "UNKNOWN" in text and "known" in text
        assert "1 by callers this machine's journal does not know" in str(
            page.query_one("#trail-status").render())
        # The reading session was assumed from the board, and journaled so.
        reads = [e for e in journal.entries(world.state) if e.via == "board"]
        assert [(e.role, e.result) for e in reads] == [("prod-deploy", "ok")]
        assert cloudtrail_fake.calls.of("LookupEvents")[-1].credential.startswith("ASIA")
        await pilot.press("escape")
        assert app.screen is app.board_screen


async def test_a_denied_cloudtrail_says_what_to_grant(world, cloudtrail_fake, monkeypatch):  # noqa: F811
    organisation(world)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", cloudtrail_fake.url)
    cloudtrail_fake.deny("222222222222")
    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    async with app.run_test(size=(80, 24)) as pilot:
        page = await audit_page(app, pilot, "prod-deploy")
        assert "no assumption of this role journaled here" in str(
            page.query_one("#journal-status").render())
        await pilot.press("t")
        await until(pilot, lambda: not page.looking and cloudtrail_fake.calls.count(), 30)
        await pilot.pause()
        status = str(page.query_one("#trail-status").render())
        assert "denied" in status and "cloudtrail:LookupEvents" in status
        assert "audit_role" in status and page.trail.events == []


async def test_a_with_no_role_selected_says_so(world):
    world.write_config("")  # no role at all: nothing to select
    app = RolecallApp(clock=time.time, auto_renew=False, ticking=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.board_screen.loaded()
        await pilot.press("a")
        await until(pilot, lambda: any("no role selected" in n.message for n in notes(app)))
        assert app.screen is app.board_screen
