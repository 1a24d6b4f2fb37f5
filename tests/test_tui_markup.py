"""Hostile names on screen (see docs/architecture.md, Trust boundary): every user-controlled string
is shown
literally — profile names, catalog roles, account aliases and tags, written profiles —
on the board, the detail pane, the status line, notifications, dialogs and the palette.

Generated names (hypothesis) mix Rich/Textual markup (``[``, ``]``, ``[/]``,
``[bold]``, ``[link=…]``), backslashes, ``$`` template variables, and wide and emoji
characters. Each example loads a fresh config into a pilot and reads what is drawn.
"""

from __future__ import annotations

import asyncio
import json
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from textual.widgets._toast import Toast

from profiles.sessions.cache import SessionCache
from profiles.workspace import Workspace
from tests.tui_world import T0, Clock, flat, line_texts, row_text, seed, texts, until
from tui.board.app import RolecallApp
from tui.board.palette import RoleCommands
from tui.screens.confirm import replace_profile
from tui.screens.write import WriteModal

EXAMPLES = max(6, int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60")) // 6)
PIECES = st.sampled_from(["[", "]", "[/]", "[bold]", "[b]x[/b]", "[/b]", "\\", "[red]",
                          "]]", "[link=https://x]", "$name", "a", "dev", "-", "😀", "界",
                          "é", "x", "@"])
NAME = st.lists(PIECES, min_size=1, max_size=5).map(lambda p: "r" + "".join(p)).filter(
    lambda name: cell_len(name) <= 30)  # whole in the ROLE column (40 cells at most)
TAG = st.lists(PIECES, min_size=1, max_size=3).map("".join)
ACCOUNT = "111111111111"


def toml(text: str) -> str:
    """A TOML basic string (JSON's escapes, non-ASCII kept as it is)."""
    return json.dumps(text, ensure_ascii=False)


def write_world(world, profile: str, catalog_role: str, alias: str, tag: str) -> None:
    world.write_config(
        "[profile base]\nregion = us-east-1\n\n"
        f"[profile {profile}]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/R1\n"
        "source_profile = base\n")
    world.write_credentials("[base]\naws_access_key_id = AKIAX\naws_secret_access_key = s\n")
    world.catalog.write_text(
        f'[accounts."{ACCOUNT}"]\nalias = {toml(alias)}\ntags = {"[" + toml(tag) + "]"}\n'
        f"\n[roles.{toml(catalog_role)}]\nrole_arn = \"arn:aws:iam::{ACCOUNT}:role/R2\"\n"
        "source = \"base\"\n")


def toasts(app) -> str:
    return "\n".join(str(toast.render()) for toast in app.screen.query(Toast))


async def drive(world, clock: Clock) -> None:
    """Load the board and read every place a name is drawn."""
    ws = Workspace(clock=clock, cache=SessionCache(memory_only=True))
    names = sorted(ws.inventory.roles)
    for name in names:
        seed(ws, name, T0 + 600)
    account = ws.inventory.account(ACCOUNT)
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        screen = app.board_screen
        await screen.loaded()
        await pilot.pause()
        board = "\n".join(line_texts(app))
        assert account.alias in board and all(t in board for t in account.tags)
        for name in names:
            assert f"  {name} " in row_text(app, name), name
            screen.board.select(name)
            await pilot.pause()
            pane = screen.detail.plain
            assert flat(name) in flat(pane) and flat(account.alias or "") in flat(pane)
        # the status line with a filter typed (the query itself is user text)
        await pilot.press("slash")
        field = screen.filter_field()
        field.value = names[0]
        await pilot.pause()
        top = str(screen.query_one("#top").render())
        shown = screen.board.visible_names
        assert names[0] in shown and f"filter “{names[0]}”: {len(shown)} shown" in top
        await pilot.press("escape")
        # a notification naming the role, drawn
        screen.board.select(names[0])
        await pilot.press("x")
        await until(pilot, lambda: names[0] in toasts(app))
        assert f"forgot 1 session of {names[0]}" in toasts(app)
        # dialogs: the write dialog and the overwrite question
        await app.push_screen(WriteModal(names[-1], "~/.aws/credentials"))
        await pilot.pause()
        assert f"Write {names[-1]} to the credentials file" in texts(app.screen)
        app.screen.dismiss(None)
        await app.push_screen(replace_profile(names[-1], "~/.aws/credentials"))
        await pilot.pause()
        assert f"Replace profile [{names[-1]}]?" in texts(app.screen)
        assert f"[{names[-1]}] in ~/.aws/credentials" in texts(app.screen)
        app.screen.dismiss(False)
        await pilot.pause()
        # the palette's hits: literal text, the matched letters styled
        provider = RoleCommands(app.screen)
        for name in names:
            hits = [hit async for hit in provider.search(f"assume: {name}")]
            prompts = [str(hit.prompt) for hit in hits]
            assert f"assume: {name}" in prompts, (name, prompts)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(profile=NAME, catalog_role=NAME, alias=TAG, tag=TAG)
@example(profile="aaa[/]", catalog_role="team[dev]", alias="[operator]", tag="[bold]prod")
@example(profile="a\\[b]", catalog_role="r$name[/b]", alias="界😀", tag="[link=x]y")
def test_hostile_names_are_drawn_literally(offline_world, profile, catalog_role, alias, tag):
    if profile == catalog_role:
        return
    write_world(offline_world, profile, catalog_role, alias, tag)
    asyncio.run(drive(offline_world, Clock()))
