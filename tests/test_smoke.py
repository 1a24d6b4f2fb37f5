"""A first end-to-end pass: a 3-hop chain across three accounts, then a cache hit."""

import json

from tests.conftest import World

CHAIN = """\
[profile base]
region = us-east-1

[profile hop1]
role_arn = {a1}
source_profile = base

[profile hop2]
role_arn = {a2}
source_profile = hop1

[profile hop3]
role_arn = {a3}
source_profile = hop2
"""


def chain_world(world: World) -> None:
    arns = {f"a{i}": world.moto.create_role(f"{i}" * 12, f"Hop{i}") for i in (1, 2, 3)}
    world.write_config(CHAIN.format(**arns))
    world.base_profile()


def test_three_hop_chain_across_accounts_then_cache_hit(world):
    chain_world(world)
    first = world.run("assume", "hop3", "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert [h["arn"].split(":")[4] for h in data["chain"]] == ["111111111111", "222222222222",
                                                              "333333333333"]
    assert data["cached"] is False
    second = json.loads(world.run("assume", "hop3", "--json").stdout)
    assert second["cached"] is True
    assert second["assumed_role_arn"] == data["assumed_role_arn"]
