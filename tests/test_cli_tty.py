"""The MFA prompt on a real terminal: a pseudo-terminal that is the CLI's controlling
tty, with stdin at /dev/null and stdout a pipe, so the code can only come from the tty."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import termios
import time

from tests.helpers import MFA_SERIAL, assert_fails, chain_config, environ, run_detached

# Makes the pty on fd 0 the controlling terminal of a new session, then gives the CLI
# /dev/null as stdin: what it reads from the terminal it must read through /dev/tty.
# The keyboard's signals get their default disposition first, as a terminal's shell gives
# them: a suite started in the background (`nohup ... &`, a CI runner) ignores SIGINT and
# SIGQUIT, and an ignored signal stays ignored across exec (Python would then never raise
# KeyboardInterrupt for the Ctrl-C these tests type).
LAUNCH = ("import fcntl, os, signal, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
          "[signal.signal(s, signal.SIG_DFL) for s in "
          "(signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP)]; "
          "null = os.open(os.devnull, os.O_RDONLY); os.dup2(null, 0); "
          "os.execv(sys.executable, [sys.executable, '-m', 'tui', *sys.argv[1:]])")


class Terminal:
    """The CLI on a pty: ``expect`` what it writes there, ``type`` into it."""

    def __init__(self, world, *args: str) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, *args], stdin=slave, stdout=subprocess.PIPE,
            stderr=slave, env=environ(world), cwd=world.home, start_new_session=True)
        os.close(slave)
        self.screen = b""

    def expect(self, needle: bytes, timeout: float = 30) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.screen:
            ready, _, _ = select.select([self.master], [], [], deadline - time.monotonic())
            assert ready, (needle, self.screen)
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the other side closed
                chunk = b""
            assert chunk, (needle, self.screen)
            self.screen += chunk
        return self.screen

    def type(self, text: bytes) -> None:
        os.write(self.master, text)

    def echo_on(self) -> bool:
        return bool(termios.tcgetattr(self.master)[3] & termios.ECHO)

    def finish(self) -> tuple[int, str]:
        stdout, _ = self.proc.communicate(timeout=60)
        try:
            while chunk := os.read(self.master, 4096):
                self.screen += chunk
        except OSError:
            pass
        os.close(self.master)
        return self.proc.returncode, stdout.decode()


def mfa_world(world) -> None:
    role = world.moto.create_role("111111111111", "Mfa")
    chain_config(world, f"\n[profile m1]\nrole_arn = {role}\nsource_profile = base\n"
                        f"mfa_serial = {MFA_SERIAL}\n")


def test_mfa_prompt_reads_the_terminal_without_echo(world):
    mfa_world(world)
    term = Terminal(world, "assume", "m1", "--json")
    term.expect(f"MFA code for {MFA_SERIAL} (m1): ".encode())
    assert not term.echo_on()  # the code will not show as it is typed
    term.type(b"123456\n")
    status, stdout = term.finish()
    assert status == 0, term.screen
    data = json.loads(stdout)  # the prompt went to the terminal, not to stdout
    assert [h["kind"] for h in data["chain"]] == ["mfa", "role"]
    assert data["assumed_role_arn"].startswith("arn:aws:sts::111111111111:assumed-role/Mfa/")
    assert b"123456" not in term.screen
    assert term.screen.endswith(b": \r\n")  # the line ends after the hidden code


def test_interrupting_the_prompt_restores_echo(world):
    mfa_world(world)
    term = Terminal(world, "assume", "m1")
    term.expect(b"MFA code for ")
    assert not term.echo_on()
    term.type(b"12")
    term.type(bytes([termios.tcgetattr(term.master)[6][termios.VINTR][0]]))  # Ctrl-C
    term.expect(b"rolecall: interrupted")
    assert term.echo_on()
    status, stdout = term.finish()
    assert (status, stdout) == (130, "")
    assert b"12" not in term.screen.replace(b"MFA code for", b"")


def test_a_wrong_code_on_the_terminal_is_one_line(world):
    mfa_world(world)
    term = Terminal(world, "assume", "m1")
    term.expect(b"MFA code for ")
    term.type(b"12x\n")
    status, stdout = term.finish()
    assert status == 2 and stdout == ""
    assert b"rolecall: an MFA code is 6 digits" in term.screen and b"Traceback" not in term.screen


def test_no_terminal_says_pass_mfa_code(world):
    mfa_world(world)
    assert_fails(run_detached(world, "assume", "m1"), 2, "no terminal", "--mfa-code")
