"""The credential endpoint's commands (see docs/architecture.md, Credential endpoint): ``serve``,
``exec --server`` and
``env ROLE --server``.

``exec --server`` assumes ROLE first (asking for any MFA code as ``exec`` does), then
serves it on 127.0.0.1 and runs CMD with only the endpoint's two variables. rolecall
waits for CMD with every signal it forwards blocked and taken by ``sigtimedwait``, so
it can tell who sent one: a SIGINT, SIGQUIT or SIGHUP from the terminal has already
reached CMD (one process group) and is not sent again, since a second Ctrl-C makes
Terraform abandon its state; one sent to rolecall alone (``kill``) is forwarded, as is
SIGTERM. CMD starts with no signal blocked.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import threading

from profiles.doors.terminal import shown
from profiles.errors import UsageError
from tui.cli import common
from tui.cli.parser import Commands
from tui.cli.prompt import mfa_code

# (Windows has neither SIGHUP nor SIGQUIT, nor the signal masks these commands need)
FORWARDED = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
                  if hasattr(signal, n))
STOPPING = FORWARDED[:3] if hasattr(signal, "SIGHUP") else FORWARDED[:2]
SI_KERNEL = 0x80  # si_code of a signal the kernel sent: the terminal's keys, a hangup
CREDENTIAL_KEYS = ("aws_access_key_id", "role_arn", "credential_process", "sso_session",
                   "sso_start_url", "web_identity_token_file")


class TerminalPrompt:
    """The MFA prompt on the controlling terminal, for renewals: one question at a
    time; ``cancel()`` ends any (the echo is restored)."""

    def __init__(self, intro: str = "") -> None:
        self.intro = intro
        self._lock = threading.Lock()
        self._wake: tuple[int, int] | None = None  # made on the first question

    def __call__(self, serial: str, role: str) -> str:
        with self._lock:
            if self._wake is None:
                self._wake = os.pipe()
            return mfa_code(serial, role, cancel=self._wake[0], intro=self.intro)

    def cancel(self) -> None:
        if self._wake is not None:
            os.write(self._wake[1], b"x")


class Printer:
    """The renewer's events on stderr: failures once until the next success; renewals
    and served-while-renewing notes only when ``verbose``."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self._failed: dict[str, str] = {}

    def __call__(self, event) -> None:
        # lazy: the core when a command runs, not when the parser is built
        from profiles.durations import format_duration

        role = shown(event.role)
        if event.kind == "renewed":
            self._failed.pop(event.role, None)
            if self.verbose:
                print(f"serve: {role}: new session, {format_duration(int(event.seconds_left))} "
                      "left", file=sys.stderr, flush=True)
        elif event.kind == "failed" and self._failed.get(event.role) != event.detail:
            self._failed[event.role] = event.detail
            message, _, fix = event.detail.partition("\n  fix: ")
            print(f"rolecall: renewing {role} failed: {shown(message)}", file=sys.stderr,
                  flush=True)
            if fix:
                print(f"  fix: {shown(fix)}", file=sys.stderr, flush=True)


def _shadowing(ws) -> str | None:
    """A credential setting of the [default] profile: SDKs use it before the endpoint."""
    values = ws.inventory.aws_config.get("profiles", {}).get("default", {})
    return next((key for key in CREDENTIAL_KEYS if key in values), None)


def _warn_shadowing(ws) -> None:
    if key := _shadowing(ws):
        print(f"rolecall: note: the [default] profile has {shown(key)}: SDKs in CMD use it "
              "before "
              "the endpoint\n  fix: move those settings to a named profile", file=sys.stderr)


def _options(ns: argparse.Namespace) -> dict:
    return {"duration": ns.duration, "session_name": ns.session_name,
            "external_id": ns.external_id}


def exec_server(ns: argparse.Namespace) -> int:
    """``exec --server ROLE -- CMD``: CMD's status (127/126 when it cannot start)."""
    # lazy: the core when a command runs, not when the parser is built
    from profiles.config.follow import Follower
    from profiles.doors import children
    from profiles.ops.renewal import MIN_LEFT, MfaDesk, Renewer
    from profiles.ops.server import CredentialServer
    from profiles.output import environment

    if not ns.cmd:
        raise UsageError("no command given",
                         fix="rolecall exec --server ROLE [OPTIONS] -- CMD [ARGS...]")
    common.require(hasattr(signal, "pthread_sigmask"), "exec --server",
                   "POSIX signal masks (to forward signals to CMD)")
    ws = common.workspace(via="serve")
    options = _options(ns)
    result = ws.assume(ns.role, min_left=MIN_LEFT, mfa_code=common.mfa_codes(ns.mfa_code),
                       refresh=ns.refresh, **options)
    common.notes(result)
    _warn_shadowing(ws)
    desk = MfaDesk(TerminalPrompt("\r\nrolecall: to renew the session of the running command, "),
                   where="on this terminal")
    renewer = Renewer(ws.engine, desk, roles={ns.role}, options={ns.role: options},
                      on_event=Printer(verbose=False), follow=Follower(ws.inventory))
    renewer.seed(ns.role, result.session)
    saved = signal.pthread_sigmask(signal.SIG_BLOCK, {*FORWARDED, signal.SIGCHLD})
    try:  # blocked before the endpoint's threads start: they inherit the mask
        server = CredentialServer(renewer).start()
        try:
            variables = environment.endpoint(ns.role, server.url(ns.role), server.token,
                                             ws.inventory.role(ns.role).region)
            return supervise(ns.cmd, children.environ(variables), saved)
        finally:
            server.stop()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, saved)


def supervise(command: list[str], env: dict[str, str], mask: set) -> int:
    """Run ``command`` (with signal mask ``mask``) and wait for it, forwarding what it
    did not get already (see the module); its exit status, 128 + N for signal N."""
    # lazy: the core when a command runs, not when the parser is built
    from tui.cli.child import cannot_run

    sys.stdout.flush()
    try:
        pid = os.posix_spawnp(command[0], command, env, setsigmask=mask,
                              setsigdef=(*FORWARDED, signal.SIGPIPE, signal.SIGXFSZ))
    except (OSError, ValueError) as exc:
        return cannot_run(repr(command[0]), exc, "check the command name, PATH and the "
                          "file's execute permission")
    watched = {*FORWARDED, signal.SIGCHLD}
    timed = getattr(signal, "sigtimedwait", None)  # not on macOS: sigwait, no sender known
    while True:
        if timed is not None:
            info = timed(watched, 5)  # SIGCHLD wakes it; 5 s is only a backstop
            signo, sender = (info.si_signo, info.si_code) if info else (None, None)
        else:  # only SIGTERM is surely not the terminal's (that reached CMD already)
            signo, sender = signal.sigwait(watched), SI_KERNEL
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code
        if signo is not None and signo != signal.SIGCHLD and (
                sender != SI_KERNEL or signo == signal.SIGTERM):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signo)


def env_server(ns: argparse.Namespace) -> int:
    """``env ROLE --server``: the two variables for the running endpoint."""
    # lazy: the core when a command runs, not when the parser is built
    from urllib.parse import quote

    from profiles.ops import endpoint_file
    from profiles.output import environment

    if any(v is not None for v in _options(ns).values()) or ns.mfa_code or ns.refresh:
        raise UsageError("--server takes no assume options: the endpoint assumes each "
                         "role as configured", fix=f"rolecall env {shlex.quote(ns.role)} --server")
    ws = common.workspace(prompt=False)
    role = ws.inventory.role(ns.role)
    known = endpoint_file.running()
    url = f"http://127.0.0.1:{known.port}/role/{quote(ns.role, safe='')}"
    variables = environment.endpoint(ns.role, url, known.token, role.region)
    sys.stdout.write(environment.render(variables, ns.format))
    return 0


def wait_for_stop() -> int:
    """Block until SIGINT, SIGTERM or SIGHUP (blocked by the caller); the signal."""
    return signal.sigwait(STOPPING)


def cmd_serve(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.config.follow import Follower
    from profiles.ops import endpoint_file
    from profiles.ops.renewal import MfaDesk, Renewer

    common.require(hasattr(signal, "pthread_sigmask"), "serve",
                   "POSIX signal masks (to stop cleanly on Ctrl-C or SIGTERM)")
    port = endpoint_file.check_port(ns.port) if ns.port is not None else None
    ws = common.workspace(prompt=False, via="serve")
    desk = MfaDesk(TerminalPrompt("\r\nrolecall serve: "),
                   where="on the terminal running rolecall serve")
    renewer = Renewer(ws.engine, desk, on_event=Printer(verbose=True),
                      follow=Follower(ws.inventory))
    saved = signal.pthread_sigmask(signal.SIG_BLOCK, set(STOPPING))
    try:
        server = endpoint_file.open_shared(renewer, port).start()
        try:
            print(f"rolecall serve: {shown(server.url())}/role/ROLE for every role, token in "
                  f"{shown(endpoint_file.path())}\n"
                  "  use it in a shell: eval \"$(rolecall env ROLE --server)\"; "
                  "Ctrl-C stops it", flush=True)
            wait_for_stop()
        finally:
            endpoint_file.close_shared(server)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, saved)
    print("rolecall serve: stopped", flush=True)
    return 0


def register(commands: Commands) -> None:
    p = commands.add("serve", cmd_serve, "a loopback credential endpoint for every role "
                     "(ECS format), renewing sessions as SDKs ask", role=False)
    p.add_argument("--port", help="port on 127.0.0.1 (default: the last one, else any free)")
