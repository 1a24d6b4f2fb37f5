"""Malformed configuration and bad input: exit 2, one ``rolecall: `` line, no traceback.

None of these may reach STS or the keyring: the offline world points AWS at a closed
port, so a case that slipped past the checks would fail with exit 1 instead."""

from __future__ import annotations

import pytest

from profiles.config import inventory
from profiles.errors import ConfigError
from tests.helpers import assert_fails, run_detached

ARN = "arn:aws:iam::111111111111:role/{}"
GOOD = f"""\
[profile base]
region = us-east-1

[profile one]
role_arn = {ARN.format('One')}
source_profile = base

[profile two]
role_arn = {ARN.format('Two')}
source_profile = one
"""
KEYS = "[base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n"


def _profile(name: str, body: str) -> str:
    return f"\n[profile {name}]\n{body}\n"


# (id, extra config, catalog text, credentials text or None for KEYS, argv, needles)
CASES = [
    ("cycle", _profile("a", f"role_arn = {ARN.format('A')}\nsource_profile = b")
     + _profile("b", f"role_arn = {ARN.format('B')}\nsource_profile = a"),
     "", None, ["assume", "a"], ["cycle", "config"]),
    ("self-cycle", _profile("a", f"role_arn = {ARN.format('A')}\nsource_profile = a"),
     "", None, ["assume", "a"], ["cycle"]),
    ("missing-source", _profile("a", f"role_arn = {ARN.format('A')}\nsource_profile = nope"),
     "", None, ["assume", "a"], ["'nope'", "'a'"]),
    ("both-sources", _profile("a", f"role_arn = {ARN.format('A')}\nsource_profile = base\n"
                                   "credential_source = Environment"),
     "", None, ["assume", "a"], ["both source_profile and credential_source", "'a'"]),
    ("no-source", _profile("a", f"role_arn = {ARN.format('A')}"), "", None, ["assume", "a"],
     ["no source_profile"]),
    ("bad-credential-source", _profile("a", f"role_arn = {ARN.format('A')}\n"
                                            "credential_source = Laptop"),
     "", None, ["assume", "a"], ["credential_source"]),
    ("malformed-arn", _profile("a", "role_arn = arn:aws:iam::1234:role/A\nsource_profile = base"),
     "", None, ["assume", "a"], ["malformed role_arn", "'a'"]),
    ("bad-duration-seconds", _profile("a", f"role_arn = {ARN.format('A')}\n"
                                           "source_profile = base\nduration_seconds = soon"),
     "", None, ["assume", "a"], ["duration_seconds"]),
    ("bad-mfa-mode", _profile("a", f"role_arn = {ARN.format('A')}\nsource_profile = base\n"
                                   "mfa_mode = sometimes"), "", None, ["assume", "a"],
     ["mfa_mode"]),
    ("broken-ini", "\n[profile broken\nregion = x\n", "", None, ["list"], ["cannot parse"]),
    ("broken-credentials-ini", "", "", "aws_access_key_id = orphan\n", ["list"],
     ["cannot parse", "credentials"]),
    ("broken-toml", "", "[settings\nrefresh_window = 5m\n", None, ["list"],
     ["cannot parse", "rolecall.toml"]),
    ("unknown-catalog-role-key", "", f'[roles.x]\nrole_arn = "{ARN.format("X")}"\n'
     'source = "base"\ncolour = "red"\n', None, ["assume", "x"],
     ["unknown key 'colour'", "roles.x"]),
    ("unknown-settings-key", "", '[settings]\nrefresh = "5m"\n', None, ["list"],
     ["unknown key 'refresh'"]),
    ("unknown-catalog-table", "", '[profiles.x]\nrole_arn = "x"\n', None, ["list"],
     ["unknown table"]),
    ("catalog-role-without-source", "", f'[roles.x]\nrole_arn = "{ARN.format("X")}"\n',
     None, ["assume", "x"], ["no source"]),
    ("catalog-bad-max-duration", "", f'[roles.x]\nrole_arn = "{ARN.format("X")}"\n'
     'source = "base"\nmax_duration = "forever"\n', None, ["assume", "x"], ["max_duration"]),
    ("catalog-bad-account-id", "", '[accounts."prod"]\nalias = "prod"\n', None, ["list"],
     ["12 digits"]),
    ("catalog-unknown-account-key", "", '[accounts."111111111111"]\naudit-role = "x"\n', None,
     ["list"], ["unknown key 'audit-role'", "known keys: alias, audit_role, tags"]),
    ("catalog-audit-role-not-text", "", '[accounts."111111111111"]\naudit_role = 7\n', None,
     ["list"], ["audit_role must be a string"]),
    ("catalog-audit-role-empty", "", '[accounts."111111111111"]\naudit_role = ""\n', None,
     ["list"], ["audit_role is empty"]),
    ("unknown-role", "", "", None, ["assume", "ghost"], ["unknown role 'ghost'"]),
    ("base-is-not-a-role", "", "", None, ["assume", "base"], ["base identity"]),
    ("duration-10m", "", "", None, ["assume", "one", "--duration", "10m"], ["10m"]),
    ("duration-13h", "", "", None, ["assume", "one", "--duration", "13h"], ["13h"]),
    ("duration-abc", "", "", None, ["assume", "one", "--duration", "abc"], ["'abc'"]),
    ("duration-1h1h", "", "", None, ["assume", "one", "--duration", "1h1h"], ["'1h1h'"]),
    ("chained-2h", "", "", None, ["assume", "two", "--duration", "2h"], ["1 hour", "chaining"]),
    ("over-max-duration", "", '[roles.one]\nmax_duration = "1h"\n', None,
     ["assume", "one", "--duration", "2h"], ["MaxSessionDuration"]),
    ("session-name-illegal", "", "", None, ["assume", "one", "--session-name", "bad name!"],
     ["invalid session name"]),
    ("session-name-short", "", "", None, ["assume", "one", "--session-name", "x"],
     ["invalid session name"]),
    ("session-name-bad-template", "", "", None, ["assume", "one", "--session-name", "{nope}"],
     ["{nope}"]),
    ("bad-mfa-code", "", "", None, ["assume", "one", "--mfa-code", "12ab56"], ["6 digits"]),
    ("env-unknown-format", "", "", None, ["env", "one", "--format", "csh"], ["csh"]),
    ("env-unknown-format-fast", "", "", None, ["env", "one", "-f", "tcsh"], ["tcsh"]),
    ("unknown-command", "", "", None, ["frobnicate"], ["frobnicate"]),
    ("write-illegal-name", "", "", None, ["write", "one", "--as", "bad name"],
     ["invalid profile name"]),
    ("write-bracket-name", "", "", None, ["write", "one", "--as", "x]y"],
     ["invalid profile name"]),
    ("forget-neither", "", "", None, ["forget"], ["--all"]),
    ("forget-both", "", "", None, ["forget", "one", "--all"], ["--all"]),
    ("forget-unknown", "", "", None, ["forget", "ghost"], ["unknown role"]),
    ("exec-no-command", "", "", None, ["exec", "one"], ["no command"]),
    ("process-unknown-role", "", "", None, ["process", "ghost"], ["unknown role"]),
    ("missing-argument", "", "", None, ["assume"], ["ROLE"]),
]


@pytest.mark.parametrize("extra,catalog,credentials,argv,needles",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_input_exits_2_with_one_line(offline_world, extra, catalog, credentials,
                                               argv, needles):
    offline_world.write_config(GOOD + extra)
    offline_world.write_credentials(KEYS if credentials is None else credentials)
    if catalog:
        offline_world.catalog.write_text(catalog)
    assert_fails(offline_world.run(*argv), 2, *needles)


def test_mfa_needed_without_a_terminal_says_how_to_pass_the_code(offline_world):
    offline_world.write_config(GOOD + _profile(
        "mfa", f"role_arn = {ARN.format('M')}\nsource_profile = base\n"
               "mfa_serial = arn:aws:iam::000000000000:mfa/me"))
    offline_world.write_credentials(KEYS)
    err = assert_fails(run_detached(offline_world, "assume", "mfa"), 2, "--mfa-code")
    assert "arn:aws:iam::000000000000:mfa/me" in err


def test_config_error_names_file_profile_and_fix(tmp_path):
    config = tmp_path / "config"
    config.write_text(_profile("x", "role_arn = nonsense\nsource_profile = base"))
    inv = inventory.load(config, tmp_path / "credentials", tmp_path / "none.toml")
    with pytest.raises(ConfigError) as caught:
        inv.role("x")
    assert str(config) in caught.value.message and "'x'" in caught.value.message
    assert caught.value.fix and caught.value.exit_code == 2


def test_good_config_loads_chain_catalog_aliases_and_settings(tmp_path):
    config = tmp_path / "config"
    config.write_text(GOOD + _profile("m", f"role_arn = {ARN.format('M')}\nsource_profile = one"
                                           "\nduration_seconds = 7200\nexternal_id = ext"))
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[settings]\nrefresh_window = "10m"\nmfa_mode = "direct"\n'
        'session_name = "{user}-{profile}"\n\n'
        '[accounts."111111111111"]\nalias = "prod"\ntags = ["prod"]\n\n'
        f'[roles.deploy]\nrole_arn = "{ARN.format("Deploy")}"\nsource = "two"\n'
        'max_duration = "4h"\n')
    inv = inventory.load(config, tmp_path / "credentials", catalog)
    base, hops = inv.chain("deploy")
    assert base.name == "base" and [h.name for h in hops] == ["one", "two", "deploy"]
    assert inv.roles["deploy"].max_duration == 4 * 3600
    assert inv.roles["m"].duration == 7200 and inv.roles["m"].external_id == "ext"
    assert inv.settings.refresh_window == 600 and inv.settings.mfa_mode == "direct"
    assert inv.account("111111111111").alias == "prod"
    assert inv.account("111111111111").tags == ("prod",)
    assert "base" in inv.bases and "base" not in inv.roles
