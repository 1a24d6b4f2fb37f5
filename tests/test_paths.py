"""Where rolecall's state and catalog live by default: ``profiles/xdg.py`` answers as
platformdirs does on Linux, for every environment (generated), without importing it; the
hot path under the defaults imports only the standard library, jeepney and its own few
modules."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import platformdirs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles import paths, xdg
from profiles.errors import UsageError
from profiles.sessions import fastpath
from tests.helpers import assert_fails, chain_config, environ, ok_json

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
UNSET = None
MOVED = ("ROLECALL_STATE_DIR", "ROLECALL_CONFIG", "XDG_STATE_HOME", "XDG_CONFIG_HOME",
         "ANDROID_DATA", "ANDROID_ROOT", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")

# Text an environment variable can hold: anything but NUL (and lone surrogates, which
# os.environ cannot encode), so line breaks, quotes, markup, spaces and unicode.
odd = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
              max_size=8)
absolute = st.builds(lambda lead, parts, tail: lead + "/".join(parts) + tail,
                     st.sampled_from(["/", "//", "///"]), st.lists(odd, max_size=3),
                     st.sampled_from(["", "/", "//"]))
relative = st.one_of(odd.filter(lambda v: not v.startswith("/")),
                     st.builds(lambda v: "~/" + v, odd), st.builds(lambda v: " /" + v, odd))
values = st.one_of(st.just(UNSET), st.just(""), st.just(" "), relative, absolute)
# The passwd entry, used when HOME is unset, empty or relative: real, missing, or odd.
passwd = st.one_of(st.just("real"), st.just(KeyError), st.just(""), relative, absolute)


@contextlib.contextmanager
def environment(entry, **variables: str | None):
    """``os.environ`` with ``variables`` (None: unset) and the passwd entry ``entry``."""
    real = __import__("pwd").getpwuid

    def getpwuid(uid: int):
        if entry is KeyError:
            raise KeyError(uid)
        return real(uid) if entry == "real" else SimpleNamespace(pw_dir=entry)

    with mock.patch.dict(os.environ), mock.patch("pwd.getpwuid", getpwuid):
        for name in MOVED:
            os.environ.pop(name, None)
        for name, value in variables.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield


def outcome(call):
    try:
        return call()
    except RuntimeError:  # platformdirs' and xdg.HomeUnknown alike: no home
        return RuntimeError


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(home=values, state=values, config=values, entry=passwd)
def test_dirs_equal_platformdirs_for_any_environment(home, state, config, entry):
    with environment(entry, HOME=home, XDG_STATE_HOME=state, XDG_CONFIG_HOME=config):
        want_state = outcome(lambda: platformdirs.user_state_dir("rolecall"))
        want_config = outcome(lambda: platformdirs.user_config_dir("rolecall"))
        assert outcome(lambda: xdg.user_dir("state", "rolecall")) == want_state
        assert outcome(lambda: xdg.user_dir("config", "rolecall")) == want_config
        assert outcome(fastpath._state_dir) == want_state
        want_catalog = (want_config if want_config is RuntimeError
                        else os.path.join(want_config, "config.toml"))
        assert outcome(fastpath._catalog) == want_catalog
        for call, want in ((paths.state_dir, want_state), (paths.catalog_file, want_catalog)):
            if want is RuntimeError:  # one clear line, exit 2, never "internal error"
                with pytest.raises(UsageError, match="cannot place rolecall's") as raised:
                    call()
                assert "fix: set HOME" in str(raised.value)
            else:
                assert call() == Path(want)
                # The engine's Path and the fast path's str name the same file in stamps.
                assert os.path.abspath(call()) == os.path.abspath(want)


def test_the_generated_cases_cover_each_rule():
    """The property above is not vacuous: each rule gives what platformdirs gives."""
    with environment("real", HOME="/h", XDG_STATE_HOME="/s//x/", XDG_CONFIG_HOME="rel"):
        assert xdg.user_dir("state", "app") == "/s//x/app" == platformdirs.user_state_dir("app")
        assert xdg.user_dir("config", "app") == "/h/.config/app"
    with environment("/pw/", HOME="relative", XDG_STATE_HOME="~/x"):
        assert xdg.user_dir("state", "app") == "/pw/.local/state/app"
    with environment("/pw", HOME=UNSET):
        assert xdg.user_dir("config", "app") == "/pw/.config/app"
    with environment(KeyError, HOME=""), pytest.raises(xdg.HomeUnknown):
        xdg.user_dir("state", "app")
    with environment("relative", HOME=UNSET), pytest.raises(xdg.HomeUnknown):
        xdg.user_dir("state", "app")
    with environment("real", HOME="/"):
        assert xdg.user_dir("state", "app") == "/.local/state/app"


@pytest.mark.parametrize("where", [{"platform": "darwin"}, {"platform": "win32"},
                                   {"env": {"ANDROID_DATA": "/data", "ANDROID_ROOT": "/system"}}])
def test_other_platforms_ask_platformdirs(where, monkeypatch):
    monkeypatch.setattr(sys, "platform", where.get("platform", sys.platform))
    for name, value in where.get("env", {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(platformdirs, "user_state_dir", lambda app: f"asked:{app}")
    assert xdg.user_dir("state", "rolecall") == "asked:rolecall"


def default_env(world) -> dict[str, str]:
    """The world's environment with the defaults a user has: no ROLECALL_STATE_DIR,
    ROLECALL_CONFIG, AWS_CONFIG_FILE or XDG_*_HOME (the keyring namespace stays)."""
    return {k: v for k, v in environ(world).items() if k not in MOVED}


def test_the_default_layout_end_to_end(world):
    """With nothing set but HOME, rolecall reads ~/.config/rolecall/config.toml and keeps
    its index in ~/.local/state/rolecall, and the fast path finds both."""
    chain_config(world)
    catalog = world.home / ".config" / "rolecall" / "config.toml"
    catalog.parent.mkdir(parents=True)
    catalog.write_text('[accounts."111111111111"]\nalias = "first"\n')
    env = default_env(world)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                              text=True, env=env, cwd=world.home, timeout=60,
                              stdin=subprocess.DEVNULL)

    listed = {r["name"]: r for r in ok_json(run("list", "--json"))}
    assert listed["hop1"]["account_alias"] == "first"
    assert run("assume", "hop1").returncode == 0
    state = world.home / ".local" / "state" / "rolecall"
    assert "hop1" in (state / "sessions.json").read_text()
    assert not world.state.exists()  # the world's own ROLECALL_STATE_DIR was not used
    full = ok_json(run("process", "hop1"))
    traced = subprocess.run([sys.executable, "-X", "importtime", "-m", "tui", "process", "hop1"],
                            capture_output=True, text=True, env=env, cwd=world.home,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert traced.returncode == 0 and json.loads(traced.stdout) == full
    names = [line.rsplit("|", 1)[-1] for line in traced.stderr.splitlines()
             if line.startswith("import time:") and "imported package" not in line]
    after_site = [n.strip() for n in names[names.index(" site") + 1:]]  # the program's own
    ours = {n for n in after_site if n.split(".")[0] in ("profiles", "tui")}
    assert ours == {"tui", "tui.cli", "tui.cli.fast", "profiles", "profiles.sessions",
                    "profiles.sessions.fastpath", "profiles.xdg", "profiles.countdown",
                    "profiles.doors", "profiles.doors.statefiles", "profiles.errors"}
    roots = {n.split(".")[0] for n in after_site}
    assert roots - {"profiles", "tui", "jeepney"} <= set(sys.stdlib_module_names), roots
    assert "platformdirs" not in roots
    assert "jeepney" in after_site  # the probe sees the secret read happen


@pytest.mark.parametrize("command", [["sessions"], ["list"], ["process", "hop1"]])
def test_an_unknown_home_is_one_clear_line(command, offline_world, capsys):
    """No HOME and no passwd entry: `rolecall: cannot place ...` and exit 2, no traceback."""
    from tui.cli import main

    with environment(KeyError, HOME=""):
        os.environ["AWS_CONFIG_FILE"] = str(offline_world.config)
        offline_world.write_config("[profile base]\n")
        code = main(command)
    err = capsys.readouterr()
    assert code == 2, err
    assert_fails(subprocess.CompletedProcess(command, code, err.out, err.err), 2,
                 "cannot place rolecall's")
