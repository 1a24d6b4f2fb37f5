"""Names that mean two things: a 12-digit word is an account id, never an alias; an alias
naming two accounts is refused where it selects; a ``--cwd`` field never expands (an
alias ``~`` is a directory named ``~``); ``write`` never quietly creates a credentials
section that changes how other roles chain."""

from __future__ import annotations

import json
import time

import pytest

from profiles.errors import UsageError
from profiles.ops.run import targets
from profiles.output import credfile
from tests.helpers import assert_fails, chain_config, ok_json
from tests.tui_world import Clock, texts, until, workspace
from tui.board.app import RolecallApp
from tui.screens.confirm import ConfirmModal
from tui.screens.write import WriteModal


def catalog(world, accounts: dict[str, str]) -> None:
    world.catalog.write_text("".join(f'[accounts."{a}"]\nalias = "{alias}"\n'
                                     for a, alias in accounts.items()))


# -- an account id is never an alias -----------------------------------------------------


def test_run_account_takes_a_12_digit_word_as_the_id(world):
    chain_config(world)  # hop1 in 111111111111, hop2 in 222222222222, hop3 in 333333333333
    catalog(world, {"333333333333": "222222222222"})  # an alias that reads as an id
    done = world.run("run", "--account", "222222222222", "--json", "--", "true")
    assert [r["role"] for r in ok_json(done)["results"]] == ["hop2"]
    done = world.run("run", "--account", "111111111111", "--account", "222222222222",
                     "--json", "--", "true")
    assert [r["role"] for r in ok_json(done)["results"]] == ["hop1", "hop2"]


def test_an_alias_naming_two_accounts_is_refused_where_it_selects(world):
    chain_config(world)
    catalog(world, {"111111111111": "shared", "222222222222": "shared",
                    "333333333333": "solo"})
    err = assert_fails(world.run("run", "--account", "shared", "--", "true"), 2,
                       "the alias 'shared' names 2 accounts", "111111111111",
                       "222222222222")
    assert "give the account id instead" in err
    assert_fails(world.run("audit", "--account", "shared"), 2, "names 2 accounts")
    done = world.run("run", "--account", "solo", "--json", "--", "true")
    assert [r["role"] for r in ok_json(done)["results"]] == ["hop3"]


# -- a field never expands ---------------------------------------------------------------


@pytest.mark.parametrize("alias", ["~", "~root", "~nobody", "$HOME", "${HOME}"])
def test_a_cwd_field_value_never_expands(tmp_path, alias):
    target = targets.Target("r", "111111111111", alias)
    assert targets.render_cwd("{account_alias}", target, tmp_path) == tmp_path / alias
    assert targets.render_cwd("deploy/{account_alias}/x", target, tmp_path) == \
        tmp_path / "deploy" / alias / "x"


def test_a_tilde_the_user_wrote_is_their_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    target = targets.Target("r", "111111111111", "~")
    assert targets.render_cwd("~/deploy/{account_alias}", target, tmp_path) == \
        tmp_path / "home" / "deploy" / "~"
    assert targets.render_cwd("~", target, tmp_path) == tmp_path / "home"
    assert targets.render_cwd("a/~/{account_id}", target, tmp_path) == \
        tmp_path / "a" / "~" / "111111111111"  # not at the start: a plain name
    with pytest.raises(UsageError, match="a field cannot name a home directory"):
        targets.render_cwd("~{account_alias}/x", target, tmp_path)


def test_run_in_a_directory_named_by_an_alias_tilde(world):
    chain_config(world)
    catalog(world, {"111111111111": "~"})
    (world.home / "~").mkdir()  # rolecall runs in HOME here: ~ would be HOME itself
    done = world.run("run", "hop1", "--cwd", "{account_alias}", "--json", "--", "pwd")
    (result,) = ok_json(done)["results"]
    assert result["status"] == "ok", result
    assert result["output"].strip() == str(world.home / "~")


# -- write never quietly re-routes another role's chain -----------------------------------


def test_write_refuses_a_section_other_roles_chain_from(world):
    chain_config(world)  # hop2's source_profile is hop1, hop3's is hop2
    assert world.run("assume", "hop1").returncode == 0
    before = world.credentials.read_bytes()
    err = assert_fails(world.run("write", "hop1"), 2, "profile 'hop1' is the source_profile "
                       "of hop2", "--force", "--as hop1-session", "1-hour session")
    assert "hop3" not in err.splitlines()[0]  # only who chains from it directly
    assert world.credentials.read_bytes() == before  # nothing written
    assert_fails(world.run("write", "hop3", "--as", "hop2"), 2, "source_profile of hop3")
    assert world.run("write", "hop1", "--as", "hop1-session").returncode == 0
    done = world.run("write", "hop1", "--force")
    assert done.returncode == 0, done.stderr
    assert "hop1" in {s.name for s in credfile.managed()}
    # now hop2 chains from the written keys, as botocore would; writing again says nothing
    assert world.run("write", "hop1").returncode == 0
    listed = {r["name"]: r for r in json.loads(world.run("list", "--json").stdout)}
    assert listed["hop2"]["chain"][0] == "hop1"


async def test_the_board_asks_before_writing_such_a_section(world):
    chain_config(world)
    clock = Clock(time.time())
    ws = workspace(clock)
    ws.assume("hop1")
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await app.board_screen.loaded()
        app.board_screen.board.select("hop1")
        await pilot.press("w")
        assert isinstance(app.screen, WriteModal)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        asked = texts(app.screen)
        assert "Write profile [hop1]?" in asked and "source_profile of hop2" in asked
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmModal))
        assert not credfile.managed()
        await pilot.press("w")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await until(pilot, lambda: "hop1" in app.board_screen.board.rows["hop1"].profiles)
    assert [s.name for s in credfile.managed()] == ["hop1"]

