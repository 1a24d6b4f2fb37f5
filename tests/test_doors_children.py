"""The children's-environments door (``profiles/doors/children.py``): every process
rolecall starts gets the parent's environment minus every credential-bearing AWS
variable, plus exactly what that child is meant to have.

Two proofs. A source check: a process started anywhere but the few places listed here,
or started with an environment the door did not build, fails the suite (so a new command
is covered by construction). A sweep: every spawner, run for real with a parent whose
every credential-bearing variable holds a marker (as a shell prepared with ``env
prod-admin --server`` would), starts a real child that dumps its environment, and that
environment holds only what the child is meant to have.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from profiles.doors import children
from tests.helpers import MFA_SERIAL, chain_config, ok_json

ROOT = Path(__file__).resolve().parent.parent

# -- the source check --------------------------------------------------------------------

# Calls that start a process, by module: every attribute of webbrowser (it starts the
# browser with this process's environment and no way to give another).
SPAWNING = {
    "subprocess": {"Popen", "run", "call", "check_call", "check_output", "getoutput",
                   "getstatusoutput"},
    "os": {"system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp",
           *(f"exec{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")),
           *(f"spawn{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe"))},
    "pty": {"spawn", "fork"},
    "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
    "webbrowser": None,  # any
}
# Where the environment is passed positionally (0-based), for calls that take one.
ENV_POSITION = {"execle": -1, "execlpe": -1, "execve": 2, "execvpe": 2, "spawnle": -1,
                "spawnlpe": -1, "spawnve": 3, "spawnvpe": 3, "posix_spawn": 2,
                "posix_spawnp": 2}
NO_ENV = {"system", "popen", "fork", "forkpty", "spawn", "getoutput", "getstatusoutput",
          "execl", "execlp", "execv", "execvp", "spawnl", "spawnlp", "spawnv", "spawnvp"}

# The only places a process starts: (file, function). Each passes the door's environment
# (directly, or through a parameter every caller fills from the door).
ALLOWED = {
    ("tui/cli/child.py", "execute"),  # exec: replaces rolecall with CMD
    ("tui/cli/child.py", "spawn"),  # shell: waits for it
    ("tui/cli/serve.py", "supervise"),  # exec --server's child
    ("tui/board/shell.py", "run_shell"),  # the board's s
    ("profiles/ops/run/executor.py", "_target"),  # run's targets
    ("profiles/sessions/mfa.py", "run"),  # mfa_process and ROLECALL_MFA_PROMPT
    ("profiles/sessions/names.py", "git_sha"),  # {git_sha} in session names
    ("profiles/estate/browser.py", "open_url"),  # the browser (console, SSO)
    ("tui/demo/screenshots.py", "to_png"),  # the screenshots script's converter
    ("tui/board/lifeline.py", "run_child"),  # the board's subshell, known to the lifeline
    ("tui/demo/store.py", "private_secret_service"),  # the demo's D-Bus and keyring daemons
    ("profiles/registries/git.py", "fetch"),  # git fetch of a team's registry
    ("profiles/registries/git.py", "local"),  # git reading its local copy (no network)
    ("profiles/registries/sync.py", "start_due"),  # the day's registry sync, in the background
}
DOOR_MODULE = "profiles.doors.children"


def _sources() -> list[tuple[str, str]]:
    files = sorted([*ROOT.glob("profiles/**/*.py"), *ROOT.glob("tui/**/*.py")])
    return [(str(p.relative_to(ROOT)), p.read_text()) for p in files]


class _Module:
    """One module's imports (alias -> module or module.name) and functions."""

    def __init__(self, path: str, source: str) -> None:
        self.path, self.tree = path, ast.parse(source, path)
        self.dotted = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        self.aliases: dict[str, str] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for name in node.names:
                    self.aliases[name.asname or name.name.split(".")[0]] = \
                        name.name if name.asname else name.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for name in node.names:
                    self.aliases[name.asname or name.name] = f"{node.module}.{name.name}"
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def resolve(self, func: ast.expr) -> str | None:
        """``module.name`` a call's function refers to, when it names an import."""
        if isinstance(func, ast.Name):
            return self.aliases.get(func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            base = self.aliases.get(func.value.id)
            return f"{base}.{func.attr}" if base else None
        return None

    def function(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None


def _spawn_name(target: str | None) -> tuple[str, str] | None:
    if target is None or "." not in target:
        return None
    module, _, name = target.rpartition(".")
    if module in SPAWNING and (SPAWNING[module] is None or name in SPAWNING[module]):
        return module, name
    return None


def _env_argument(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "env":
            return keyword.value
    position = ENV_POSITION.get(name)
    if position is not None and len(call.args) > (position if position >= 0 else 0):
        return call.args[position]
    return None


class Checker:
    """Finds every process start in the given sources and what it is wrong with."""

    def __init__(self, sources: list[tuple[str, str]],
                 allowed: set[tuple[str, str]] = ALLOWED) -> None:
        self.modules = [_Module(path, text) for path, text in sources]
        self.allowed = allowed
        self.problems: list[str] = []
        self.starts = 0

    def run(self) -> list[str]:
        for module in self.modules:
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Call) and (found := _spawn_name(module.resolve(
                        node.func))) is not None:
                    self.starts += 1
                    self._check(module, node, *found)
        return self.problems

    def _where(self, module: _Module, node: ast.AST) -> str:
        return f"{module.path}:{node.lineno}"

    def _check(self, module: _Module, call: ast.Call, kind: str, name: str) -> None:
        function = module.function(call)
        where = self._where(module, call)
        if (module.path, function.name if function else "") not in self.allowed:
            self.problems.append(f"{where}: {kind}.{name} outside the allowed places")
            return
        if kind == "webbrowser" or name in NO_ENV:
            self.problems.append(f"{where}: {kind}.{name} cannot be given the door's "
                                 "environment")
            return
        env = _env_argument(call, name)
        if env is None:
            self.problems.append(f"{where}: {kind}.{name} without env= (it would inherit "
                                 "this process's environment)")
            return
        self._door_built(module, function, env, where, depth=0)

    def _is_door_call(self, module: _Module, node: ast.expr) -> bool:
        return isinstance(node, ast.Call) and module.resolve(node.func) == \
            f"{DOOR_MODULE}.environ"

    def _door_built(self, module: _Module, function, env: ast.expr, where: str,
                    depth: int) -> None:
        if self._is_door_call(module, env):
            return
        if depth > 4 or not isinstance(env, ast.Name) or function is None:
            self.problems.append(f"{where}: env is not built by children.environ()")
            return
        values = [n.value for n in ast.walk(function) if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == env.id for t in n.targets)]
        params = [a.arg for a in (*function.args.posonlyargs, *function.args.args,
                                  *function.args.kwonlyargs)]
        if values:
            for value in values:
                self._door_built(module, function, value, where, depth + 1)
        elif env.id in params:  # a carrier: every caller must pass the door's environment
            self._callers(module, function, params.index(env.id), env.id, where, depth)
        else:
            self.problems.append(f"{where}: env {env.id!r} is not built by children.environ()")

    def _callers(self, module: _Module, function, index: int, param: str, where: str,
                 depth: int) -> None:
        target = f"{module.dotted}.{function.name}"
        found = 0
        for other in self.modules:
            for node in ast.walk(other.tree):
                if not isinstance(node, ast.Call):
                    continue
                called = other.resolve(node.func) or (
                    f"{other.dotted}.{node.func.id}" if isinstance(node.func, ast.Name)
                    else None)
                if called != target:
                    continue
                found += 1
                given = next((k.value for k in node.keywords if k.arg == param),
                             node.args[index] if len(node.args) > index else None)
                at = self._where(other, node)
                if given is None:
                    self.problems.append(f"{at}: calls {function.name} without {param}")
                else:
                    self._door_built(other, other.function(node), given, at, depth + 1)
        if not found:
            self.problems.append(f"{where}: {function.name} passes its {param} on, and "
                                 "nothing calls it")


def test_every_process_rolecall_starts_gets_the_doors_environment():
    checker = Checker(_sources())
    assert checker.run() == []
    assert checker.starts >= len(ALLOWED)  # the check saw them all


@pytest.mark.parametrize(("source", "complaint"), [
    ("import subprocess\ndef f():\n    subprocess.run(['x'])\n", "outside the allowed"),
    ("import subprocess\ndef git_sha():\n    subprocess.run(['git'])\n", "without env="),
    ("import os, subprocess\ndef git_sha():\n    subprocess.run(['git'], env=dict(os.environ))"
     "\n", "not built by"),
    ("import os, subprocess\ndef git_sha():\n    e = {**os.environ, 'A': 'b'}\n"
     "    subprocess.run(['git'], env=e)\n", "not built by"),
    ("import os\ndef git_sha():\n    os.system('git')\n", "cannot be given"),
    ("import webbrowser\ndef git_sha():\n    webbrowser.open('https://x')\n", "cannot be given"),
    ("from subprocess import Popen as P\ndef g():\n    P(['x'])\n", "outside the allowed"),
    ("import os\ndef git_sha(env):\n    os.execvpe('x', ['x'], env)\ndef h():\n"
     "    git_sha({'A': 'b'})\n", "not built by"),
])
def test_the_source_check_catches_each_way_around_the_door(source, complaint):
    problems = Checker([("profiles/sessions/names.py", source)]).run()
    assert any(complaint in p for p in problems), problems


def test_the_source_check_accepts_the_door_directly_and_through_a_parameter():
    source = ("import os, subprocess\nfrom profiles.doors import children\n"
              "def git_sha():\n    subprocess.run(['git'], env=children.environ())\n"
              "def execute(command, env):\n    os.execvpe(command[0], command, env)\n"
              "def main():\n    env = children.environ({'A': 'b'})\n"
              "    return execute(['x'], env)\n")
    allowed = {("m.py", "git_sha"), ("m.py", "execute")}
    assert Checker([("m.py", source)], allowed).run() == []


# -- the sweep ---------------------------------------------------------------------------

POISON = {name: f"poison-{name.lower()}" for name in children.CREDENTIAL_VARIABLES}
KEEP = {"ROLECALL_SWEEP_KEEP": "kept"}  # an ordinary variable: every child has it
SESSION = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
           "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_EXPIRATION")
ENDPOINT = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN")


def dumper(path: Path, prints: str = "") -> str:
    """A real child: it writes its environment to ``PATH.json`` and prints ``prints``."""
    path.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                    f"open({str(path) + '.json'!r}, 'a').write(json.dumps(dict(os.environ)) "
                    "+ '\\n')\n"
                    f"sys.stdout.write({prints!r})\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def dumped(path: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in Path(path + ".json").read_text().splitlines()]


def only(env: dict[str, str], meant: tuple[str, ...] = ()) -> None:
    """``env`` holds the credential-bearing variables ``meant`` (none poisoned) and no
    other; ordinary variables pass."""
    held = tuple(n for n in children.CREDENTIAL_VARIABLES if n in env)
    assert held == tuple(n for n in children.CREDENTIAL_VARIABLES if n in meant), held
    assert not [k for k, v in env.items() if "poison-" in v], env
    assert env.get("ROLECALL_SWEEP_KEEP") == "kept"


@pytest.fixture
def poisoned(world):
    chain_config(world)
    world.env.update(POISON)
    world.env.update(KEEP)
    return world


def test_exec_children_fast_and_full(poisoned, tmp_path):
    child = dumper(tmp_path / "child")
    assert poisoned.run("assume", "hop1").returncode == 0
    fast = poisoned.run("exec", "hop1", "--", child)  # a cache hit: the fast path
    full = poisoned.run("exec", "hop2", "--duration", "15m", "--", child)
    assert (fast.returncode, full.returncode) == (0, 0), fast.stderr + full.stderr
    for env, role in zip(dumped(child), ("hop1", "hop2"), strict=True):
        only(env, SESSION)
        assert env["ROLECALL_ROLE"] == role


def test_shell_children(poisoned, tmp_path):
    shell = dumper(tmp_path / "shell")
    done = poisoned.run("shell", "hop1", env={"SHELL": shell})
    assert done.returncode == 0, done.stderr
    (env,) = dumped(shell)
    only(env, SESSION)


def test_the_boards_shell(poisoned, tmp_path, monkeypatch):
    from profiles.sessions.cache import SessionCache
    from profiles.workspace import Workspace
    from tui.board.shell import run_shell

    shell = dumper(tmp_path / "shell")
    for name, value in {**POISON, **KEEP, "SHELL": shell}.items():
        monkeypatch.setenv(name, value)
    ws = Workspace(cache=SessionCache())
    session = ws.assume("hop1").session
    assert run_shell(ws.environment("hop1", session)) == 0
    (env,) = dumped(shell)
    only(env, SESSION)


def test_run_targets(poisoned, tmp_path):
    child = dumper(tmp_path / "child")
    done = poisoned.run("run", "hop1", "hop2", "--output", "quiet", "--", child)
    assert done.returncode == 0, done.stderr
    envs = dumped(child)
    assert sorted(e["ROLECALL_ROLE"] for e in envs) == ["hop1", "hop2"]
    for env in envs:
        only(env, SESSION)
        assert env["ROLECALL_ACCOUNT_ID"] in ("111111111111", "222222222222")


def test_exec_server_child(poisoned, tmp_path):
    child = dumper(tmp_path / "child")
    done = poisoned.run("exec", "--server", "hop1", "--", child,
                        env={"ROLECALL_RUNTIME_DIR": str(tmp_path / "run")})
    assert done.returncode == 0, done.stderr
    (env,) = dumped(child)
    only(env, ENDPOINT)
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")


def test_mfa_process_and_the_hook(poisoned, tmp_path):
    device = dumper(tmp_path / "device", "314159\n")
    hook = dumper(tmp_path / "hook", "271828\n")
    role = poisoned.moto.create_role("111111111111", "Mfa")
    with poisoned.config.open("a") as config:
        config.write(f"\n[profile m1]\nrole_arn = {role}\nsource_profile = base\n"
                     f"mfa_serial = {MFA_SERIAL}\nmfa_process = {device}\n"
                     f"\n[profile m2]\nrole_arn = {role}\nsource_profile = base\n"
                     f"mfa_serial = {MFA_SERIAL}\nmfa_mode = direct\n")
    assert poisoned.run("assume", "m1").returncode == 0
    done = poisoned.run("assume", "m2", env={"ROLECALL_MFA_PROMPT": hook})
    assert done.returncode == 0, done.stderr
    for path in (device, hook):
        (env,) = dumped(path)
        only(env)
        assert env["ROLECALL_MFA_SERIAL"] == MFA_SERIAL


def test_git_for_session_names(poisoned, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = dumper(bin_dir / "git", "abc1234\n")
    path = f"{bin_dir}:{os.environ['PATH']}"
    done = poisoned.run("assume", "hop1", "--session-name", "{git_sha}-sweep", "--json",
                        env={"PATH": path})
    assert ok_json(done)["session_name"] == "abc1234-sweep"
    assert dumped(git)  # (the name is checked, then made: git may run twice)
    for env in dumped(git):
        only(env)


def test_the_browser(tmp_path, monkeypatch):
    from profiles.estate import browser

    opened = dumper(tmp_path / "browser")
    for name, value in {**POISON, **KEEP, "BROWSER": opened}.items():
        monkeypatch.setenv(name, value)
    assert browser.open_url("https://example.invalid/start")
    (env,) = dumped(opened)
    only(env)


def test_the_door_strips_every_credential_variable_and_adds_what_it_is_given():
    env = children.environ({"AWS_ACCESS_KEY_ID": "mine"}, base={**POISON, **KEEP})
    assert env == {**KEEP, "AWS_ACCESS_KEY_ID": "mine"}
    assert children.unset({"AWS_ACCESS_KEY_ID": "x"}) == tuple(
        n for n in children.CREDENTIAL_VARIABLES if n != "AWS_ACCESS_KEY_ID")
