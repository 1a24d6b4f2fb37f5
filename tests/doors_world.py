"""Shared by the door sweeps (``tests/test_doors_*.py``): every command the parser has,
with the argv that runs it in a sweep's world, and a runner that runs one in this
process under an alarm (a blocked ``open`` is interrupted and fails the run)."""

from __future__ import annotations

import contextlib
import io
import signal
import unicodedata
from collections.abc import Iterator
from unittest import mock

from tests.conftest import World

LIMIT = 30  # seconds a command may take before it counts as blocked
ROLE_ARN_ACCOUNT = "111111111111"

# Each command and subcommand the parser has, with the argv that runs it here.
RECIPES: dict[str, list[list[str]]] = {
    "list": [["list"], ["list", "--json"]],
    "assume": [["assume", "r"], ["assume", "r", "--json"]],
    "env": [["env", "r"], ["env", "r", "--format", "json"], ["env", "r", "--server"]],
    "exec": [["exec", "r", "--", "true"]],
    "shell": [["shell", "r"]],
    "write": [["write", "r", "--as", "written"]],
    "process": [["process", "r"]],
    "sessions": [["sessions"], ["sessions", "--json"]],
    "forget": [["forget", "--all"]],
    "clean": [["clean"]],
    "doctor": [["doctor", "r"], ["doctor", "r", "--json"]],
    "lint": [["lint", "--role", "r"], ["lint", "--role", "r", "--json"]],
    "sso": [["sso"]],
    "sso login": [["sso", "login", "--no-browser"]],
    "sso logout": [["sso", "logout", "--all"]],
    "sso sync": [["sso", "sync"], ["sso", "sync", "--json"]],
    "sso status": [["sso", "status"], ["sso", "status", "--json"]],
    "discover": [["discover", "--role-name", "R", "--source", "r"]],
    "serve": [["serve", "--port", "0"]],
    "audit": [["audit"], ["audit", "--json"], ["audit", "--cloudtrail", "--role", "r"],
              ["audit", "--cloudtrail", "--role", "r", "--json"]],
    "run": [["run", "r", "--", "true"], ["run", "r", "--json", "--", "true"]],
    "console": [["console", "r", "--print"]],
    "keys": [["keys", "list"]],
    "keys add": [["keys", "add", "k", "--stdin", "--no-verify"]],
    "keys list": [["keys", "list", "--json"]],
    "keys rm": [["keys", "rm", "k", "--yes"]],
    "keys rotate": [["keys", "rotate", "k"]],
    "keys process": [["keys", "process", "k"]],
    "completion": [["completion", "bash"]],
    "prompt": [["prompt"], ["prompt", "--format", "json"]],
    "eks": [["eks", "token", "r", "--cluster", "c", "--region", "us-east-1"]],
    "eks token": [["eks", "token", "r", "--cluster", "c"]],
    "eks kubeconfig": [["eks", "kubeconfig", "r", "--cluster", "c",
                        "--server", "https://127.0.0.1:1"]],
    "sso populate": [["sso", "populate", "--dry-run"]],
    "registry": [["registry"]],
    "registry add": [["registry", "add", "t", "file:///nonexistent/t.git"]],
    "registry list": [["registry", "list", "--json"]],
    "registry sync": [["registry", "sync"]],
    "registry rm": [["registry", "rm", "t"]],
}
EXEMPT = {
    "demo": "opens the board on a sandbox of its own, whose files it has just made; the "
            "board itself is swept on its own (tests/test_doors_*.py)",
}
KEYS_STDIN = "AKIAIOSFODNN7EXAMPLE\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"


def commands() -> set[str]:
    """Every command and subcommand of the parser, spelled as the user types them."""
    from tui.cli.parser import build_parser

    _, groups = build_parser()
    found = set(groups.parsers)
    for name, parser in groups.parsers.items():
        for action in parser._actions:
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                found |= {f"{name} {sub}" for sub in action.choices}
    return found


class Blocked(BaseException):
    """The alarm went off: the command was blocked (not an Exception: main() never
    reports it as its own failure)."""


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    def ring(signum, frame):
        raise Blocked(f"blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run(*argv: str) -> tuple[int, str, str]:
    """``rolecall ARGV`` in this process, under the alarm; exec, the board, a demo and
    serve's wait are stood in for (nothing replaces or blocks the test process)."""
    import tui.board.app
    import tui.cli.child
    import tui.cli.keys
    import tui.cli.serve
    import tui.demo.world
    from tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    no_tty = OSError(6, "No such device or address")
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(tui.cli.child, "execute", return_value=0))
        stack.enter_context(mock.patch.object(tui.board.app, "run_app", return_value=0))
        stack.enter_context(mock.patch.object(tui.demo.world, "run_demo", return_value=0))
        stack.enter_context(mock.patch.object(tui.cli.serve, "wait_for_stop", return_value=0))
        stack.enter_context(mock.patch.object(tui.cli.keys, "_terminal", side_effect=no_tty))
        stack.enter_context(mock.patch("sys.stdin", io.StringIO(KEYS_STDIN)))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        with alarm(LIMIT):
            code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def sweep_world(world: World, monkeypatch) -> None:
    """One role ``r`` (a moto role from the base identity), a catalog, an endpoint dir."""
    arn = world.moto.create_role(ROLE_ARN_ACCOUNT, "Swept")
    world.write_config(f"[profile base]\nregion = us-east-1\n\n"
                       f"[profile r]\nrole_arn = {arn}\nsource_profile = base\n")
    world.base_profile()
    world.catalog.write_text('[settings]\nrefresh_window = "5m"\n')
    for key, value in {"ROLECALL_RUNTIME_DIR": str(world.home / "run"), "SHELL": "true",
                       "ROLECALL_FEDERATION_URL": "http://127.0.0.1:9/federation",
                       "AWS_ENDPOINT_URL_CLOUDTRAIL": "http://127.0.0.1:9"}.items():
        monkeypatch.setenv(key, value)
    for key in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(key, raising=False)




# -- what may reach a terminal ----------------------------------------------------------

BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def raw_controls(text: str | bytes, newline: bool = True) -> list[str]:
    """Each character in ``text`` a terminal would act on, or that hides or reorders what
    is shown: C0 (``\\n`` allowed when ``newline``), DEL, C1, bidi controls, zero-width
    and other format characters, line and paragraph separators, and (bytes) anything
    that is not UTF-8. Empty when ``text`` is safe on a terminal."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [f"not UTF-8 at byte {exc.start}"]
    found = []
    for char in text:
        if char == "\n" and newline:
            continue
        if char in BIDI or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            found.append(repr(char))
    return found
