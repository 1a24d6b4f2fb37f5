"""`rolecall discover` (see docs/architecture.md, Console, discovery and long-lived keys):
Organizations ListAccounts (moto) through a role,
one proposed catalog role per active account, and `--write` keeping a hand-commented
catalog byte for byte."""

from __future__ import annotations

import random
import tomllib

import pytest

from tests.helpers import assert_fails, ok_json

HAND_MADE = """# rolecall catalog: edited by hand, keep every comment
[settings]
refresh_window = "10m"   # a trailing comment

# the production account, named by us
[accounts."{prod}"]
alias = "prod-by-hand"   # not the organization's name
tags = ["prod"]

[roles.hand-made]
# a comment inside a role
role_arn = "arn:aws:iam::{prod}:role/Hand"
source = "org"
"""


@pytest.fixture
def organization(world, moto):
    """An organization whose management account is new for this test: its accounts,
    one suspended, one with a hostile name; ``[profile org]`` reads it."""
    management = f"{random.randrange(10**11, 10**12):012d}"
    orgs = moto.client("organizations", management)
    orgs.create_organization(FeatureSet="ALL")
    made = {}
    for name in ("prod", "staging", 'evil"\n[roles.x]\nrole_arn = "y', "gone"):
        status = orgs.create_account(AccountName=name, Email=f"{len(made)}@example.com")
        made[name] = status["CreateAccountStatus"]["AccountId"]
    orgs.close_account(AccountId=made["gone"])
    world.base_profile("base", account=management)
    reader = moto.create_role(management, "OrgReader")
    world.write_config(f"[profile org]\nrole_arn = {reader}\nsource_profile = base\n"
                       "region = us-east-1\n")
    return management, made


def test_discover_proposes_one_role_per_active_account(world, organization, moto):
    management, made = organization
    root = moto.client("organizations", management).describe_account(
        AccountId=management)["Account"]["Name"]
    out = world.run("discover", "--role-name", "OrganizationAccountAccessRole",
                    "--source", "org")
    assert out.returncode == 0, out.stderr
    proposed = tomllib.loads(out.stdout)
    roles = proposed["roles"]
    assert set(roles) == {"prod-OrganizationAccountAccessRole",
                          "staging-OrganizationAccountAccessRole",
                          'evil" [roles.x] role_arn = "y-OrganizationAccountAccessRole',
                          f"{root}-OrganizationAccountAccessRole"}
    assert roles["prod-OrganizationAccountAccessRole"] == {
        "role_arn": f"arn:aws:iam::{made['prod']}:role/OrganizationAccountAccessRole",
        "source": "org"}
    assert proposed["accounts"][made["staging"]] == {"alias": "staging"}
    assert made["gone"] not in out.stdout  # suspended
    assert "4 active accounts: 4 new roles" in out.stderr


def test_write_keeps_a_hand_commented_catalog_byte_for_byte(world, organization):
    _, made = organization
    for newline in ("\n", "\r\n"):
        original = HAND_MADE.format(prod=made["prod"]).replace("\n", newline).encode()
        world.catalog.write_bytes(original)
        out = world.run("discover", "--role-name", "Admin", "--source", "org", "--write")
        assert out.returncode == 0, out.stderr
        assert "added 4 roles" in out.stdout
        after = world.catalog.read_bytes()
        assert after.startswith(original) and after.count(b"\r\n") == (
            after.count(b"\n") if newline == "\r\n" else 0)
        data = tomllib.loads(after.decode())
        assert data["accounts"][made["prod"]] == {"alias": "prod-by-hand", "tags": ["prod"]}
        assert "prod-by-hand-Admin" in data["roles"]  # the catalog's alias names it
        assert data["roles"]["hand-made"]["role_arn"].endswith(":role/Hand")
        again = world.run("discover", "--role-name", "Admin", "--source", "org", "--write")
        assert "added 0 roles" in again.stdout and world.catalog.read_bytes() == after
        rows = {r["name"]: r for r in ok_json(world.run("list", "--json"))}
        assert rows["staging-Admin"]["chain"][-2:] == ["org", "staging-Admin"]
        assert rows["staging-Admin"]["account_alias"] == "staging"


def test_discover_failures_are_clear(world, organization, moto):
    assert_fails(world.run("discover", "--role-name", "bad name!", "--source", "org"), 2,
                 "invalid role name")
    assert_fails(world.run("discover", "--role-name", "Admin", "--source", "nope"), 2,
                 "unknown role 'nope'")
    assert_fails(world.run("discover"), 2, "--role-name")
    loner = f"{random.randrange(10**11, 10**12):012d}"  # an account in no organization
    world.base_profile("alone", account=loner)
    out = world.run("discover", "--role-name", "Admin", "--source", "alone")
    assert_fails(out, 1, "in no organization")
