"""A registry is someone else's text reached through someone else's server: hostile
catalogs, paths, URLs, refs and remotes, each refused in one clear line (or kept to the
role it spoils), with the last good copy kept and nothing of the user's touched."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from profiles.registries import copies, git, spec, sync
from tests.git_remote import Daemon, Remote, role
from tests.helpers import assert_fails, ok_json

BASE = "[profile base]\nregion = us-east-1\n"


@pytest.fixture
def remote(tmp_path):
    return Remote(tmp_path / "remotes")


@pytest.fixture
def home(offline_world):
    offline_world.write_config(BASE)
    return offline_world


def nothing_added(world) -> None:
    assert not world.catalog.exists() or "registries" not in world.catalog.read_text()
    assert copies.copy_files(world.state) == []


def no_raw_controls(text: str) -> None:
    assert not any(ord(c) < 32 and c != "\n" or 0x7f <= ord(c) < 0xa0 for c in text), text


@pytest.mark.parametrize("name", ["a\u001b]0;pwned\u0007", "line\nbreak", "bidi\u202eevil",
                                  "nul\u0000"])
def test_control_characters_in_a_name_refuse_the_copy(home, remote, name):
    remote.commit({"catalog.toml": role(name)})
    err = assert_fails(home.run("registry", "add", "team", remote.url), 2,
                       "registry team: catalog.toml: role", "control or line-separator")
    no_raw_controls(err)
    nothing_added(home)


def test_a_bad_sync_keeps_the_last_good_copy(home, remote):
    remote.commit({"catalog.toml": role("good")})
    assert home.run("registry", "add", "team", remote.url).returncode == 0
    remote.commit({"catalog.toml": role("good") + role("bad\u001b[2J")})
    proc = home.run("registry", "sync")
    assert proc.returncode == 1
    assert proc.stderr.startswith("rolecall: registry team: cannot sync (keeping its copy of")
    no_raw_controls(proc.stderr)
    assert [r["name"] for r in ok_json(home.run("list", "--json"))] == ["good"]
    remote.commit({"catalog.toml": "[roles.x\n"})  # not TOML: the position, never the text
    proc = home.run("registry", "sync")
    assert proc.returncode == 1 and "invalid TOML at line 1, column 9" in proc.stderr
    assert [r["name"] for r in ok_json(home.run("list", "--json"))] == ["good"]


def test_brackets_in_names_are_shown_literally(home, remote):
    remote.commit({"catalog.toml": role("a]b[/red]c") + role("[settings]")})
    proc = home.run("registry", "add", "team", remote.url)
    assert proc.returncode == 0, proc.stderr
    assert "a]b[/red]c" in proc.stdout
    names = [r["name"] for r in ok_json(home.run("list", "--json"))]
    assert sorted(names) == ["[settings]", "a]b[/red]c"]


@pytest.mark.parametrize(("text", "needle"), [
    ('[settings]\nrefresh_window = "1s"\n', "a registry cannot set [settings]"),
    ('[registries.more]\nurl = "https://example.com/x.git"\n',
     "a registry cannot add registries"),
    ("[extra]\nx = 1\n", "unknown table [extra]"),
    ('[accounts."12"]\nalias = "x"\n', "account ids are 12 digits"),
])
def test_tables_a_registry_may_not_hold(home, remote, text, needle):
    remote.commit({"catalog.toml": role("x") + text})
    assert_fails(home.run("registry", "add", "team", remote.url), 2, needle)
    nothing_added(home)


def test_a_huge_catalog_is_refused_before_it_is_read(home, remote):
    remote.commit({"catalog.toml": b"# " + b"x" * (9 * 1024 * 1024) + b"\n"})
    assert_fails(home.run("registry", "add", "team", remote.url), 2,
                 "catalog.toml is 9437187 bytes; rolecall reads at most 8388608")
    nothing_added(home)


def test_symlinks_never_lead_out_of_the_repository(home, remote, tmp_path):
    secret = tmp_path / "secret.toml"
    secret.write_text(role("stolen"))
    remote.commit({"real/catalog.toml": role("x")},
                  symlinks={"catalog.toml": str(secret), "outside": str(tmp_path),
                            "loop.toml": "../../../../etc/passwd"})
    assert_fails(home.run("registry", "add", "team", remote.url), 2,
                 "catalog.toml is a symbolic link in the repository")
    assert_fails(home.run("registry", "add", "team", remote.url, "--path",
                          "outside/secret.toml"), 2, "is not in the repository")
    assert_fails(home.run("registry", "add", "team", remote.url, "--path", "loop.toml"), 2,
                 "is a symbolic link")
    assert_fails(home.run("registry", "add", "team", remote.url, "--path", "real"), 2,
                 "real is a directory in the repository")
    for path in ("../secret.toml", "/etc/passwd", "real/../catalog.toml", "real//catalog.toml"):
        assert_fails(home.run("registry", "add", "team", remote.url, f"--path={path}"), 2,
                     "is not a path inside the repository")
    nothing_added(home)


def test_a_fifo_in_place_of_the_copy_never_hangs(home, remote):
    remote.commit({"catalog.toml": role("x")})
    assert home.run("registry", "add", "team", remote.url).returncode == 0
    copy = copies.copy_file("team", home.state)
    copy.unlink()
    os.mkfifo(copy)
    listed = home.run("list", "--json", timeout=30)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    problem = ok_json(home.run("registry", "list", "--json", timeout=30))[0]["problem"]
    assert "is a fifo" in problem
    proc = home.run("registry", "sync", timeout=30)
    assert proc.returncode == 1 and "is a fifo" in proc.stderr
    assert stat.S_ISFIFO(os.lstat(copy).st_mode)  # refused, not replaced
    assert home.run("registry", "rm", "team", timeout=30).returncode == 0
    assert not os.path.lexists(copy)


@pytest.mark.parametrize("url", ["--upload-pack=touch {pwned}", "-utouch {pwned}",
                                 "ext::sh -c touch% {pwned}", "fd::17",
                                 "https://user:hunter2@example.com/x.git"])
def test_urls_that_would_run_commands_or_leak_a_password(home, tmp_path, url):
    pwned = tmp_path / "pwned"
    url = url.format(pwned=pwned)
    err = assert_fails(home.run("registry", "add", "team", "--", url), 2)
    assert "hunter2" not in err
    assert not pwned.exists()
    nothing_added(home)


@pytest.mark.parametrize("ref", ["--upload-pack=touch /tmp/x", "-x", "a..b", "main:other",
                                 "a b", "x.lock", "@{-1}", "refs//heads"])
def test_refs_that_are_options_or_not_names(home, remote, ref):
    remote.commit({"catalog.toml": role("x")})
    assert_fails(home.run("registry", "add", "team", remote.url, f"--ref={ref}"), 2,
                 "is not a branch, tag or commit name")
    nothing_added(home)


def test_git_config_cannot_turn_ext_back_on(tmp_path, monkeypatch):
    """The ext:: transport stays off even where the user's git config allows it."""
    pwned = tmp_path / "pwned"
    config = tmp_path / "gitconfig"
    config.write_text("[protocol]\n\tallow = always\n[protocol \"ext\"]\n\tallow = always\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    with pytest.raises(git.GitError):
        git.fetch(tmp_path / "repo.git", f"ext::sh -c touch% {pwned}", None)
    assert not pwned.exists()


def test_roles_that_point_outside_or_read_the_environment_are_broken(home, remote):
    remote.commit({"catalog.toml": role("ok")
                   + role("escape", trust_policy='"../../etc/passwd"')
                   + role("absolute", trust_policy='"/etc/passwd"')
                   + role("home", trust_policy='"~/.aws/credentials"')
                   + role("leak", session_name='"x-{env:AWS_SECRET_ACCESS_KEY}"')
                   + role("leak2", source_identity='"{env:HOME}"')})
    assert home.run("registry", "add", "team", remote.url).returncode == 0
    listed = {r["name"]: r for r in ok_json(home.run("list", "--json"))}
    assert listed["ok"]["state"] == "none"
    assert "outside the registry's repository" in listed["escape"]["error"]
    for name in ("absolute", "home"):
        assert "relative to the catalog" in listed[name]["error"]
    for name in ("leak", "leak2"):
        assert "reads an environment variable" in listed[name]["error"]
        assert listed[name]["registry"] == "team"


def _spy(tmp_path: Path, body: str) -> dict[str, str]:
    """A git remote helper ``git-remote-spy`` on PATH (git runs it for spy:: URLs)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "git-remote-spy"
    helper.write_text(f"#!{sys.executable}\n{body}")
    helper.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_git_runs_with_no_credentials_no_repository_variables_and_no_terminal(
        home, tmp_path):
    seen = tmp_path / "seen.json"
    path = _spy(tmp_path, f"""
import json, os, sys
try:
    os.close(os.open("/dev/tty", os.O_RDWR))
    tty = True
except OSError:
    tty = False
json.dump({{"env": dict(os.environ), "tty": tty}}, open({str(seen)!r}, "w"))
sys.exit(1)
""")
    proc = home.run("registry", "add", "team", "spy::anything", env={
        **path, "AWS_SECRET_ACCESS_KEY": "not-for-git", "AWS_PROFILE": "prod",
        "GIT_DIR": str(tmp_path / "elsewhere"), "GIT_ASKPASS": "/bin/false"})
    assert proc.returncode == 1 and proc.stderr.startswith("rolecall: "), proc.stderr
    found = json.loads(seen.read_text())
    env = found["env"]
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "GIT_ASKPASS"):
        assert name not in env
    assert env.get("GIT_DIR") != str(tmp_path / "elsewhere")  # git sets its own
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert found["tty"] is False
    nothing_added(home)


def test_a_remote_that_never_answers_is_cut_off_at_the_bound(home, tmp_path):
    registry = spec.make("slow", "spy::x")
    held = tmp_path / "held"
    path = _spy(tmp_path, f"""
import fcntl, time
fd = open({str(held)!r}, "w")
fcntl.flock(fd, fcntl.LOCK_EX)  # held until this helper ends
time.sleep(600)
""")
    os.environ["PATH"] = path["PATH"]
    try:
        outcome = sync.sync(registry, state_dir=home.state, timeout=2)
    finally:
        os.environ["PATH"] = path["PATH"].split(":", 1)[1]
    assert not outcome.ok and outcome.kept is None
    assert outcome.error.message == "git did not finish within 2s"
    ended = threading.Thread(target=_lock, args=(held,), daemon=True)
    ended.start()
    ended.join(30)
    assert not ended.is_alive(), "git's remote helper outlived the bound"
    status = copies.statuses(home.state)["slow"]
    assert status["error"] == "git did not finish within 2s" and not status["reported"]


def _lock(path: Path) -> None:
    with open(path) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)


def test_a_silent_git_daemon_keeps_the_copy_it_had(home, remote, tmp_path):
    remote.commit({"catalog.toml": role("kept")})
    good = spec.make("team", remote.url)
    assert sync.sync(good, state_dir=home.state).ok
    with Daemon(tmp_path, silent=True) as daemon:
        hanging = spec.make("team", daemon.url())
        copy = copies.read("team", home.state)
        outcome = sync.sync(hanging, state_dir=home.state, timeout=2)
    assert not outcome.ok and "did not finish within 2s" in outcome.error.message
    assert copies.read("team", home.state) == copy  # untouched


def test_what_the_remote_says_reaches_the_terminal_escaped(home, tmp_path):
    path = _spy(tmp_path, r"""
import sys
sys.stderr.write("remote: \x1b[2J\x1b]52;c;cHduZWQ=\x07 hello\n")
sys.stderr.write("fatal: the server says \x1b]0;pwned\x07\u202edesrever\n")
sys.exit(128)
""")
    proc = home.run("registry", "add", "team", "spy::x", env=path)
    err = assert_fails(proc, 1, "the server says \\x1b]0;pwned\\x07\\u202edesrever")
    no_raw_controls(err)
    assert "\u202e" not in err
