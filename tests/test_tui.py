"""The TUI through Textual's pilot: every action, with an injected clock.

Real parts: moto over HTTP for STS, gnome-keyring for the cache, the real credentials
file. The subshell is tested outside the pilot (suspend needs a real terminal)."""

from __future__ import annotations

import os
import time

from textual.widgets import Input

from tests.tui_world import (
    MFA,
    T0,
    Clock,
    cell,
    flat,
    line_texts,
    organisation,
    row_text,
    seed,
    seeded,
    settle,
    until,
    workspace,
)
from tui.board.app import RolecallApp
from tui.board.columns import chain_text, haystack, matches
from tui.board.screen import BoardScreen
from tui.screens.assume import AssumeModal
from tui.screens.help import HelpScreen

SIZE = (160, 40)


# -- board -----------------------------------------------------------------------------


async def test_board_groups_by_account_with_countdowns(world):
    clock = Clock()
    ws = seeded(world, clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
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
        warning = app.board_screen.board._style("board--warning")
        assert cell(app, "dev-deploy", "left").style == warning
        assert cell(app, "prod-deploy", "left").style != warning
        assert app.board_screen.board._style("board--prod").color == warning.color


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

    class ProbeBoard(BoardScreen):
        def _load_now(self) -> bool:
            done = super()._load_now()
            assert self.board is not None
            inline.append((done, len(self.board.rows)))
            return done

    class Probe(RolecallApp):
        board_class = ProbeBoard

    for expected in ((False, 0), (True, 5)):
        app = Probe(clock=Clock(), auto_renew=False, ticking=False)
        async with app.run_test(size=SIZE) as pilot:
            await app.board_screen.loaded()
            await pilot.pause()
            assert app.board_screen.board is not None and len(app.board_screen.board.rows) == 5
            assert "member-ro" in row_text(app, "member-ro")
        assert inline == [expected]
        inline.clear()
        assert config_snapshot.read() is not None


async def test_tick_updates_only_countdown_cells(world):
    clock = Clock()
    ws = seeded(world, clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        await pilot.pause()
        board = app.board_screen.board
        assert board is not None
        lines_before = board._lines
        before = board.updates
        clock.advance(1)
        changed = board.tick(app.board_screen.now())
        await pilot.pause()
        assert changed == 3  # three live countdowns; the expired one stays "expired"
        assert board.updates - before == 3
        assert board._lines is lines_before  # not rebuilt
        assert "09:59" in row_text(app, "prod-deploy")
        assert "03:19" in row_text(app, "dev-deploy")
        clock.advance(400)  # prod-deploy enters the window, dev-deploy expires
        app.board_screen.tick()
        await pilot.pause()
        assert "03:19" in row_text(app, "prod-deploy") and "expiring" in row_text(
            app, "prod-deploy")
        assert "expired" in row_text(app, "dev-deploy")


async def test_filter_as_you_type_and_sort(world):
    clock = Clock()
    ws = seeded(world, clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        board = app.board_screen.board
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
    from tui.board.columns import GAP, LEAD

    clock = Clock()
    ws = seeded(world, clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        board = app.board_screen.board
        assert board is not None
        for width in (60, 80, 90, 130, 160, 230):
            await pilot.resize_terminal(width, 40)
            await pilot.pause()
            for _ in range(2):  # account order, then name order (with ACCOUNT)
                lines = line_texts(app)
                columns = board.columns(board.scrollable_content_region.width)
                start, rows = LEAD, board.visible_names
                shown = len(lines[0])
                keys = [c.key for c in columns]
                assert {"role", "state", "left"} <= set(keys), (width, keys)
                for column in columns:
                    end = start + column.width
                    assert end <= shown, (width, column)  # every column fits, none cropped
                    title = lines[0][start:end]
                    assert title == column.fit(column.title), (width, column, lines[0])
                    assert (title.endswith if column.right else title.startswith)(column.title)
                    assert lines[0][end:end + GAP].strip() == ""
                    for name in rows:
                        text = row_text(app, name)
                        expected = board.shown(board.rows[name], column)
                        assert text[start:end] == expected, (width, name, column)
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
        await app.board_screen.loaded()
        board = app.board_screen.board
        assert board is not None and board.selected == "audit"
        await pilot.press("down")
        assert board.selected == "dev-deploy"
        await pilot.press("end")
        assert board.selected == "prod-deploy"
        text = app.board_screen.detail.plain
        assert "arn:aws:sts::222222222222:assumed-role/ProdDeploy/operator" in flat(text)
        assert "2030-01-01 12:10:00 UTC" in text and "2030-01-01T12:10:00Z" in text
        assert "10:00 left" in text
        await pilot.press("home", "down", "down")
        assert board.selected == "member-ro"
        text = app.board_screen.detail.plain
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


# -- help, palette, quit ---------------------------------------------------------------


async def test_help_lists_every_key_once_without_internal_ids(world):
    organisation(world)
    app = RolecallApp(clock=Clock(), workspace=workspace(Clock()), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = [key for key, _ in app.screen.rows]
        assert len(keys) == len(set(keys)), keys  # each key once
        for key in ("⏎", "c", "w", "s", "r", "x", "/", "o", "p", "esc", "?", "q", "ctrl+p",
                    "↑ ↓  k j", "pgup pgdn", "home end"):
            assert key in keys, key
        described = dict(app.screen.rows)
        assert "enter assumes" in described["/"] and described["q"] == "Quit"
        shown = app.screen.export_text() if hasattr(app.screen, "export_text") else \
            app.export_screenshot()
        for internal in ("clear-filter", "help.close", "command_palette", "dialog.cancel"):
            assert internal not in shown  # no id column
        await pilot.press("x")  # board keys do nothing under a dialog
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert {"assume", "chain", "write", "shell", "refresh", "forget", "filter", "sort",
                "pane"} <= {b.id for b in BoardScreen.BINDINGS}
        assert {"help", "quit"} <= {b.id for b in app.BINDINGS}


async def test_heap_frozen_after_the_first_rows_and_released_on_exit(world):
    import gc

    organisation(world)
    app = RolecallApp(clock=Clock(), workspace=workspace(Clock()), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        await pilot.pause()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


async def test_key_bar_lists_the_keys_and_a_click_presses_one(world):
    from tui.board.keybar import KeyBar

    organisation(world)
    app = RolecallApp(clock=Clock(), workspace=workspace(Clock()), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
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
        assert app.board_screen.board is not None and app.board_screen.board.query == "prod"


async def test_command_palette_runs_actions_on_a_named_role(world):
    organisation(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        await pilot.press("ctrl+p")
        await pilot.press(*"assume: dev-dep")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AssumeModal))
        assert app.screen.needs.role == "dev-deploy"
        assert app.board_screen.board.selected == "dev-deploy"
        await pilot.press("enter")
        await until(pilot, lambda: app.board_screen.board.rows["dev-deploy"].session is not None)
        await settle(app, pilot)


async def test_palette_offers_session_verbs_only_for_live_sessions(world):
    from tui.board.palette import RoleCommands

    clock = Clock()
    app = RolecallApp(clock=clock, workspace=seeded(world, clock), auto_renew=False,
                      ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        provider = RoleCommands(app.screen)

        async def verbs(query: str) -> dict[str, set[str]]:
            found: dict[str, set[str]] = {}
            source = provider.search(query) if query else provider.discover()
            hits = [h async for h in source]
            for hit in hits:
                verb, name = str(hit.prompt).split(": ", 1)
                found.setdefault(name, set()).add(verb)
            return found

        for query in ("", "write", "shell", "chain"):
            found = await verbs(query)
            for name in ("member-ro", "prod-admin"):  # expired, none
                assert not found.get(name, set()) & {"write", "shell", "chain"}, (query, name)
            if query:
                assert query in found["prod-deploy"] and query in found["audit"]
        found = await verbs("")
        assert found["prod-admin"] == {"assume"} and found["prod-deploy"] >= {"write", "shell"}
        clock.advance(700)  # prod-deploy expired too
        assert "write" not in (await verbs("write")).get("prod-deploy", set())
        await pilot.pause()


async def test_quit_and_load_errors(world):
    world.write_config("[profile broken\nrole_arn = nope\n")
    app = RolecallApp(clock=Clock(), ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        assert app.board_screen.load_error is not None
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
        screen = app.board_screen
        await screen.loaded()
        board = screen.board
        assert screen.load_error is None
        assert set(board.rows) == {"good", "broken"}
        assert board.rows["broken"].error and board.rows["good"].error is None
        assert board.select("broken")
        await pilot.pause()
        assert str(board.state_cell(board.rows["broken"])) == "broken"
        line = row_text(app, "broken")  # the chain cell says why, the pane says it whole
        assert "broken" in line and "malformed role_arn" in line
        assert "malformed role_arn 'nope'" in " ".join(screen.detail.plain.split())
        await pilot.press("enter")  # refused with the profile's error, not a crash
        await until(pilot, lambda: any("malformed role_arn" in str(n.message)
                                       for n in app._notifications))
        await pilot.press("q")
    assert app.return_value == 0


async def test_workspace_is_built_in_a_worker_when_not_given(world):
    organisation(world)
    app = RolecallApp(clock=lambda: T0, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        await pilot.pause()
        assert app.ws is not None and len(app.board_screen.board.rows) == 5
        assert app.ws.engine.mfa_prompt == app.prompt_mfa


def test_seed_helper_is_deterministic(world):
    organisation(world)
    ws = workspace(Clock())
    session = seed(ws, "member-ro", T0 + 60)
    assert session.seconds_left(T0) == 60
    assert ws.engine.cached("member-ro") is None  # inside the window


async def test_screenshot_png_puts_every_character_on_its_cell(world):
    """The PNG converter gets an installed monospace font and an x position for each
    character on Textual's cell grid (converters ignore ``textLength``, so bold runs and
    fallback fonts drifted off their columns)."""
    import html
    import re

    from rich.cells import cell_len

    from tui.demo.screenshots import _mono_svg

    app = RolecallApp(clock=Clock(), workspace=seeded(world, Clock()), auto_renew=False,
                      ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.board_screen.loaded()
        await pilot.pause()
        original = app.export_screenshot()
    svg = _mono_svg(original)
    assert "Fira Code, monospace" not in svg and "DejaVu Sans Mono" in svg
    cell = None
    runs = re.findall(r'<text[^>]*\bx="([\d. ]+)"[^>]*>([^<]*)</text>', svg)
    placed = [(xs.split(), html.unescape(body)) for xs, body in runs if " " in xs]
    assert len(placed) > 20
    assert not any("textLength" in tag for tag, body in re.findall(
        r"(<text[^>]*>)([^<]*)</text>", svg) if body.strip())
    for xs, text in placed:
        assert len(xs) == len(text)
        steps = [float(b) - float(a) for a, b in zip(xs, xs[1:], strict=False)]
        widths = [cell_len(c) for c in text[:-1]]
        for step, width in zip(steps, widths, strict=True):
            cell = cell or step / width
            assert abs(step - width * cell) < 0.02, (text, step, cell)


async def test_a_page_over_the_board_owns_its_keys_and_goes_back(world):
    """The base of the full screens (run results, doctor, audit, SSO): a page
    shows its own keys, help lists them, escape goes back to the board."""
    from textual.binding import Binding
    from textual.content import Content

    from tui.board.keybar import KeyBar
    from tui.screens.page import Page

    class Checks(Page):
        BINDINGS = [Binding("t", "check", "Check again", id="checks.again")]
        ran = 0

        def action_check(self) -> None:
            self.ran += 1

    organisation(world)
    app = RolecallApp(clock=Clock(), workspace=workspace(Clock()), ticking=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.board_screen.loaded()
        page = Checks(Content("doctor · a[/]b"))
        await app.push_screen(page)
        await pilot.pause()
        shown = page.query_one(KeyBar).render().plain
        assert "esc Back" in shown and "t Check again" in shown and "Assume" not in shown
        assert str(page.query_one("#page-title").render()) == "doctor · a[/]b"
        await pilot.press("t", "x")  # its key works; the board's x does nothing here
        assert page.ran == 1 and app.screen is page
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert dict(app.screen.rows)["t"] == "Check again" and "x" not in dict(app.screen.rows)
        await pilot.press("escape", "escape")
        assert app.screen is app.board_screen
