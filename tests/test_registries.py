"""Registries with a real ``git``: a bare repository at ``file://`` and ``git daemon``
on 127.0.0.1; ``rolecall`` run as a user runs it (a subprocess with its own HOME)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys

import pytest

from profiles.registries import copies
from tests.git_remote import Daemon, Remote, role
from tests.helpers import assert_fails, environ, ok_json

BASE = "[profile base]\nregion = us-east-1\n"
ACCOUNT = '[accounts."111111111111"]\nalias = "team-prod"\ntags = ["prod"]\n\n'


@pytest.fixture
def remote(tmp_path):
    return Remote(tmp_path / "remotes")


@pytest.fixture
def home(offline_world):
    offline_world.write_config(BASE)
    return offline_world


def roles(world, at: str | None = None) -> dict[str, dict]:
    proc = run_at(world, at, "list", "--json") if at else world.run("list", "--json")
    return {r["name"]: r for r in ok_json(proc)}


def run_at(world, offset: str, *args: str) -> subprocess.CompletedProcess:
    """``rolecall`` with its clock (and its children's) moved by ``offset`` (faketime)."""
    return subprocess.run(["faketime", "-f", offset, sys.executable, "-m", "tui", *args],
                          capture_output=True, text=True, env=environ(world), cwd=world.home,
                          stdin=subprocess.DEVNULL, timeout=120)


def test_add_shows_what_it_brings_then_merges_it(home, remote):
    commit = remote.commit({"catalog.toml": ACCOUNT + role("team-admin")
                            + role("team-read", source="team-admin")})
    home.catalog.write_text('# mine\n[settings]\nrefresh_window = "10m"\n')
    before = home.catalog.read_bytes()
    proc = home.run("registry", "add", "team", remote.url)
    assert proc.returncode == 0, proc.stderr
    assert f"registry team: 2 roles, 1 account from {remote.url} (HEAD at {commit[:12]}" \
        in proc.stdout
    for word in ("team-admin", "team-read", "111111111111 (team-prod)", "prod"):
        assert word in proc.stdout
    assert home.catalog.read_bytes().startswith(before)  # the user's bytes, then the table
    assert f'[registries.team]\nurl = "{remote.url}"\n' in home.catalog.read_text()
    listed = roles(home)
    assert listed["team-read"]["registry"] == "team"
    assert listed["team-read"]["chain"] == ["base", "team-admin", "team-read"]
    assert listed["team-admin"]["account_alias"] == "team-prod"
    shown = ok_json(home.run("registry", "list", "--json"))
    assert [(r["name"], r["commit"], r["roles"], r["accounts"]) for r in shown] == \
        [("team", commit, 2, 1)]


def test_dry_run_adds_nothing(home, remote):
    remote.commit({"catalog.toml": role("team-admin")})
    proc = home.run("registry", "add", "team", remote.url, "--dry-run")
    assert proc.returncode == 0 and "team-admin" in proc.stdout
    assert not home.catalog.exists()
    assert copies.copy_files(home.state) == []
    assert "team-admin" not in roles(home)


def test_a_new_commit_arrives_with_sync_and_list_sees_it(home, remote):
    remote.commit({"catalog.toml": role("one")})
    assert home.run("registry", "add", "team", remote.url).returncode == 0
    assert set(roles(home)) == {"one"}
    proc = home.run("registry", "sync")
    assert proc.returncode == 0 and "team: up to date at" in proc.stdout
    commit = remote.commit({"catalog.toml": role("one") + role("two")})
    proc = home.run("registry", "sync", "team")
    assert proc.returncode == 0, proc.stderr
    assert f"team: updated to {commit[:12]} (2 roles)" in proc.stdout
    assert set(roles(home)) == {"one", "two"}  # the snapshot saw the new copy


def test_git_daemon_on_loopback(home, remote, tmp_path):
    remote.commit({"catalog.toml": role("over-git")})
    with Daemon(remote.root) as daemon:
        proc = home.run("registry", "add", "team", daemon.url())
        assert proc.returncode == 0, proc.stderr
        remote.commit({"catalog.toml": role("over-git") + role("later")})
        assert home.run("registry", "sync").returncode == 0
    assert set(roles(home)) == {"over-git", "later"}


def test_an_unreachable_remote_keeps_the_last_good_copy(home, remote):
    remote.commit({"catalog.toml": role("kept")})
    with Daemon(remote.root) as daemon:
        assert home.run("registry", "add", "team", daemon.url()).returncode == 0
    proc = home.run("registry", "sync")  # the daemon is gone: connection refused
    assert proc.returncode == 1
    err = proc.stderr
    assert err.startswith("rolecall: registry team: cannot sync (keeping its copy of 20"), err
    assert "Traceback" not in err
    assert set(roles(home)) == {"kept"}
    listed = ok_json(home.run("registry", "list", "--json"))[0]
    assert listed["roles"] == 1 and listed["error"]
    assert "last sync failed" in home.run("registry", "list").stdout


def _wait_for_sync(world) -> None:
    """Block until the sync ``list`` started in the background has ended (it holds the
    sync lock until then)."""
    fd = os.open(copies.root(world.state) / "sync.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)


def test_list_syncs_once_a_day_in_the_background_and_says_a_failure_once(home, remote):
    remote.commit({"catalog.toml": role("first")})
    with Daemon(remote.root) as daemon:
        assert home.run("registry", "add", "team", daemon.url()).returncode == 0
        remote.commit({"catalog.toml": role("first") + role("second")})
        today = home.run("list", "--json")  # synced today: nothing starts
        assert today.returncode == 0 and today.stderr == ""
        assert not (copies.root(home.state) / "sync.lock").exists()
        later = run_at(home, "+25h", "list", "--json")  # a day on: the sync starts...
        assert {r["name"] for r in json.loads(later.stdout)} == {"first"}  # ...list goes on
        _wait_for_sync(home)
        assert set(roles(home, "+25h")) == {"first", "second"}
    remote.commit({"catalog.toml": role("third")})
    first = run_at(home, "+50h", "list")  # due again; the remote is gone
    assert first.returncode == 0 and "second" in first.stdout
    _wait_for_sync(home)
    said = run_at(home, "+50h", "list")
    assert said.returncode == 0
    assert said.stderr.startswith("rolecall: note: registry team could not be synced"), \
        said.stderr
    assert "its roles are from the copy of 20" in said.stderr
    assert "rolecall registry sync team" in said.stderr
    again = run_at(home, "+50h", "list")
    assert again.returncode == 0 and again.stderr == ""  # said once
    assert "second" in again.stdout


def test_two_registries_clash_unless_one_is_prefixed(home, tmp_path):
    a, b = Remote(tmp_path / "a", "a"), Remote(tmp_path / "b", "b")
    a.commit({"catalog.toml": role("deploy", "111111111111")})
    b.commit({"catalog.toml": role("deploy", "222222222222") + role("b-base")
              + role("reader", source="deploy")})
    assert home.run("registry", "add", "a", a.url).returncode == 0
    catalog = home.catalog.read_bytes()
    refused = assert_fails(home.run("registry", "add", "b", b.url), 2,
                           "registry b defines 1 role that registry a defines too: deploy",
                           "--prefix")
    assert "its roles become b/ROLE" in refused
    assert home.catalog.read_bytes() == catalog
    assert copies.copy_files(home.state) == [copies.copy_file("a", home.state)]
    proc = home.run("registry", "add", "b", b.url, "--prefix")
    assert proc.returncode == 0, proc.stderr
    listed = roles(home)
    assert set(listed) == {"deploy", "b/deploy", "b/b-base", "b/reader"}
    assert listed["deploy"]["account_id"] == "111111111111"
    assert listed["b/deploy"]["account_id"] == "222222222222"
    assert listed["b/reader"]["chain"] == ["base", "b/deploy", "b/reader"]  # its own source
    # a later commit to a third, unprefixed registry that defines "deploy" too
    c = Remote(tmp_path / "c", "c")
    c.commit({"catalog.toml": role("other")})
    assert home.run("registry", "add", "c", c.url).returncode == 0
    c.commit({"catalog.toml": role("other") + role("deploy", "333333333333")})
    assert home.run("registry", "sync", "c").returncode == 0
    clash = roles(home)["deploy"]
    assert clash["state"] == "broken" and clash["registry"] == "a"
    assert "role 'deploy' is defined by registries 'a' and 'c'" in clash["error"]
    assert "other" in roles(home)  # every other role works


def test_the_users_own_config_always_wins(home, remote):
    home.write_config(BASE + "[profile mine]\nrole_arn = arn:aws:iam::999999999999:role/Mine\n"
                      "source_profile = base\n")
    home.catalog.write_text('[accounts."111111111111"]\nalias = "my-alias"\n\n'
                            '[roles.annotated]\nregion = "eu-west-1"\n\n'
                            '[roles.replaced]\nrole_arn = "arn:aws:iam::888888888888:role/R"\n'
                            'source = "base"\n')
    remote.commit({"catalog.toml": ACCOUNT + role("mine") + role("annotated")
                   + role("replaced") + role("theirs")})
    proc = home.run("registry", "add", "team", remote.url)
    assert proc.returncode == 0, proc.stderr
    assert "3 of its roles are also yours (yours win): mine, annotated, replaced" in proc.stderr
    listed = roles(home)
    assert listed["mine"]["account_id"] == "999999999999" and listed["mine"]["registry"] is None
    assert listed["replaced"]["account_id"] == "888888888888"
    assert listed["replaced"]["registry"] is None
    assert listed["annotated"]["region"] == "eu-west-1"  # the registry's role, annotated
    assert listed["annotated"]["account_id"] == "111111111111"
    assert listed["theirs"]["account_alias"] == "my-alias"  # the user's alias wins...
    assert listed["theirs"]["tags"] == ["prod"]  # ...and the registry's tags fill the gap


def test_rm_removes_the_table_the_copy_and_the_roles(home, remote, tmp_path):
    remote.commit({"catalog.toml": role("gone")})
    other = Remote(tmp_path / "o", "other")
    other.commit({"catalog.toml": role("stays")})
    home.catalog.write_text("# my comment\n[settings]\nrefresh_window = \"10m\"  # ten\n")
    mine = home.catalog.read_text()
    assert home.run("registry", "add", "team", remote.url).returncode == 0
    assert home.run("registry", "add", "other", other.url, "--priority", "5").returncode == 0
    proc = home.run("registry", "rm", "team")
    assert proc.returncode == 0 and proc.stdout == "removed registry team (1 role)\n"
    text = home.catalog.read_text()
    assert text.startswith(mine) and "[registries.team]" not in text
    assert "[registries.other]" in text and "priority = 5" in text
    assert set(roles(home)) == {"stays"}
    assert not copies.copy_file("team", home.state).exists()
    assert not copies.git_dir("team", home.state).exists()
    assert_fails(home.run("registry", "rm", "team"), 2, "no registry named team")


def test_lint_reads_the_policies_the_registry_names(home, remote):
    open_policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    remote.commit({"teams/catalog.toml": role("admin", trust_policy='"../policies/a.json"')
                   + role("other", trust_policy='"../policies/missing.json"'),
                   "policies/a.json": open_policy})
    proc = home.run("registry", "add", "team", remote.url, "--path", "teams/catalog.toml")
    assert proc.returncode == 0, proc.stderr
    failed = assert_fails(home.run("lint", "--registry", "team"), 2,
                          "trust_policy of other", "policies/missing.json")
    assert "not in the repository" in failed
    remote.commit({"teams/catalog.toml": role("admin", trust_policy='"../policies/a.json"')})
    assert home.run("registry", "sync").returncode == 0
    proc = home.run("lint", "--registry", "team", "--json")
    assert proc.returncode == 1
    found = json.loads(proc.stdout)["findings"]
    assert [(f["id"], f["source"]) for f in found] == [("RC101", "registry team: policies/a.json")]
    assert_fails(home.run("lint", "--registry", "nope"), 2, "no registry named nope")


def test_completion_knows_the_commands_and_the_names(home, remote):
    remote.commit({"catalog.toml": role("x")})
    assert home.run("registry", "add", "team", remote.url).returncode == 0
    words = home.run("completion", "bash", "--candidates", "--", "registry", "").stdout.split()
    assert {"add", "list", "sync", "rm"} <= set(words)
    assert home.run("completion", "bash", "--candidates", "--", "registry", "rm",
                    "").stdout.split() == ["team"]
    assert home.run("completion", "bash", "--candidates", "--", "lint", "--registry",
                    "t").stdout.split() == ["team"]


def test_a_registry_written_by_hand_is_fetched_on_first_use(home, remote):
    """A new machine with the catalog from dotfiles: the first list fetches it."""
    remote.commit({"catalog.toml": role("from-dotfiles")})
    home.catalog.write_text(f'[registries.team]\nurl = "{remote.url}"\n')
    first = home.run("list")
    assert first.returncode == 0
    assert first.stderr.startswith("rolecall: note: registry team has no copy yet (not "
                                   "synced yet): fetching it in the background"), first.stderr
    _wait_for_sync(home)
    assert set(roles(home)) == {"from-dotfiles"}
    assert home.run("list").stderr == ""
