"""Shell output is data, never code (see docs/architecture.md, Trust boundary).

Generated values (any Unicode but NUL and lone surrogates, mixed with hostile pieces:
``$(...)``, backticks, quotes of every kind, backslashes, ``${VAR}``, line breaks) are
rendered, run through the real consumer (bash, dash and fish from Debian; python-dotenv;
PowerShell's tokenizer rules in ``tests/powershell_rules.py``), and the environment read
back (``env -0``) must equal the values exactly, with nothing executed: each hostile
piece tries to create a file in the shell's directory, which must stay empty.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.doors import children
from profiles.errors import UsageError
from profiles.output import environment, shells
from tests import powershell_rules

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
POSIX_SHELLS = ("bash", "dash", "sh")
HOSTILE = st.sampled_from([
    "$(touch PWNED)", "`touch PWNED`", "'; touch PWNED; '", "'\\''", "\"; touch PWNED; \"",
    "\\", "\\\\", "\\'", "a\\", "${HOME}", "$HOME", "${X:-$(touch PWNED)}",
    "\u2019; touch PWNED; \u2018", "\u2018", "\u2019", "\u201a", "\u201b", "''", "\"",
    "\n", "\r", "\r\n", "\n[default]\n", "#", " ", "\t", "!", "*", "~", "{a,b}", "%",
    "\u2028", "\u2029", "\x85", "\x1b[31m", "\ufeff", "\U0001f600", "\uf600", "\ufdd0",
    "export X=1", "set -gx X 1", "; Remove-Item -Recurse ~", "`n", "$Env:HOME",
])
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
               max_size=12)
VALUE = st.lists(st.one_of(HOSTILE, TEXT), max_size=5).map("".join)
VARIABLES = st.lists(VALUE, min_size=1, max_size=8).map(
    lambda values: {f"ROLECALL_T{i}": v for i, v in enumerate(values)})


def _environ(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
            "HOME": str(home), "AWS_PROFILE": "stale", "AWS_DEFAULT_PROFILE": "stale"}


def _env0(out: bytes) -> dict[str, str]:
    pairs = (entry.split(b"=", 1) for entry in out.split(b"\0") if b"=" in entry)
    return {k.decode(): v.decode("utf-8", "surrogateescape") for k, v in pairs}


def _run(argv: list[str], script: str) -> dict[str, str]:
    """Write ``script`` to a file, run ``argv + [file]`` in an empty directory and return
    the environment it printed; fails if anything else appeared in the directory."""
    with tempfile.TemporaryDirectory(prefix="rolecall-shell-") as tmp:
        work = Path(tmp) / "cwd"
        work.mkdir()
        path = Path(tmp) / "out"
        path.write_bytes(script.encode())
        done = subprocess.run([*argv, str(path)], cwd=work, env=_environ(Path(tmp)),
                              capture_output=True, timeout=30)
        assert done.returncode == 0, (argv, done.stderr.decode(errors="replace"))
        assert list(work.iterdir()) == [], "the output ran code"
        return _env0(done.stdout)


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (apt-get install {name})")
        pytest.skip(f"{name} is not installed")
    return found


def _mine(env: dict[str, str], names) -> dict[str, str | None]:
    return {k: env.get(k) for k in names}


@SETTINGS
@given(variables=VARIABLES)
def test_sh_output_reads_back_exactly_in_bash_dash_and_sh(variables):
    script = environment.render(variables, "sh")
    for name in POSIX_SHELLS:
        got = _run([_shell(name), "-c", 'eval "$(cat "$1")" && env -0', name], script)
        assert _mine(got, variables) == variables, name
        assert "AWS_PROFILE" not in got and "AWS_DEFAULT_PROFILE" not in got


@SETTINGS
@given(variables=VARIABLES)
def test_fish_output_reads_back_exactly_in_fish(variables):
    script = environment.render(variables, "fish")
    got = _run([_shell("fish"), "--no-config", "-c", "cat $argv[1] | source; and env -0"],
               script)
    assert _mine(got, variables) == variables
    assert "AWS_PROFILE" not in got and "AWS_DEFAULT_PROFILE" not in got


def test_fish_output_sourced_where_nothing_is_to_remove_succeeds(tmp_path):
    """``rolecall env ROLE -f fish | source; and CMD`` runs CMD in a shell without
    AWS_PROFILE: erasing a variable that is not set must not become source's status."""
    path = tmp_path / "out.fish"
    path.write_text(environment.render({"ROLECALL_T0": "x"}, "fish"))
    env = {k: v for k, v in _environ(tmp_path).items() if not k.startswith("AWS_")}
    done = subprocess.run([_shell("fish"), "--no-config", "-c",
                           "cat $argv[1] | source; and echo sourced $ROLECALL_T0", str(path)],
                          env=env, capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "sourced x\n"), done.stderr


def _dotenv_values(script: str) -> dict[str, str | None]:
    from dotenv import dotenv_values

    with tempfile.TemporaryDirectory(prefix="rolecall-dotenv-") as tmp:
        path = Path(tmp) / "out.env"
        path.write_bytes(script.encode())
        return dict(dotenv_values(path))


@SETTINGS
@given(variables=VARIABLES)
def test_dotenv_is_inert_in_sh_and_read_exactly_by_python_dotenv_or_refused(variables):
    accepted = {}
    for name, value in variables.items():
        try:
            environment.render({name: value}, "dotenv")
        except UsageError as exc:
            assert exc.exit_code == 2 and name in exc.message
            assert value not in exc.message or not value.strip()  # never the value
            # refused only for what no quoting serves both readers
            assert any(c in value for c in "'\\$\r"), value
            continue
        accepted[name] = value
    if not accepted:
        return
    script = environment.render(accepted, "dotenv")
    assert _dotenv_values(script) == accepted
    for name in POSIX_SHELLS:
        got = _run([_shell(name), "-c", 'set -a; . "$1" && env -0', name], script)
        assert _mine(got, accepted) == accepted, name


@SETTINGS
@given(variables=VARIABLES)
def test_powershell_output_is_ascii_data_by_the_tokenizer_rules(variables):
    script = environment.render(variables, "powershell")
    sets, removed = powershell_rules.run(script)
    assert sets == variables
    assert removed == list(children.unset(variables))


@SETTINGS
@given(variables=VARIABLES)
def test_json_output_reads_back_exactly(variables):
    assert json.loads(environment.render(variables, "json")) == variables


def test_the_powershell_checker_catches_typographic_quotes_ending_a_string():
    """The old renderer doubled only U+0027; U+2019 closed its string and the rest ran."""
    value = "x\u2019; Remove-Item -Recurse ~; \u2018"
    old = f"$Env:ROLECALL_ROLE = '{value.replace(chr(39), chr(39) * 2)}'\n"
    with pytest.raises(powershell_rules.NotData, match="goes on"):
        powershell_rules.run(old, ascii_only=False)
    for quote in powershell_rules.SINGLE_QUOTES:  # doubled, each reads as one (spec)
        script = f"$Env:A = 'a{quote}{quote}b'\n"
        assert powershell_rules.run(script, ascii_only=False)[0] == {"A": f"a{quote}b"}
    assert powershell_rules.run(environment.render({"A": value}, "powershell"))[0] == {
        "A": value}


def test_powershell_output_spells_every_single_quote_character_as_a_char():
    line = shells.powershell_expr("'\u2018\u2019\u201a\u201b")
    assert line == ("'''' + [char]0x2018 + [char]0x2019 + [char]0x201A + [char]0x201B")
    assert shells.powershell_expr("") == "''"
    assert shells.powershell_expr("\U0001f600!") == "'' + [char]::ConvertFromUtf32(0x1F600) + '!'"


@pytest.mark.parametrize("fmt", shells.FORMATS)
def test_nul_and_bad_names_are_refused_in_every_format(fmt):
    for variables in ({"A": "x\0y"}, {"a-b": "x"}, {"1A": "x"}, {"A;rm": "x"}, {"": "x"},
                      {"A": "\ud800"}):
        with pytest.raises(UsageError) as caught:
            environment.render(variables, fmt)
        assert caught.value.exit_code == 2


def test_dotenv_refuses_what_no_quoting_serves_both_readers():
    for value in ("it's a \\\\ path", "'$x'", "a'\r", "${HOME}'", "tail\\'"):
        with pytest.raises(UsageError, match="ROLECALL_T0"):
            environment.render({"ROLECALL_T0": value}, "dotenv")
    assert environment.render({"A": "it's"}, "dotenv") == "A=\"it's\"\n"
    assert environment.render({"A": "$(x) `y`"}, "dotenv") == "A='$(x) `y`'\n"


def test_a_refused_value_exits_2_from_the_real_command(world):
    """A cached catalog role whose name no dotenv quoting carries: ``env --format dotenv``
    (fast path and full path) refuses with one line and exit 2; ``sh`` carries it."""
    from tests.helpers import assert_fails, chain_config

    arns = chain_config(world)
    name = "it's\\\\here"  # it's\\here: a quote and a doubled backslash
    world.catalog.write_text(f'[roles."it\'s\\\\\\\\here"]\nrole_arn = "{arns["a1"]}"\n'
                             'source = "base"\n')
    assumed = world.run("assume", name)
    assert assumed.returncode == 0, assumed.stderr
    for extra in ([], ["--debug"]):
        refused = world.run("env", name, "--format", "dotenv", *extra)
        if extra:  # --debug prints a traceback on purpose
            assert refused.returncode == 2 and "ROLECALL_ROLE" in refused.stderr
        else:
            assert_fails(refused, 2, "ROLECALL_ROLE", "dotenv")
    sh = world.run("env", name)
    assert sh.returncode == 0 and "export ROLECALL_ROLE='it'\\''s\\\\here'" in sh.stdout
