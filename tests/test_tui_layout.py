"""The board on any terminal: 80x24 and 140x40 through the pilot.

Columns give way by value (role, state and countdown never go; CHAIN shortens from the
middle; PROFILES and the detail pane go first), every dialog and help fit 80x24, the
key bar shows the keys of the screen in front, and the selected line is readable (WCAG
AA contrast in the default theme). Time is injected; sessions are seeded.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.color import Color
from textual.widgets import Button

from tests.tui_world import (
    Clock,
    chained_by_hand,
    flat,
    line_texts,
    row_text,
    seeded,
    texts,
    until,
)
from tui.board.app import RolecallApp
from tui.board.keybar import KeyBar
from tui.screens.assume import AssumeModal
from tui.screens.chain import ChainModal
from tui.screens.confirm import replace_profile
from tui.screens.help import HelpScreen
from tui.screens.mfa import MfaModal
from tui.screens.write import WriteModal

SMALL, LARGE = (80, 24), (140, 40)
LONG = "prod-admin>member-readonly-breakglass"  # an auto-named hop, as `c` names them


def app_for(world, clock: Clock) -> RolecallApp:
    ws = seeded(world, clock)
    chained_by_hand(ws, "prod-deploy", LONG, "MemberReadOnlyBreakGlass")
    return RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)


def bar(app) -> str:
    return app.screen.query_one(KeyBar).render().plain


async def test_80x24_keeps_role_state_and_countdown_and_shortens_the_chain(world):
    app = app_for(world, Clock())
    async with app.run_test(size=SMALL) as pilot:
        screen = app.board_screen
        await screen.loaded()
        await pilot.pause()
        assert not screen.detail.display  # hidden under 100 columns
        header = line_texts(app)[0].split()
        assert header == ["ROLE", "CHAIN", "SESSION", "LEFT"]  # PROFILES went first
        for name, left in (("prod-deploy", "10:00"), ("dev-deploy", "03:20"),
                           ("audit", "2:00:05"), (LONG, "45:00")):
            line = row_text(app, name)
            assert cell_len(line) <= 80 and line.rstrip().endswith(left), line
        chain = row_text(app, LONG)
        assert "…" in chain and " base › " in chain  # from the middle, the base kept
        assert "expiring" in row_text(app, "dev-deploy")
        shown = bar(app)
        assert cell_len(shown) <= 80 and "? Help" in shown and "⏎ Assume" in shown
        assert shown.rstrip().endswith("^p palette")
        screen.board.select(LONG)
        await pilot.press("p")  # the pane on demand; the board keeps its essentials
        await pilot.pause()
        assert screen.detail.display and flat(LONG) in flat(screen.detail.plain)
        for name in ("prod-deploy", "audit"):
            assert "active" in row_text(app, name)
        assert line_texts(app)[0].split()[-2:] == ["SESSION", "LEFT"]


async def test_pane_follows_the_width_until_toggled(world):
    app = app_for(world, Clock())
    async with app.run_test(size=LARGE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        assert screen.detail.display
        assert line_texts(app)[0].split() == ["ROLE", "CHAIN", "SESSION", "LEFT"]
        await pilot.resize_terminal(90, 30)
        await pilot.pause()
        assert not screen.detail.display
        await pilot.resize_terminal(*LARGE)
        await pilot.pause()
        assert screen.detail.display
        await pilot.press("p")  # hidden by hand: stays hidden at any width
        await pilot.resize_terminal(90, 30)
        await pilot.resize_terminal(*LARGE)
        await pilot.pause()
        assert not screen.detail.display
        # the room the pane gave back goes to the chain, then to PROFILES
        assert line_texts(app)[0].split() == ["ROLE", "CHAIN", "SESSION", "LEFT", "PROFILES"]
        await pilot.press("p")
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        assert screen.detail.display


def inside(widget, screen) -> bool:
    region, box = widget.region, screen.region
    return bool(region.width and region.height) and box.contains_region(region)


async def fits(app, pilot, screen) -> None:
    """The dialog and its buttons are wholly on the 80x24 screen."""
    await pilot.pause()
    box = screen.query_one("#dialog")
    assert inside(box, screen), (type(screen).__name__, box.region)
    for button in screen.query(Button):
        assert inside(button, screen) and box.region.contains_region(button.region), (
            type(screen).__name__, button.id, button.region)
    shown = bar(app)
    assert "Quit" not in shown and "palette" not in shown and "esc" in shown


async def test_every_dialog_and_help_fit_80x24_with_their_own_keys(world):
    app = app_for(world, Clock())
    async with app.run_test(size=SMALL) as pilot:
        screen = app.board_screen
        await screen.loaded()
        screen.denied.add("prod-admin")  # the tallest: MFA, external id (why), chaining
        screen.board.select("prod-admin")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        modal = app.screen
        assert modal.query("#mfa") and modal.query("#external-id") and modal.query(".note")
        await fits(app, pilot, modal)
        assert "⏎ Assume" in bar(app) and "esc Cancel" in bar(app)
        await pilot.press("escape")
        for make in (lambda: ChainModal("audit", [f"role-{i:02d}" for i in range(40)]),
                     lambda: WriteModal("prod-deploy", str(world.credentials)),
                     lambda: MfaModal("arn:aws:iam::000000000000:mfa/operator", "prod-admin",
                                      "demo: any 6 digits work"),
                     lambda: replace_profile("operator", str(world.credentials))):
            dialog = make()
            await app.push_screen(dialog)
            await fits(app, pilot, dialog)
            dialog.dismiss(None)
            await pilot.pause()
        await pilot.press("question_mark")
        helper = app.screen
        assert isinstance(helper, HelpScreen)
        await fits(app, pilot, helper)
        fields = helper.query_one("#fields")
        assert fields.max_scroll_y > 0  # more keys than lines: it scrolls
        await pilot.press("end")
        await pilot.pause()
        assert fields.scroll_y == fields.max_scroll_y
        await pilot.press("escape")
        assert app.screen is screen


def contrast(a: Color, b: Color) -> float:
    def lum(c: Color) -> float:
        def ch(v: int) -> float:
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b)

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def test_selected_line_meets_wcag_aa_contrast(world):
    app = app_for(world, Clock())
    async with app.run_test(size=LARGE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        board = screen.board
        ratios: set[float] = set()
        for focused in (True, False):
            if not focused:
                await pilot.press("slash")  # the filter has the focus, the list does not
            assert board.has_focus is focused
            for name in ("prod-deploy", "dev-deploy", "member-ro", LONG):  # active...
                board.select(name)
                await pilot.pause()
                y = next(y for y in range(board.size.height)
                         if f"  {name[:8]}" in "".join(s.text for s in board.render_line(y)))
                for segment in board.render_line(y):
                    style = segment.style
                    if not segment.text.strip() or style is None:
                        continue
                    fg, bg = (Color.from_rich_color(c) for c in (style.color, style.bgcolor))
                    ratio = contrast(fg, bg)
                    assert ratio >= 4.5, (name, focused, segment.text, ratio)
                    ratios.add(round(ratio, 1))
        assert len(ratios) == 2, ratios  # one style a line: focused, and not


async def test_detail_chain_keeps_its_columns_and_arns_wrap_at_separators(world):
    app = app_for(world, Clock())
    async with app.run_test(size=SMALL) as pilot:
        screen = app.board_screen
        await screen.loaded()
        await pilot.press("p")
        screen.board.select(LONG)
        await pilot.pause()
        text = screen.detail.plain
        width = screen.detail.content_region.width
        assert all(cell_len(line.rstrip()) <= width for line in text.splitlines())
        chain = text.split("\nChain\n", 1)[1]
        for note in ("base identity", "assumed role", "chained, 1h cap"):
            assert note in chain  # the hop-type column is never squeezed to "b…"
        assert "45:00" in chain and "10:00" in chain
        assert flat(LONG) in flat(chain.replace("45:00", ""))  # wrapped at "-" or ">"
        facts = text.split("\nChain\n", 1)[0]
        arns = ("arn:aws:iam::444444444444:role/MemberReadOnlyBreakGlass",
                "arn:aws:sts::444444444444:assumed-role/MemberReadOnlyBreakGlass/operator")
        lines = [line.rstrip() for line in facts.splitlines()]
        for arn in arns:
            assert arn in flat(facts)
            first = next(i for i, line in enumerate(lines) if "arn:aws:" in line
                         and arn.startswith(line.split(None, 1)[1][:12]))
            pieces, index = [], first
            while "".join(pieces) != arn:  # the ARN's lines, each cut after ':' or '/'
                body = lines[index][9:].strip() if index > first else lines[index].split(
                    None, 1)[1]
                pieces.append(body)
                index += 1
            assert len(pieces) > 1  # 80x24 with the pane: the ARN does wrap
            assert all(p.endswith((":", "/")) for p in pieces[:-1]), pieces


async def test_the_overwrite_question_names_the_profile_and_the_file(world):
    app = app_for(world, Clock())
    async with app.run_test(size=SMALL) as pilot:
        await app.board_screen.loaded()
        await app.push_screen(replace_profile("operator", str(world.credentials)))
        await pilot.pause()
        shown = texts(app.screen)
        assert "Replace profile [operator]?" in shown
        assert f"[operator] in {world.credentials} was not written by rolecall" in shown
        await pilot.pause()
        assert "y Replace" in bar(app) and "n Cancel" in bar(app)
