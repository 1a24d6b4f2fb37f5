"""The prompt snippets of ``docs/prompt.md``, in real bash, zsh and fish on a terminal
(tmux): a ``rolecall shell`` shows its role and countdown, styled by the refresh window
rolecall put in its environment; a hostile role name shows as text and runs nothing; the
colour codes take no columns, so line editing stays aligned. PowerShell and starship are
not installed here: their snippets are checked as text."""

from __future__ import annotations

import re
import shutil
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

from profiles.doors.terminal import shown
from tests.conftest import ROOT
from tests.helpers import chain_config, environ
from tests.tui_world import Tmux

DOC = ROOT / "docs" / "prompt.md"
SHELLS = {"bash": "bash", "zsh": "zsh", "fish": "fish"}
RC = {"bash": ".bashrc", "zsh": ".zshrc", "fish": ".config/fish/config.fish"}
WIDTH = 120
SGR = re.compile(r"((?:\x1b\[[0-9;]*m)+)")
# Every trick a prompt could fall for: command substitution, backticks, bash's and zsh's
# prompt escapes, an OSC title, a line break, a bidi override.
HOSTILE = "x$(touch PWNED)`touch PWNED2`%F{red}%n\\u\\[\x1b]0;T\x07\n\u202ey"


def snippet(language: str) -> str:
    """The fenced ``language`` block of docs/prompt.md (exactly one)."""
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1, (language, len(blocks))
    return blocks[0]


def setenv(shell: str, name: str, value: str) -> str:
    return f"set -gx {name} {value}" if shell == "fish" else f"export {name}={value}"


def _home(world, shell: str) -> None:
    rc = world.home / RC[shell]
    rc.parent.mkdir(parents=True, exist_ok=True)
    plain = {"bash": "PS1='$ '\n", "zsh": "PROMPT='%% '\n",
             "fish": "function fish_prompt; echo -n '> '; end\nset -g fish_greeting\n"}
    rc.write_text(plain[shell] + snippet(shell))
    (world.home / "work").mkdir(exist_ok=True)


def _terminal(world, shell: str, command: str, **extra: str) -> Tmux:
    path = shutil.which(SHELLS[shell])
    if path is None:
        pytest.skip(f"{shell} is not installed (.ci/run installs it)")
    env = environ(world, SHELL=path, ZDOTDIR=str(world.home),
                  XDG_CONFIG_HOME=str(world.home / ".config"),
                  PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin", **extra)
    env.pop("NO_COLOR", None)
    return Tmux(f"prompt-{shell}-{uuid.uuid4().hex[:6]}", command, (WIDTH, 20), env,
                world.home / "work")


def _colored(tmux: Tmux) -> str:
    import subprocess

    done = subprocess.run([*tmux.tmux, "capture-pane", "-e", "-p", "-t", tmux.name],
                          capture_output=True, text=True)
    return done.stdout


def _style(tmux: Tmux, pattern: str) -> set[str]:
    """The SGR parameters in force where the last match of ``pattern`` starts on screen."""
    found = None
    for line in _colored(tmux).splitlines():
        for match in re.finditer(pattern, line):
            found = (line, match.start())
    if found is None:
        return set()
    line, at = found
    codes = SGR.findall(line[:at])
    last = codes[-1] if codes and line[:at].endswith(codes[-1]) else ""
    return {p for seq in re.findall(r"\x1b\[([0-9;]*)m", last) for p in seq.split(";")}


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_a_rolecall_shell_shows_its_role_and_countdown(world, shell):
    """``rolecall shell hop1`` with the doc's snippet: yellow inside the catalog's 2 h
    window (rolecall passed it on), green once the window is narrowed, red once expired."""
    chain_config(world)
    world.catalog.write_text('[settings]\nrefresh_window = "2h"\n')
    _home(world, shell)
    tmux = _terminal(world, shell, "rolecall shell hop1")
    countdown = r"hop1 \d\d:\d\d"
    try:
        tmux.wait(condition=lambda: re.search(countdown, tmux.screen()), timeout=60)
        tmux.wait(condition=lambda: {"1", "33"} <= _style(tmux, countdown))
        tmux.keys(setenv(shell, "ROLECALL_REFRESH_WINDOW", "60"), "Enter")
        tmux.wait(condition=lambda: _style(tmux, countdown) == {"32"})
        tmux.keys(setenv(shell, "AWS_CREDENTIAL_EXPIRATION", "2000-01-01T00:00:00Z"), "Enter")
        tmux.wait(condition=lambda: "31" in _style(tmux, "hop1 expired"))
        tmux.keys("exit", "Enter")
    finally:
        tmux.close()


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_a_hostile_role_name_is_only_text(offline_world, shell):
    world = offline_world
    _home(world, shell)
    tmux = _terminal(world, shell, SHELLS[shell], ROLECALL_ROLE=HOSTILE,
                     AWS_CREDENTIAL_EXPIRATION="2000-01-01T00:00:00Z")
    want = shown(HOSTILE) + " expired"
    try:
        tmux.wait(condition=lambda: want in tmux.screen())
        tmux.keys("echo ok-ok | tr - _", "Enter")
        tmux.wait("ok_ok")
        tmux.wait(condition=lambda: tmux.screen().count(want) >= 2)
    finally:
        tmux.close()
    assert list((world.home / "work").iterdir()) == []  # PWNED never created


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_colour_takes_no_columns(offline_world, shell):
    """A command line that just fits the terminal after the coloured segment stays on one
    line: were the colour codes counted as text, the shell would wrap it early and
    scramble the line."""
    world = offline_world
    _home(world, shell)
    tmux = _terminal(world, shell, SHELLS[shell], ROLECALL_ROLE="prod-admin",
                     AWS_CREDENTIAL_EXPIRATION="2000-01-01T00:00:00Z",
                     LC_ALL="C")  # bash's readline counts escapes as columns in C
    mark = "prod-admin expired " + ("$ " if shell == "bash" else "% ")
    line = mark + "echo " + "a" * (WIDTH - len(mark) - len("echo ") - 2)
    try:
        tmux.wait(mark.rstrip())
        tmux.keys(line[len(mark):])
        tmux.wait(condition=lambda: line in tmux.screen().splitlines())
    finally:
        tmux.close()


def test_the_powershell_snippet_keeps_the_output_data():
    """pwsh is not installed: the snippet is read as text. rolecall's output is only
    assigned to a variable and interpolated into a string (PowerShell never parses a
    value as code); nothing evaluates text; ``$LASTEXITCODE`` is restored."""
    text = snippet("powershell")
    assert "$segment = rolecall prompt --format powershell" in text
    assert not re.search(r"(?i)invoke-expression|\biex\b|scriptblock\]::create|\.invoke\(",
                         text)
    assert text.count("$segment") == 2 and '"$segment$(& $RolecallPrompt)"' in text
    assert "$global:LASTEXITCODE = $code" in text


def test_the_starship_snippet():
    """starship is not installed: its module is checked as starship reads it (TOML, an
    escaped ``$output``, the module hidden when the output is empty)."""
    module = tomllib.loads(snippet("toml"))["custom"]["rolecall"]
    assert module["command"] == "rolecall prompt --format starship"
    assert "$output" in module["format"] and not module.get("unsafe_no_escape", False)
    assert module["format"].startswith("[($output")  # an empty output hides the group
