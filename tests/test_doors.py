"""Nothing goes around the doors (docs/security.md): read statically, with ``ast``, like
the import boundaries in ``tests/test_boundaries.py``.

- Text to a terminal: every ``print(...)``, ``sys.stdout.write(...)``,
  ``sys.stderr.write(...)`` (and a ``stream.write``, and ``os.write`` to the controlling
  terminal) in ``profiles/`` and ``tui/`` writes only text that is evidently safe:
  literals, ``shown(...)`` / ``block(...)`` of the terminal door, numbers formatted as
  numbers, JSON (ASCII-escaped), or the output of the few producers below whose
  every outside part went through the door.
- State files: no ``open(...)``, ``os.open``, ``os.fdopen``, ``Path.open``,
  ``read_bytes()``, ``read_text()``, ``write_text()`` or ``write_bytes()`` outside the
  state-files door, except the few places below, each with its reason.

Each allow-list is short and says why; a new entry is a decision to review.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOURCES = sorted([*(ROOT / "profiles").rglob("*.py"), *(ROOT / "tui").rglob("*.py")])


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


# -- text to a terminal ---------------------------------------------------------------------

TERMINAL_DOOR = "profiles/doors/terminal.py"
DOOR_FUNCTIONS = {"shown", "block"}  # imported from profiles.doors.terminal
# Calls whose result is terminal-safe by construction, and why.
SAFE_PRODUCERS = {
    "len": "a number", "int": "a number", "round": "a number",
    "format_duration": "a number of seconds as 1h30m",
    "json.dumps": "ASCII, every control escaped (ensure_ascii=False is refused)",
    "common.table": "tui.cli.common.table: every cell goes through shown()",
    "environment.render": "profiles.output.environment.render: code for eval, each value "
                          "quoted by that shell's rules (names with controls are refused at "
                          "load)",
    "complete": "tui.cli.completion.complete: candidates that are not terminal-safe are "
                "dropped",
    "_count": "tui.cli.registry._count: a number and rolecall's own noun",
    "brings": "tui.cli.registry.brings: common.table's rows, every cell through shown()",
    "credential.document": "profiles.eks.credential.document: the ExecCredential as "
                           "json.dumps writes it",
    "prompt.render": "profiles.output.prompt.render: the role name through shown(), the "
                     "rest rolecall's own marks and digits",
}
# Modules that may print what they like, and why.
TERMINAL_ALLOWED = {
    TERMINAL_DOOR: "the door itself",
}
# (module, function) that pass text through as it is, and why.
TERMINAL_PASSED = {
    ("tui/cli/run_view.py", "write"): "`run`'s stream: each child's own output, as the "
    "command run directly would show it (its colours kept); rolecall's parts of the "
    "stream (the [ROLE] prefix, the headings) go through shown() before they get here",
    ("tui/cli/prompt.py", "read_hidden"): "writes the prompt its callers built on the "
    "terminal (their outside parts through shown(); the line breaks are rolecall's own)",
    ("tui/cli/keys.py", "_confirm"): "writes the question its callers built on the terminal "
    "(the keys' name through shown())",
}
NUMERIC_SPEC = re.compile(r"[<>=^]?[-+ ]?z?#?0?\d*[,_]?(\.\d+)?[bcdeEfFgGnoxX%]|.*[,_].*")


def _spec(node: ast.FormattedValue) -> str | None:
    spec = node.format_spec
    if spec is None:
        return None
    if isinstance(spec, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in spec.values):
        return "".join(str(v.value) for v in spec.values)
    return "?"


class Scope:
    """What each local name of a function (or module) is assigned."""

    def __init__(self, node: ast.AST) -> None:
        self.values: dict[str, list[ast.expr | None]] = {}
        for child in _own_nodes(node):
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    self._bind(target, child.value)
            elif isinstance(child, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                self._bind(child.target, child.value)
            elif isinstance(child, ast.For | ast.comprehension):
                self._bind(child.target, None)
            elif isinstance(child, ast.With):
                for item in child.items:
                    if item.optional_vars is not None:
                        self._bind(item.optional_vars, None)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):  # args
                args = child.args
                for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                            *filter(None, [args.vararg, args.kwarg])]:
                    self.values.setdefault(arg.arg, []).append(None)
            elif isinstance(child, ast.ExceptHandler) and child.name:
                self.values.setdefault(child.name, []).append(None)
            elif isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) \
                    and isinstance(child.func.value, ast.Name) and child.args \
                    and child.func.attr in ("append", "extend", "insert"):
                added = child.args[-1]  # a list's new items: what it holds is text too
                self.values.setdefault(child.func.value.id, []).append(
                    ast.List([added], ast.Load()) if child.func.attr != "extend" else added)

    def _bind(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            self.values.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._bind(element, None)


def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and what it holds, nested functions excepted (each is a scope of its own;
    a lambda's arguments count in ``node``'s, as unknown)."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _own_nodes(child)


class TerminalCheck:
    """Whether an expression is evidently safe on a terminal. ``door`` holds the names
    the module has for the door's functions, and for the door module itself."""

    def __init__(self, scope: Scope, door: set[str]) -> None:
        self.scope = scope
        self.door = door
        self._seen: set[str] = set()

    def safe(self, node: ast.expr | None) -> bool:  # noqa: PLR0911, C901 - one rule a case
        if node is None:
            return False
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.JoinedStr):
            return all(self.safe(v) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            if node.conversion == ord("a"):
                return True
            spec = _spec(node)
            if spec and spec != "?" and NUMERIC_SPEC.fullmatch(spec):
                return True  # formatting a str as a number raises: it is a number
            return self.safe(node.value) and (spec is None or spec != "?")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            return self.safe(node.left) and self.safe(node.right)
        if isinstance(node, ast.IfExp):
            return self.safe(node.body) and self.safe(node.orelse)
        if isinstance(node, ast.BoolOp):
            return all(self.safe(v) for v in node.values)
        if isinstance(node, ast.Starred):
            return self.safe(node.value)
        if isinstance(node, ast.List | ast.Tuple):
            return all(self.safe(e) for e in node.elts)
        if isinstance(node, ast.ListComp | ast.GeneratorExp):
            return self.safe(node.elt)
        if isinstance(node, ast.Name):
            if node.id.isupper():
                return True  # a module constant: rolecall's own literal text
            if node.id in self._seen:
                return True  # x = x + ...: the other assignments decide
            values = self.scope.values.get(node.id)
            if not values:
                return False
            self._seen.add(node.id)
            try:
                return all(self.safe(v) for v in values)
            finally:
                self._seen.discard(node.id)
        if isinstance(node, ast.Subscript):
            return isinstance(node.value, ast.Name) and node.value.id.isupper()
        if isinstance(node, ast.Call):
            return self.safe_call(node)
        return False

    def safe_call(self, node: ast.Call) -> bool:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else \
            func.id if isinstance(func, ast.Name) else None
        if isinstance(func, ast.Name) and func.id in self.door:
            return True
        if isinstance(func, ast.Attribute) and name in DOOR_FUNCTIONS \
                and ast.unparse(func.value) in self.door:
            return True
        spelled = ast.unparse(func)
        if spelled == "json.dumps":
            return not any(k.arg == "ensure_ascii" for k in node.keywords)
        if spelled in SAFE_PRODUCERS:
            return True
        if isinstance(func, ast.Attribute) and name == "join":
            return self.safe(func.value) and len(node.args) == 1 and self.safe(node.args[0])
        if isinstance(func, ast.Attribute) and name in ("encode", "rstrip", "strip", "upper",
                                                        "lower", "ljust", "rjust"):
            return self.safe(func.value)  # a safe text stays safe
        return False


def _terminal_writes(tree: ast.AST, faces: bool = True
                     ) -> Iterator[tuple[ast.Call, list[ast.expr]]]:
    """Each call that writes text to a terminal, with the arguments that are the text
    (``os.write`` counts in the faces, ``tui/``: the core writes files with it)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "print":
            yield node, list(node.args)
        elif ast.unparse(func) == "os.write" and len(node.args) == 2 and faces:
            yield node, [node.args[1]]  # to a terminal: the prompts on /dev/tty
        elif isinstance(func, ast.Attribute) and func.attr == "write":
            receiver = ast.unparse(func.value)
            if receiver in ("sys.stdout", "sys.stderr", "sys.stdout.buffer",
                            "sys.stderr.buffer", "stream", "self.stream"):
                yield node, list(node.args)


def _functions(tree: ast.Module) -> Iterator[ast.AST]:
    yield tree
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def door_names(tree: ast.Module) -> set[str]:
    """What ``tree`` calls the door's functions (``shown``), or the door (``terminal``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "profiles.doors.terminal":
            names |= {a.asname or a.name for a in node.names if a.name in DOOR_FUNCTIONS}
        elif isinstance(node, ast.ImportFrom) and node.module == "profiles.doors":
            names |= {a.asname or a.name for a in node.names if a.name == "terminal"}
    return names


def terminal_bypasses(path: Path, faces: bool | None = None) -> list[str]:
    """``file:line: text`` of each terminal write that is not evidently safe (``faces``:
    the module is one of ``tui/``, by default from its path)."""
    faces = rel(path).startswith("tui/") if faces is None else faces
    tree = ast.parse(path.read_text(), str(path))
    found = []
    seen: set[int] = set()
    door = door_names(tree)
    for scope_node in _functions(tree):
        if (rel(path), getattr(scope_node, "name", "")) in TERMINAL_PASSED:
            continue
        scope = Scope(scope_node)
        check = TerminalCheck(scope, door)
        for call, args in _terminal_writes(scope_node, faces):
            if id(call) in seen or _inner_function(scope_node, call):
                continue
            seen.add(id(call))
            if not all(check.safe(a) for a in args):
                found.append(f"{rel(path)}:{call.lineno}: {ast.unparse(call)[:120]}")
    return found


def _inner_function(scope_node: ast.AST, call: ast.Call) -> bool:
    """Whether ``call`` sits in a function nested in ``scope_node`` (checked there)."""
    return any(node is not scope_node and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
               and any(inner is call for inner in ast.walk(node))
               for node in ast.walk(scope_node))


def test_the_terminal_check_sees_what_goes_around_the_door(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\nfrom profiles.doors.terminal import shown\n"
        "def ok(name, n):\n"
        "    print('literal', f'{shown(name)} {n:d} {len(name)}')\n"
        "    line = f'[{shown(name)}]'\n"
        "    sys.stderr.write(line + '\\n')\n"
        "    print(', '.join(shown(x) for x in name))\n"
        "def bad(name, event):\n"
        "    print(name)\n"
        "    print(f'by {event.caller_arn}')\n"
        "    sys.stdout.write(', '.join(name))\n"
        "    text = name\n"
        "    print(text, file=sys.stderr)\n"
        "    print(f'{name:8}')\n"
        "    os.write(2, name.encode())\n")
    found = terminal_bypasses(probe, faces=True)
    assert [line.split(":")[1] for line in found] == ["9", "10", "11", "13", "14", "15"], found


@pytest.mark.parametrize("path", [p for p in SOURCES if rel(p) not in TERMINAL_ALLOWED],
                         ids=rel)
def test_every_terminal_write_goes_through_the_door(path):
    assert terminal_bypasses(path) == []


# -- state files ----------------------------------------------------------------------------

STATE_DOOR = "profiles/doors/statefiles.py"
# (module, function) that open files themselves, and why.
FILES_ALLOWED = {
    ("tui/cli/prompt.py", "mfa_code"): "opens /dev/tty, the controlling terminal",
    ("tui/cli/keys.py", "_terminal"): "opens /dev/tty, the controlling terminal",
    ("tui/cli/__init__.py", "_discard_stdout"): "opens os.devnull to drop a dead stdout",
    ("profiles/output/target.py", "replace"): "the credentials file's own writer: its temp "
                                              "file, created O_EXCL|O_NOFOLLOW beside it",
    ("tui/cli/registry.py", "_terminal"): "opens /dev/tty, the controlling terminal",
    ("profiles/registries/sync.py", "_lock"): "an flock lock file in rolecall's private state "
                                              "dir, O_NOFOLLOW|O_NONBLOCK, checked regular",
    ("profiles/eks/kubeconfig.py", "kubectl_lock"): "kubectl's own lock beside the "
                                                    "kubeconfig, created O_EXCL|O_NOFOLLOW",
    ("tui/demo/world.py", "write_files"): "the demo's own sandbox files, in a fresh temp dir",
    ("tui/demo/world.py", "command_shim"): "the demo's own `rolecall` shim, in its temp dir",
    ("tui/demo/screenshots.py", "to_png"): "a developer's script: reads the SVGs it made",
    ("tui/demo/screenshots.py", "save"): "a developer's script: writes screenshots/",
}
OPENERS = {"open", "fdopen"}
PATH_METHODS = {"read_bytes", "read_text", "write_text", "write_bytes"}
NOT_FILES = {"webbrowser"}  # webbrowser.open(url) opens no file


def _opens(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in OPENERS:
            yield node
        elif isinstance(func, ast.Attribute):
            receiver = ast.unparse(func.value)
            opener = func.attr in OPENERS and receiver not in NOT_FILES
            if opener or (func.attr in PATH_METHODS and receiver != "statefiles"):
                yield node


def _enclosing(tree: ast.Module) -> dict[int, str]:
    """The innermost function's name for each call node (``<module>`` at top level)."""
    names: dict[int, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) \
                else name
            names[id(child)] = inner
            visit(child, inner)

    visit(tree, "<module>")
    return names


def file_bypasses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    where = _enclosing(tree)
    found = []
    for call in _opens(tree):
        function = where.get(id(call), "<module>")
        if (rel(path), function) not in FILES_ALLOWED:
            found.append(f"{rel(path)}:{call.lineno} in {function}: {ast.unparse(call)[:100]}")
    return found


def test_the_file_check_sees_every_opener(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os, webbrowser\nfrom profiles.doors import statefiles\n"
        "def f(path):\n"
        "    statefiles.read_bytes(path)\n"
        "    webbrowser.open('https://example.com')\n"
        "    open(path)\n"
        "    os.open(path, os.O_RDONLY)\n"
        "    path.read_bytes()\n"
        "    path.write_text('x')\n"
        "    path.open()\n"
        "    os.fdopen(3)\n")
    assert [line.split(":")[1].split()[0] for line in file_bypasses(probe)] == \
        ["6", "7", "8", "9", "10", "11"]


@pytest.mark.parametrize("path", [p for p in SOURCES if rel(p) != STATE_DOOR], ids=rel)
def test_every_file_rolecall_opens_goes_through_the_door(path):
    assert file_bypasses(path) == []


def test_each_allowed_opener_still_exists():
    """An allow-list entry whose function is gone is removed, not left to excuse another."""
    for (module, function), _why in FILES_ALLOWED.items():
        tree = ast.parse((ROOT / module).read_text())
        names = {n.name for n in ast.walk(tree)
                 if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        assert function in names, (module, function)


# -- children's environments ----------------------------------------------------------------
# The children's-environment door (every subprocess, Popen and os.exec*/posix_spawn goes
# through profiles.doors.children.environ) is checked in tests/test_doors_children.py.
