"""Import boundaries (see docs/architecture.md, Layers and layout): the core never imports a face,
and the credential
hot path loads only the standard library, jeepney and rolecall's own modules.

Read two ways: statically (every import statement, module-level or inside a function,
in every module, with ``ast``) and at run time (``python -X importtime`` on a real
cache hit, in an environment like a user's: no ROLECALL_STATE_DIR nor ROLECALL_CONFIG).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from tests.helpers import chain_config, environ

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
STDLIB = frozenset(sys.stdlib_module_names)
FACES = {"tui", "textual", "rich"}
HEAVY = {"textual", "rich", "boto3", "botocore", "keyring", "moto"}


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Every module ``path`` imports (absolute names), and ``importlib.import_module``
    calls with a literal name."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"  # the layout uses absolute ones
            found.add(node.module or "")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
    return found


def top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_the_check_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\ndef f():\n    from textual.app import App\n"
                     "    importlib.import_module('rich.text')\n")
    assert top(imports(probe)) == {"os", "textual", "rich"}
    assert top(imports(probe, top_level_only=True)) == {"os"}


@pytest.mark.parametrize("path", sorted((ROOT / "profiles").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_never_imports_a_face(path):
    assert not top(imports(path)) & FACES, path


def test_the_hot_path_modules_import_only_the_standard_library_and_jeepney():
    allowed = STDLIB | {"jeepney", "platformdirs"}  # platformdirs: off Linux only (see below)
    fastpath = ROOT / "profiles" / "sessions" / "fastpath.py"
    assert top(imports(fastpath)) - allowed <= {"profiles"}
    own = {f"{node.module}.{alias.name}" for node in ast.walk(ast.parse(fastpath.read_text()))
           if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("profiles")
           for alias in node.names}
    # Its modules of ours: the dirs' rule, the expiry's arithmetic, the state-files door
    # (and the error the door raises) and the kernel keyring's reader, each standard
    # library only.
    assert own <= {"profiles.xdg", "profiles.countdown.epoch", "profiles.doors.statefiles",
                   "profiles.errors.ConfigError", "profiles.sessions.kernel_keyring.KernelKeyring"}
    for module in ("xdg.py", "countdown.py", "doors/statefiles.py", "doors/__init__.py",
                   "errors.py"):
        found = imports(ROOT / "profiles" / module)
        assert top(found) - allowed <= {"profiles"}, module
        assert {m for m in found if m.startswith("profiles")} <= {"profiles.errors"}, module
    kernel = imports(ROOT / "profiles" / "sessions" / "kernel_keyring.py")
    assert {m for m in kernel if m.split(".")[0] not in STDLIB} <= {
        "profiles.sessions.fastpath", "profiles.countdown"}  # its expiry arithmetic
    own = {"profiles.sessions", "profiles.sessions.fastpath", "profiles.output",
           "profiles.output.environment", "tui.cli.child", "tui.cli.fast", "profiles.doors",
           "profiles.doors.children", "profiles.doors.terminal", "tui.cli.shell_prompt",
           "tui.cli.eks"}
    assert imports(ROOT / "profiles" / "doors" / "terminal.py") == set()  # nothing at all
    slow = {"tui.cli.parser", "profiles.errors", "tui.cli.prompt"}  # after a miss only
    for name in ("__init__.py", "fast.py", "child.py"):
        found = imports(ROOT / "tui" / "cli" / name)
        assert {m for m in found if m.split(".")[0] not in STDLIB} <= own | slow, name
    env = imports(ROOT / "profiles" / "output" / "environment.py")
    assert {m for m in env if m.split(".")[0] not in STDLIB} <= {"profiles.output.shells",
                                                                   "profiles.doors.children"}
    assert top(imports(ROOT / "profiles" / "doors" / "children.py")) - STDLIB == set()
    shells = imports(ROOT / "profiles" / "output" / "shells.py")
    assert {m for m in shells if m.split(".")[0] not in STDLIB} <= slow  # on a refusal


def test_the_prompt_and_a_cached_eks_token_import_only_the_standard_library():
    """``prompt`` (every shell prompt) and ``eks token`` on a hit (every kubectl call):
    their modules import rolecall's stdlib-only modules and jeepney, nothing else."""
    def ours(path: Path, top_level: bool = True) -> set[str]:
        found = imports(path, top_level_only=top_level)
        assert top(found) - STDLIB - {"jeepney"} <= {"profiles", "tui"}, path
        return {m for m in found if m.split(".")[0] in ("profiles", "tui")}

    assert ours(ROOT / "tui" / "cli" / "shell_prompt.py") <= {"profiles.output"}  # .prompt
    assert ours(ROOT / "profiles" / "output" / "__init__.py", top_level=False) == set()
    assert ours(ROOT / "profiles" / "output" / "prompt.py", top_level=False) <= {
        "profiles.countdown", "profiles.doors.terminal"}
    assert ours(ROOT / "tui" / "cli" / "eks.py") == set()  # the rest inside its commands
    assert ours(ROOT / "profiles" / "eks" / "credential.py", top_level=False) <= {
        "profiles.countdown", "profiles.doors", "profiles.doors.statefiles",
        "profiles.sessions", "profiles.sessions.fastpath"}
    assert ours(ROOT / "profiles" / "doors" / "statefiles.py", top_level=False) <= {
        "profiles.errors"}
    assert ours(ROOT / "profiles" / "doors" / "terminal.py", top_level=False) == set()


@pytest.mark.parametrize("path", sorted((ROOT / "tui" / "cli").glob("*.py")),
                         ids=lambda p: p.name)
def test_cli_modules_load_heavy_libraries_only_inside_commands(path):
    """Building the parser (every non-fast command does) imports no UI, AWS or keyring
    library: those load inside the command that needs them."""
    found = imports(path, top_level_only=True)
    assert not top(found) & HEAVY, path
    assert not {m for m in found if m.startswith(("tui.board", "tui.screens", "tui.demo"))}


def _importtime(world, env: dict, *argv: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "tui", *argv],
                         capture_output=True, text=True, env=env, cwd=world.home, timeout=60,
                         stdin=subprocess.DEVNULL)
    names = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()
             if line.startswith("import time:")}
    return out, names - {"import time:"}


def test_a_cache_hit_imports_only_stdlib_jeepney_and_rolecall(world):
    chain_config(world)
    env = environ(world, XDG_STATE_HOME=str(world.home / "xdg-state"),
                  XDG_CONFIG_HOME=str(world.home / "xdg-config"))
    del env["ROLECALL_STATE_DIR"], env["ROLECALL_CONFIG"]  # as a user runs it
    assert subprocess.run([sys.executable, "-m", "tui", "assume", "hop2"], env=env,
                          cwd=world.home, capture_output=True).returncode == 0
    assert (world.home / "xdg-state" / "rolecall" / "sessions.json").exists()
    _, startup = _importtime(world, env, "--help")
    startup_only = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"],
                                  capture_output=True, text=True, env=env).stderr
    baseline = {line.rsplit("|", 1)[-1].strip() for line in startup_only.splitlines()}
    assert "argparse" in startup  # the probe sees what a command imports
    for argv in (["process", "hop2"], ["env", "hop2", "--format", "json"],
                 ["exec", "hop2", "--", "true"]):
        out, names = _importtime(world, env, *argv)
        assert out.returncode == 0, out.stderr
        assert "profiles.sessions.fastpath" in names, argv  # served by the fast path
        extra = top(names - baseline) - STDLIB - {"jeepney", "profiles", "tui"}
        assert extra == set(), (argv, extra)
        assert "argparse" not in names, argv  # the parser is never built on a hit


PATHS = st.one_of(st.none(), st.sampled_from(["", "relative/dir", "/", "/abs/dir/", "//x//y",
                                              "/with space", "~/tilde"]), st.text(max_size=12))


@settings(max_examples=EXAMPLES, deadline=None)
@given(home=PATHS, state=PATHS, config=PATHS)
def test_the_hot_path_finds_the_directories_platformdirs_gives(home, state, config):
    """The fast path's stdlib rule and platformdirs (what the engine uses) agree."""
    import platformdirs

    from profiles import paths
    from profiles.sessions import fastpath

    values = {"HOME": home, "XDG_STATE_HOME": state, "XDG_CONFIG_HOME": config}
    with mock.patch.dict(os.environ):
        for key in ("ROLECALL_STATE_DIR", "ROLECALL_CONFIG", *values):
            os.environ.pop(key, None)
        os.environ.update({k: v for k, v in values.items() if v is not None and "\0" not in v})
        state_dir = fastpath._state_dir()
        assert state_dir == platformdirs.user_state_dir("rolecall")
        assert os.path.normpath(state_dir) == str(paths.state_dir())  # Path's spelling
        catalog = fastpath._catalog()
        assert catalog == os.path.join(platformdirs.user_config_dir("rolecall"), "config.toml")
        assert os.path.normpath(catalog) == str(paths.catalog_file())
