"""``rolecall prompt``: the segment from a shell's environment, each format's spelling,
hostile role names, and the hot path's imports (the shells themselves:
``test_prompt_shells.py``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.doors.terminal import shown
from profiles.output import prompt
from tests.conftest import ISOLATED, ROOT

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
NOW = 1_900_000_000.0  # 2030-03-17T17:46:40Z
EXPIRES = "2030-03-17T18:28:50Z"  # NOW + 42:10


def env(role: str | None = "prod-admin", expires: str | None = EXPIRES,
        window: str | None = None, **extra: str) -> dict[str, str]:
    out = dict(extra)
    for name, value in ((prompt.ROLE, role), (prompt.EXPIRATION, expires),
                        (prompt.WINDOW, window)):
        if value is not None:
            out[name] = value
    return out


def test_the_countdown_as_the_board_spells_it():
    seg = prompt.segment(env(), NOW)
    assert (seg.state, seg.text) == ("active", "prod-admin 42:10")
    later = prompt.segment(env(expires="2030-03-17T19:49:43Z"), NOW)
    assert later.text == "prod-admin 2:03:03"
    ended = prompt.segment(env(expires="2030-03-17T17:46:40Z"), NOW)
    assert (ended.state, ended.text) == ("expired", "prod-admin expired")


def test_the_refresh_window_from_the_environment_or_five_minutes():
    near = env(expires="2030-03-17T17:50:00Z")  # 3:20 left
    assert prompt.segment(near, NOW).state == "expiring"
    assert prompt.segment({**near, prompt.WINDOW: "60"}, NOW).state == "active"
    assert prompt.segment(env(window="3600"), NOW).state == "expiring"
    for odd in ("", "-5", "5m", "1e9", "\u0665", "9" * 30):
        assert prompt.segment(env(expires="2030-03-17T17:50:00Z", window=odd),
                              NOW).window == 300, odd


def test_outside_a_rolecall_shell_nothing():
    for fmt in prompt.FORMATS:
        out = prompt.render(prompt.segment(env(role=None), NOW), fmt, color=True)
        if fmt == "json":
            assert json.loads(out) == {"role": None, "state": "none", "expires_at": None,
                                       "seconds_left": None, "refresh_window": None,
                                       "text": ""}
        else:
            assert out == "", fmt
    assert prompt.segment(env(role=""), NOW) is None


def test_no_expiry_shows_the_role_alone():
    served = prompt.segment(env(expires=None, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://x"),
                            NOW)
    assert (served.state, served.text) == ("endpoint", "prod-admin")
    for odd in ("", "soon", "2030-02-30T00:00:00Z", "9999999-01-01T00:00:00Z"):
        seg = prompt.segment(env(expires=odd), NOW)
        assert (seg.state, seg.text) == ("unknown", "prod-admin"), odd
    assert prompt.render(seg, "bash", color=True) == "prod-admin "  # nothing to colour


def test_json_shape():
    out = json.loads(prompt.render(prompt.segment(env(), NOW), "json", color=True))
    assert out == {"role": "prod-admin", "state": "active", "expires_at": EXPIRES,
                   "seconds_left": 2530, "refresh_window": 300, "text": "prod-admin 42:10"}
    offset = prompt.segment(env(expires="2030-03-17T19:28:50+01:00"), NOW)  # same instant
    assert json.loads(prompt.render(offset, "json", False))["expires_at"] == EXPIRES
    ended = json.loads(prompt.render(prompt.segment(env(), NOW + 9999), "json", False))
    assert (ended["state"], ended["seconds_left"]) == ("expired", 0)


def test_each_format_marks_its_escapes():
    seg = prompt.segment(env(expires="2030-03-17T17:50:00Z"), NOW)  # inside the window
    text = "prod-admin 03:20"
    assert prompt.render(seg, "plain", color=False) == text + "\n"
    assert prompt.render(seg, "plain", color=True) == f"\x1b[1;33m{text}\x1b[0m\n"
    assert prompt.render(seg, "bash", True) == f"\x01\x1b[1;33m\x02{text}\x01\x1b[0m\x02 "
    assert prompt.render(seg, "zsh", True) == f"%{{\x1b[1;33m%}}{text}%{{\x1b[0m%}} "
    assert prompt.render(seg, "fish", True) == f"\x1b[1;33m{text}\x1b[0m "
    assert prompt.render(seg, "powershell", True) == f"\x1b[1;33m{text}\x1b[0m "
    assert prompt.render(seg, "starship", True) == f"{text} \u26a0\n"
    for fmt in prompt.SHELLS:
        assert prompt.render(seg, fmt, color=False) == text + " "
    active = prompt.segment(env(), NOW)
    assert prompt.render(active, "starship", True) == "prod-admin 42:10\n"
    assert prompt.render(active, "fish", True).startswith("\x1b[32m")
    assert prompt.render(prompt.segment(env(), NOW + 3000), "fish", True).startswith("\x1b[31m")


def test_colour_only_where_asked():
    assert prompt.wants_color("plain", True, {})
    assert not prompt.wants_color("plain", False, {})
    assert prompt.wants_color("bash", False, {})
    assert not prompt.wants_color("zsh", False, {"NO_COLOR": "1"})
    assert not prompt.wants_color("plain", True, {"NO_COLOR": "1"})
    assert not prompt.wants_color("starship", True, {}) and not prompt.wants_color(
        "json", True, {})


HOSTILE = st.sampled_from(["$(touch PWNED)", "`touch PWNED`", "%F{red}", "%n", "%{", "%}",
                           "%(?.a.b)", "\\u", "\\[", "\\]", "\\$", "\x01", "\x02", "\x1b[31m",
                           "\x1b]0;title\x07", "\u202e", "\u200b", "\n", "\r", "!", "%%",
                           "\x9b", "$PS1", "${PROMPT}", "\ufeff", "'", '"'])
NAMES = st.lists(st.one_of(HOSTILE, st.text(st.characters(blacklist_categories=("Cs",)),
                                            min_size=1, max_size=6)),
                 min_size=1, max_size=6).map("".join)
OURS = re.compile(r"\x01\x1b\[[0-9;]+m\x02|%\{\x1b\[[0-9;]+m%\}|\x1b\[[0-9;]+m")


@SETTINGS
@given(name=NAMES, left=st.integers(-100, 200_000))
def test_a_hostile_name_is_only_text(name, left):
    """Whatever a role is named, each format carries it as text: the shown name (no control
    character) and, for zsh, every % doubled; the only escapes are rolecall's own SGR and
    its zero-width marks around them."""
    seg = prompt.segment(env(role=name), NOW + 2530 - left)
    want = shown(name)
    for fmt in prompt.FORMATS:
        out = prompt.render(seg, fmt, color=True)
        if fmt == "json":
            assert json.loads(out)["role"] == name
            continue
        bare = OURS.sub("", out)
        assert bare.rstrip("\n").isprintable(), (fmt, out)
        if fmt == "zsh":
            assert "%" not in bare.replace("%%", ""), out
            bare = bare.replace("%%", "%")
        assert bare.startswith(want + " "), (fmt, out)
        if fmt == "bash":
            assert out.count("\x01") == out.count("\x02") == 2


def _run(*args: str, **extra: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ISOLATED}
    full.pop("NO_COLOR", None)
    full.update(extra)
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                          text=True, env=full, cwd=ROOT, timeout=60)


def test_the_command_outside_and_inside_a_shell():
    outside = _run("prompt")
    assert (outside.returncode, outside.stdout, outside.stderr) == (0, "", "")
    inside = _run("prompt", "--format", "bash", ROLECALL_ROLE="x\x1b]0;t\x07y",
                  AWS_CREDENTIAL_EXPIRATION="2000-01-01T00:00:00Z")
    assert inside.returncode == 0 and inside.stderr == ""
    assert inside.stdout == "\x01\x1b[31m\x02x\\x1b]0;t\\x07y expired\x01\x1b[0m\x02 "
    piped = _run("prompt", ROLECALL_ROLE="x", AWS_CREDENTIAL_EXPIRATION="2000-01-01T00:00:00Z")
    assert piped.stdout == "x expired\n"  # plain text when stdout is no terminal
    for spelling in (["--format=json"], ["-f", "json"]):
        assert json.loads(_run("prompt", *spelling).stdout)["state"] == "none"


def test_a_bad_format_is_one_line():
    from tests.helpers import assert_fails

    assert_fails(_run("prompt", "--format", "tcsh"), 2, "invalid choice")
    assert_fails(_run("prompt", "extra"), 2, "unexpected argument")


def test_the_hot_path_imports_nothing_heavy():
    """No parser, keyring, D-Bus, botocore, Textual or JSON on the prompt's path."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "tui", "prompt",
                           "--format", "bash"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "ROLECALL_ROLE": "x",
                               "AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z"})
    assert done.returncode == 0, done.stderr
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:")}
    assert "profiles.output.prompt" in modules
    heavy = {m for m in modules if m.split(".")[0] in (
        "argparse", "keyring", "jeepney", "secretstorage", "botocore", "boto3", "textual",
        "rich", "json", "datetime", "tomllib", "platformdirs", "yaml")}
    assert not heavy, heavy
    assert not {m for m in modules if m.startswith("tui.cli.") and m != "tui.cli.shell_prompt"}
