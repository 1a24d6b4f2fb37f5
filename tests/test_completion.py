"""Shell completion: candidates from the parser and the inventory
snapshot (no botocore on that path), the bash script run by real bash, the fish script
by real fish, the zsh script by real zsh (compadd stood in for the line editor's)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import environ
from tui.cli import completion
from tui.cli.parser import build_parser

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
BIN = str(Path(sys.executable).parent)  # the venv's `rolecall` entry point


def roles_world(world, *names: str, hostile: str = "") -> None:
    """Roles named ``names`` (and a catalog role ``hostile``) and a settled inventory
    snapshot (files older than 1 s)."""
    world.write_config("[profile base]\n" + "".join(
        f"[profile {n}]\nrole_arn = arn:aws:iam::111111111111:role/R\nsource_profile = base\n"
        for n in names))
    extra = (f'[roles.{json.dumps(hostile)}]\nrole_arn = "arn:aws:iam::111111111111:role/R"\n'
             'source = "base"\n') if hostile else ""
    world.catalog.write_text('[accounts."111111111111"]\nalias = "dev"\n' + extra)
    past = time.time() - 60
    for path in (world.config, world.catalog):
        os.utime(path, (past, past))


def words(*typed: str) -> list[str]:
    return [w for w, _ in completion.candidates(build_parser()[0], list(typed))]


def test_commands_options_values_and_roles(world):
    roles_world(world, "prod-admin", "prod-deploy", "dev")
    assert words("as") == ["assume"]
    assert {"console", "keys", "completion", "list"} <= set(words(""))
    assert words("assume", "prod") == ["prod-admin", "prod-deploy"]
    assert words("assume", "prod-admin", "--dur") == ["--duration"]
    assert "--debug" not in words("assume", "x", "--") and "--refresh" in words("assume", "--")
    assert words("env", "dev", "--format", "f") == ["fish"]
    assert words("env", "dev", "--format=p") == ["--format=powershell"]
    assert words("exec", "dev", "ter") == [] and words("exec", "dev", "--", "x") == []
    assert words("lint", "--role", "d") == ["dev"] and words("lint", "x.j") == []
    assert words("completion", "") == ["bash", "zsh", "fish"]
    assert words("keys", "r") == ["rm", "rotate"]
    assert words("forget", "") == ["prod-admin", "prod-deploy", "dev"]
    assert words("assume", "dev", "") == []  # ROLE is given: nothing more to suggest
    described = dict(completion.candidates(build_parser()[0], ["assume", "prod-a"]))
    assert described == {"prod-admin": "dev R"}


def test_the_new_commands_and_the_catalogs_clusters(world):
    roles_world(world, "prod-admin", "dev")
    world.catalog.write_text('[roles.prod-admin]\neks_clusters = ["prod", "analytics@eu-west-1"]'
                             '\n[roles.dev]\neks_clusters = ["prod"]\n')
    past = time.time() - 60
    os.utime(world.catalog, (past, past))
    assert words("prom") == ["prompt"]
    assert words("prompt", "--format", "") == ["plain", "bash", "zsh", "fish", "powershell",
                                                "starship", "json"]
    assert words("eks", "") == ["token", "kubeconfig"]
    assert words("eks", "token", "prod") == ["prod-admin"]
    assert words("eks", "kubeconfig", "dev", "--") >= ["--cluster", "--region", "--server"]
    assert words("eks", "token", "dev", "--cluster", "") == ["analytics", "prod"]
    assert words("eks", "token", "dev", "--cluster=a") == ["--cluster=analytics"]


def test_key_names_complete_from_the_index_alone(world):
    from profiles.estate.keys import KeyStore

    KeyStore()._update(lambda index: index.update(ops={"key_id": "AKIA...WXYZ"}))
    assert words("keys", "rotate", "o") == ["ops"]
    assert words("keys", "add", "o") == []


def test_bash_splits_at_equals_and_gets_the_value_only():
    parser = build_parser()[0]
    assert completion.complete(parser, "bash", ["env", "r", "--format", "=", "p"]) == \
        "powershell\n"
    assert "json\n" in completion.complete(parser, "bash", ["env", "r", "--format", "="])
    assert completion.complete(parser, "fish", ["env", "r", "--format=j"]) == "--format=json\n"


@settings(max_examples=EXAMPLES, deadline=None)
@given(name=st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
                    max_size=20))
def test_a_bash_candidate_reads_back_as_the_name(name):
    assert shlex.split(completion._bash_escape(name)) == [name]


def test_the_role_name_path_imports_no_botocore(world):
    roles_world(world, "prod-admin")
    probe = ("import sys, io, contextlib\nfrom tui.cli import main\nout = io.StringIO()\n"
             "with contextlib.redirect_stdout(out):\n"
             "    main(['completion', 'bash', '--candidates', '--', 'assume', 'p'])\n"
             "print(out.getvalue().strip(), sorted({m.split('.')[0] for m in sys.modules} & "
             "{'botocore', 'boto3', 'keyring', 'textual', 'secretstorage', 'rich'}))")
    run = [sys.executable, "-c", probe]
    first = subprocess.run(run, capture_output=True, text=True, env=environ(world))
    assert first.stdout.split(" ", 1)[0] == "prod-admin", first.stderr  # parsed: snapshot made
    second = subprocess.run(run, capture_output=True, text=True, env=environ(world))
    assert second.stdout.strip() == "prod-admin []", second.stderr


def shell_env(world) -> dict[str, str]:
    return environ(world, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def test_real_bash_completes_with_the_script(world):
    roles_world(world, "prod-admin", "prod-deploy", hostile="o'brien $(touch pwned)")
    script = ('source <(rolecall completion bash)\ncomplete -p rolecall\n'
              'reply() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _rolecall; '
              'printf "[%s]\\n" "${COMPREPLY[@]}"; }\n'
              'reply rolecall as\nreply rolecall assume prod-\nreply rolecall env r --format = d\n'
              "reply rolecall assume o\n")
    done = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True,
                          env=shell_env(world), cwd=world.home, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "complete -o default -F _rolecall rolecall"
    assert lines[1:] == ["[assume]", "[prod-admin]", "[prod-deploy]", "[dotenv]",
                         r"[o\'brien\ \$\(touch\ pwned\)]"]
    assert not (world.home / "pwned").exists()


@pytest.mark.skipif(shutil.which("fish") is None and not os.environ.get("CI"),
                    reason="needs fish (installed in CI)")
def test_real_fish_completes_with_the_script(world):
    roles_world(world, "prod-admin", "prod-deploy")
    script = ("rolecall completion fish | source\n"
              "complete -C 'rolecall as'\ncomplete -C 'rolecall assume prod-d'\n"
              "complete -C 'rolecall env x --format=fi'\n")
    done = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True,
                          text=True, env=shell_env(world), cwd=world.home, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("assume\tget credentials for every hop")
    assert "prod-deploy\tdev R" in lines and "--format=fish" in lines
    assert not any(line.startswith("prod-admin") for line in lines)


@pytest.mark.skipif(shutil.which("zsh") is None and not os.environ.get("CI"),
                    reason="needs zsh (installed in CI)")
def test_real_zsh_completes_with_the_script(world):
    """The script under real zsh: compinit registers it, and ``_rolecall`` hands compadd
    exactly the candidates (compadd and _files stand in for the line editor's)."""
    roles_world(world, "prod-admin", "prod-deploy", hostile="o'brien $(touch pwned)")
    script = ('autoload -U compinit && compinit -u -D\n'
              'eval "$(rolecall completion zsh)"\n'
              'print -r -- "registered ${_comps[rolecall]}"\n'
              'compadd() { [[ $1 == -- ]] && shift; print -r -- "[${(j:|:)@}]" }\n'
              '_files() { print -r -- "[files]" }\n'
              'reply() { words=("$@"); CURRENT=$#; _rolecall }\n'
              'reply rolecall as\nreply rolecall assume prod-\n'
              'reply rolecall env r --format=d\nreply rolecall assume o\n'
              'reply rolecall write x --file ./\n')
    done = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True,
                          env=shell_env(world), cwd=world.home, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "registered _rolecall", "[assume]", "[prod-admin|prod-deploy]", "[--format=dotenv]",
        "[o'brien $(touch pwned)]", "[files]"]
    assert not (world.home / "pwned").exists()


def test_the_zsh_script_registers_and_asks_the_same_candidates():
    script = completion.SCRIPTS["zsh"]
    assert script.startswith("#compdef rolecall\n")
    assert 'command rolecall completion zsh --candidates --' in script
    assert "compdef _rolecall rolecall" in script and "_files" in script
    assert script.count("{") == script.count("}") and script.count("(") == script.count(")")
    assert completion.complete(build_parser()[0], "zsh", ["env", "r", "--format=d"]) == \
        "--format=dotenv\n"


def test_completion_prints_each_script(world):
    for shell in completion.SHELLS:
        done = world.run("completion", shell)
        assert done.returncode == 0 and done.stdout == completion.SCRIPTS[shell]
    assert world.run("completion", "tcsh").returncode == 2
