"""Merging registries' copies (written as a sync writes them; no git here): accounts key
by key, priorities, prefixes, and the inventory snapshot following the copies."""

from __future__ import annotations

import os
import time

import pytest

from profiles.config import inventory, snapshot
from profiles.registries import copies, policies
from tests.git_remote import role


@pytest.fixture
def home(offline_world):
    offline_world.write_config("[profile base]\nregion = us-east-1\n")
    return offline_world


def registries(world, *entries: tuple[str, str, str]) -> None:
    """Registries ``(name, extra TOML keys, catalog text)``, configured and copied."""
    table = ""
    for name, keys, text in entries:
        url = f"https://example.com/{name}.git"
        table += f'[registries.{name}]\nurl = "{url}"\n{keys}\n'
        copies.write(name, copies.Copy(url, None, "catalog.toml", "1" * 40, time.time(), text),
                     world.state)
    world.catalog.write_text(table)


def test_accounts_merge_key_by_key(home):
    registries(home,
               ("a", "", '[accounts."111111111111"]\nalias = "prod"\ntags = ["prod"]\n'
                '[accounts."222222222222"]\nalias = "dev"\naudit_role = "auditor"\n'
                + role("auditor", "222222222222")),
               ("b", "prefix = true", '[accounts."111111111111"]\nalias = "production"\n'
                'tags = ["pci", "prod"]\n[accounts."333333333333"]\naudit_role = "auditor"\n'
                + role("auditor", "333333333333")))
    inv = inventory.load()
    prod = inv.accounts["111111111111"]
    assert prod.alias is None and prod.tags == ("prod", "pci")  # a clash: neither alias
    assert inv.accounts["222222222222"].audit_role == "auditor"
    assert inv.accounts["333333333333"].audit_role == "b/auditor"  # its own role, prefixed
    clash = "account 111111111111: alias 'prod' (a) and 'production' (b) disagree"
    assert any(clash in note for note in inv.registries["a"].notes)
    assert any(clash in note for note in inv.registries["b"].notes)
    # the user's own alias settles it
    home.catalog.write_text('[accounts."111111111111"]\nalias = "mine"\n\n'
                            + home.catalog.read_text())
    inv = inventory.load()
    assert inv.accounts["111111111111"].alias == "mine"
    assert not any("disagree" in n for n in inv.registries["a"].notes)


def test_priority_orders_the_registries(home):
    registries(home, ("low", "priority = -1", role("x")), ("high", "priority = 7", role("y")),
               ("mid", "", role("z")))
    inv = inventory.load()
    assert list(inv.registries) == ["high", "mid", "low"]
    assert [inv.roles[n].registry for n in ("x", "y", "z")] == ["low", "high", "mid"]


def test_a_copy_of_another_url_or_a_missing_one_is_not_used(home):
    registries(home, ("team", "", role("x")))
    home.catalog.write_text(home.catalog.read_text().replace("team.git", "other.git"))
    inv = inventory.load()
    assert "x" not in inv.roles
    assert inv.registries["team"].problem == \
        "its copy was fetched from another URL, ref or path"
    copies.remove("team", home.state)
    assert inventory.load().registries["team"].problem == "not synced yet"


def test_bad_registries_tables_in_the_users_catalog_are_config_errors(home):
    from profiles.errors import ConfigError

    for text, needle in (('[registries.x]\nref = "main"\n', "has no url"),
                         ('[registries."a b"]\nurl = "u"\n', "is not a registry name"),
                         ('[registries.x]\nurl = "--upload-pack=x"\n', "may not start with"),
                         ('[registries.x]\nurl = "u"\npriority = true\n', "priority"),
                         ('[registries.x]\nurl = "u"\nbogus = 1\n', "unknown key 'bogus'"),
                         ('registries = 3\n', "[registries] must be a table")):
        home.catalog.write_text(text)
        with pytest.raises(ConfigError, match=needle.replace("[", r"\[")):
            inventory.load()


def test_the_snapshot_follows_the_copies(home):
    registries(home, ("team", "", role("first")))
    old = time.time() - 10
    for path in (home.config, home.catalog, copies.copy_file("team", home.state)):
        os.utime(path, (old, old))
    assert set(snapshot.load().roles) == {"first"}
    cached = snapshot.read()
    assert cached is not None and cached.roles["first"].registry == "team"
    assert cached.registries["team"].roles == 1
    url = "https://example.com/team.git"
    copies.write("team", copies.Copy(url, None, "catalog.toml", "2" * 40, time.time(),
                                     role("first") + role("second")), home.state)
    assert snapshot.read() is None  # a new copy: a new stamp
    assert set(snapshot.load().roles) == {"first", "second"}
    copies.remove("team", home.state)
    assert snapshot.read() is None
    assert set(snapshot.load().roles) == set()


def test_trust_policies_come_from_the_copy_unless_the_user_names_their_own(home):
    url = "https://example.com/team.git"
    policy = '{"Version": "2012-10-17", "Statement": []}'
    home.catalog.write_text(f'[registries.team]\nurl = "{url}"\n')
    copies.write("team", copies.Copy(url, None, "teams/catalog.toml", "1" * 40, time.time(),
                                     role("theirs", trust_policy='"../p/t.json"')
                                     + role("mine", trust_policy='"../p/t.json"'),
                                     {"p/t.json": policy}), home.state)
    home.catalog.write_text(home.catalog.read_text().replace(
        "\n", '\npath = "teams/catalog.toml"\n', 1)
        + '\n[roles.mine]\ntrust_policy = "policies/mine.json"\n')
    inv = inventory.load()
    theirs, mine = inv.roles["theirs"], inv.roles["mine"]
    assert theirs.trust_policy == "p/t.json"
    assert policies.of_role(theirs).label == "registry team: p/t.json"
    assert mine.registry == "team"  # annotated by the user, still the registry's role
    assert mine.trust_policy == str(home.catalog.parent / "policies/mine.json")
    assert policies.named(inv, "team") == {"p/t.json": ["theirs"]}
