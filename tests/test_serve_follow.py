"""Long-lived servers follow the config: ``serve`` (and the board's endpoint, which uses
the same renewer) sees edits to the AWS files and the catalog as the next CLI command
would: a removed role is a 404, a re-pointed one gets a new session, a file that no
longer parses is its error until it is mended; and nothing is read again while nothing
changed."""

from __future__ import annotations

import json
import os
import time

from profiles.config import inventory
from profiles.config.follow import Follower
from tests.helpers import chain_config
from tests.test_serve import gate, get, started, workspace  # noqa: F401 - fixtures
from tests.test_serve_cli import (
    ask,
    served,  # noqa: F401 - a fixture
    start_serve,
    stop,
)


def settle(*paths) -> None:
    """Date the files a minute back, as files edited long ago (no sleep): the snapshot's
    stamp trusts only files older than a second."""
    past = time.time() - 60
    for path in paths:
        if path.exists():
            os.utime(path, (past, past))


def answer(url: str, token: str) -> tuple[int, dict]:
    """As an SDK asks: again while the endpoint says it is renewing (503; each request
    waits a bounded time for the renewal, so this is no sleep)."""
    for _ in range(40):
        status, body = ask(url, token)
        if status != 503:
            return status, body
    return status, body


def test_serve_answers_for_the_config_as_it_is_now(served):  # noqa: F811
    proc, base = start_serve(served)
    try:
        token = json.loads((served.home / "run" / "endpoint.json").read_text())["token"]
        assert answer(f"{base}/role/hop2", token)[0] == 200
        assert answer(f"{base}/role/hop3", token)[0] == 200
        other = served.moto.create_role("222222222222", "Elsewhere")
        text = served.config.read_text()
        start = text.index("[profile hop3]")
        text = text[:start]  # hop3 removed
        text = text.replace(text.split("[profile hop2]\nrole_arn = ")[1].split("\n")[0], other)
        served.config.write_text(text)
        status, body = answer(f"{base}/role/hop3", token)
        assert status == 404 and body["code"] == "RoleNotServed", body
        status, body = answer(f"{base}/role/hop2", token)
        assert status == 200 and body["RoleArn"] == other  # a new session, the new role
    finally:
        stop(proc)


def test_the_renewer_follows_the_files_and_the_catalog(world, gate, started):  # noqa: F811
    chain_config(world)
    world.catalog.write_text('[roles.cat1]\nrole_arn = "arn:aws:iam::333333333333:role/Hop3"\n'
                             'source = "hop1"\n')
    settle(world.config, world.credentials, world.catalog)
    ws = workspace()
    follow = Follower(ws.inventory)
    server = started(ws, follow=follow)
    for _ in range(20):
        assert get(server, "hop2")[0] == 200
        assert get(server, "cat1")[0] == 200
    assert follow.loads == 0  # nothing changed: nothing read again
    calls = gate.actions["AssumeRole"]
    world.catalog.write_text("")  # cat1 removed from the catalog
    status, raw, _ = get(server, "cat1")
    assert status == 404 and json.loads(raw)["code"] == "RoleNotServed"
    assert get(server, "hop2")[0] == 200 and gate.actions["AssumeRole"] == calls  # kept
    world.config.write_text("[profile hop2\nrole_arn = x\n")  # no longer parses
    status, raw, _ = get(server, "hop2")
    assert status == 500 and json.loads(raw)["code"] == "ConfigError"
    chain_config(world)  # mended
    status, raw, _ = get(server, "hop2")
    assert status == 200, raw


def test_a_follower_loads_again_only_when_a_file_changes(world):
    chain_config(world)
    settle(world.config, world.credentials)
    follow = Follower(inventory.load())
    first = follow.current()
    assert follow.current() is first and follow.loads == 0
    world.config.write_text(world.config.read_text() + "\n[profile extra]\nregion = x\n")
    assert follow.current() is not first and follow.loads == 1


def test_a_touched_file_that_says_the_same_changes_nothing(world):
    """A file just written (younger than a second) is read again on every look, but an
    equal inventory is not taken up: renewals under way are not dropped for nothing."""
    chain_config(world)
    follow = Follower(inventory.load())
    first = follow.current()
    os.utime(world.config)  # touched now: the stamp changes, the text does not
    assert follow.current() is first and follow.loads >= 1
