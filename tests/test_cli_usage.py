"""The CLI's contract at its edges: options after ROLE, exec/shell exit statuses like
env(1), every failure one ``rolecall: ...`` line, suggestions, --version, empty lists."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata

import pytest

from tests.helpers import (
    MFA_SERIAL,
    assert_fails,
    chain_config,
    environ,
    ok_json,
    process_creds,
    run_detached,
)

PRINT_ENV = ("import json, os, sys; print(json.dumps({'argv': sys.argv[1:], "
             "'expires': os.environ['AWS_CREDENTIAL_EXPIRATION'], "
             "'key': os.environ['AWS_ACCESS_KEY_ID']}))")
ROLE_CONFIG = ("[profile base]\n[profile r]\nrole_arn = arn:aws:iam::111111111111:role/R\n"
               "source_profile = base\n")


def seconds_left(expiration: str) -> float:
    return datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp() - \
        datetime.now(UTC).timestamp()


def test_version_comes_from_the_package_metadata(offline_world):
    out = offline_world.run("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"rolecall {metadata.version('rolecall')}\n" == "rolecall 0.1.0\n"


@pytest.mark.parametrize(("argv", "needle"), [
    (["asume", "r"], "unknown command 'asume'; did you mean 'assume'?"),
    (["lst", "--json"], "did you mean 'list'?"),
    (["sesions"], "did you mean 'sessions'?"),
    (["list", "--jsn"], "unknown option '--jsn' for `rolecall list`; did you mean '--json'?"),
    (["assume", "r", "--durration", "1h"], "did you mean '--duration'?"),
    (["env", "r", "--format=xml"], "invalid choice: 'xml'"),
    (["list", "extra"], "unexpected argument 'extra' for `rolecall list`"),
    (["--bogus"], "unknown option '--bogus'"),
    (["assume", "r", "--dur", "1h"], "unknown option '--dur'"),  # never abbreviated
    (["exec", "r"], "no command given"),
    (["exec", "--", "true"], "ROLE"),
    (["forget"], "--all"),
])
def test_usage_errors_are_one_line_with_a_fix(offline_world, argv, needle):
    offline_world.write_config(ROLE_CONFIG)
    err = assert_fails(offline_world.run(*argv), 2, needle)
    assert "\n  fix: " in err


def test_a_command_with_no_close_match_gets_no_guess(offline_world):
    err = assert_fails(offline_world.run("zzzzqq"), 2, "unknown command 'zzzzqq'")
    assert "did you mean" not in err


def test_hostile_argv_is_shown_inert(offline_world):
    offline_world.write_config(ROLE_CONFIG)
    err = assert_fails(offline_world.run("assume", "\x1b[2Ja\nrolecall: fake"), 2)
    assert "\x1b" not in err and "\\x1b[2Ja\\nrolecall: fake" in err
    out = subprocess.run([sys.executable, "-m", "tui", "assume", b"r\xff"], capture_output=True,
                         text=True, env=environ(offline_world), cwd=offline_world.home)
    assert_fails(out, 2, "not valid text")


def test_list_with_no_roles_says_how_to_add_one(offline_world):
    offline_world.write_config("[profile base]\nregion = eu-west-1\n")
    out = offline_world.run("list")
    assert out.returncode == 0 and out.stdout == ""
    assert out.stderr.startswith("rolecall: no roles yet: none in ~/.aws/config or "
                                 "~/rolecall.toml\n")  # the world's HOME is ~
    assert "role_arn" in out.stderr and "rolecall demo" in out.stderr
    assert ok_json(offline_world.run("list", "--json")) == []  # scripts get an empty list


def test_a_closed_pipe_is_silent_and_a_full_disk_is_one_line(offline_world):
    offline_world.write_config(ROLE_CONFIG)
    read, write = os.pipe()
    os.close(read)
    try:
        out = subprocess.run([sys.executable, "-m", "tui", "list"], stdout=write,
                             stderr=subprocess.PIPE, text=True, env=environ(offline_world),
                             cwd=offline_world.home, timeout=60)
    finally:
        os.close(write)
    assert (out.returncode, out.stderr) == (141, "")
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-m", "tui", "list"], stdout=full,
                             stderr=subprocess.PIPE, text=True, env=environ(offline_world),
                             cwd=offline_world.home, timeout=60)
    assert out.returncode == 1
    assert out.stderr == "rolecall: cannot write the output: No space left on device\n"


def test_options_after_role_for_exec_env_write_and_shell(world, tmp_path):
    chain_config(world)
    for argv in (["exec", "hop1", "--duration", "15m", "--", sys.executable, "-c", PRINT_ENV],
                 ["exec", "hop1", "--refresh", "--duration=15m", sys.executable, "-c",
                  PRINT_ENV]):
        got = ok_json(world.run(*argv))
        assert 0 < seconds_left(got["expires"]) <= 15 * 60, argv
    cached = process_creds(world, "hop1")["AccessKeyId"]
    # a cache hit with an option after ROLE is not the fast path's to serve
    got = ok_json(world.run("exec", "hop1", "--refresh", "--", sys.executable, "-c", PRINT_ENV))
    assert got["key"] != cached
    # after CMD, every word is CMD's, rolecall's option names included
    plain = ok_json(world.run("exec", "hop1", "--", sys.executable, "-c", PRINT_ENV,
                              "--refresh", "--", "--duration"))
    assert plain["argv"] == ["--refresh", "--", "--duration"] and plain["key"] == got["key"]
    env = ok_json(world.run("env", "hop1", "--refresh", "--format", "json"))
    assert env["AWS_ACCESS_KEY_ID"] != got["key"]
    world.run("forget", "--all")
    written = world.run("write", "hop1", "--duration", "15m", "--as", "short")
    assert written.returncode == 0 and "[short]" in written.stdout, written.stderr
    assert 0 < seconds_left(ok_json(world.run("env", "hop1", "-f", "json"))
                            ["AWS_CREDENTIAL_EXPIRATION"]) <= 15 * 60
    world.run("forget", "--all")
    record = tmp_path / "shell.out"
    shell = tmp_path / "fake-shell"
    shell.write_text(f"#!/bin/sh\necho \"$AWS_CREDENTIAL_EXPIRATION\" > {record}\n")
    shell.chmod(0o755)
    out = world.run("shell", "hop1", "--duration", "15m", env={"SHELL": str(shell)})
    assert out.returncode == 0, out.stderr
    assert 0 < seconds_left(record.read_text().strip()) <= 15 * 60


@pytest.mark.parametrize("path", ["fast", "full"])
def test_exec_exit_statuses_are_env_s(world, tmp_path, path):
    """127 when CMD is not found, 126 when it cannot run: from the cache-hit fast path
    (plain arguments) and from the full one (an option after ROLE)."""
    chain_config(world)
    assert world.run("assume", "hop1").returncode == 0
    options = ["--debug"] if path == "full" else []
    plain = tmp_path / "not-executable"
    plain.write_text("#!/bin/sh\necho ran\n")
    plain.chmod(0o644)
    junk = tmp_path / "exec-format"
    junk.write_bytes(b"\x00\x01 not a program")
    junk.chmod(0o755)
    cases = [("no-such-command-rolecall", 127, "command not found"),
             (str(tmp_path / "missing" / "cmd"), 127, "command not found"),
             (str(plain), 126, "Permission denied"), (str(tmp_path), 126, "Permission denied"),
             (str(junk), 126, "Exec format error")]
    for command, status, needle in cases:
        out = world.run("exec", "hop1", *options, "--", command, "arg")
        assert_fails(out, status, needle, repr(command))
    assert world.run("exec", "hop1", *options, "--", "sh", "-c", "exit 42").returncode == 42
    killed = world.run("exec", "hop1", *options, "--", "sh", "-c", "kill -TERM $$")
    assert killed.returncode == -15  # exec: CMD *is* the process; its death is ours


def test_exec_passes_undecodable_arguments_through(world):
    chain_config(world)
    out = subprocess.run([sys.executable, "-m", "tui", "exec", "hop1", "--", sys.executable,
                          "-c", "import os, sys; sys.stdout.buffer.write(os.fsencode(sys.argv[1]))",
                          b"caf\xe9\xff"], capture_output=True, env=environ(world),
                         cwd=world.home, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"caf\xe9\xff"


def test_shell_that_cannot_start_is_127_or_126(world, tmp_path):
    chain_config(world)
    plain = tmp_path / "plain-shell"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o600)
    for shell, status, needle in (("/nonexistent", 127, "command not found"),
                                  (str(plain), 126, "Permission denied")):
        out = world.run("shell", "hop1", env={"SHELL": shell})
        assert out.returncode == status, out.stderr
        lines = out.stderr.splitlines()
        assert lines[0].startswith("rolecall: shell with hop1")
        assert lines[1].startswith(f"rolecall: cannot run the shell {shell!r} (from $SHELL): "
                                   f"{needle}")
        assert lines[2].startswith("  fix: set SHELL") and "Traceback" not in out.stderr
    signalled = tmp_path / "killed-shell"
    signalled.write_text("#!/bin/sh\nkill -TERM $$\n")
    signalled.chmod(0o755)
    assert world.run("shell", "hop1", env={"SHELL": str(signalled)}).returncode == 128 + 15


def test_ctrl_c_in_the_shell_is_the_shell_s(world, tmp_path):
    """The terminal's Ctrl-C reaches rolecall too (same process group); like system(3),
    it waits on, and the shell gets the default dispositions (not inherited SIG_IGN)."""
    chain_config(world)
    shell = tmp_path / "interrupted-shell"
    shell.write_text("#!/bin/sh\nkill -INT $PPID\nkill -QUIT $PPID\necho still here\n"
                     "kill -INT $$\nexit 5\n")  # the shell's own Ctrl-C: default, it dies
    shell.chmod(0o755)
    out = world.run("shell", "hop1", env={"SHELL": str(shell)})
    assert (out.returncode, out.stdout) == (128 + 2, "still here\n"), out.stderr
    assert "interrupted" not in out.stderr


def test_sessions_columns_align_with_long_mfa_labels(world):
    m1 = world.moto.create_role("111111111111", "M1")
    chain_config(world, f"\n[profile m1]\nrole_arn = {m1}\nsource_profile = base\n"
                        f"mfa_serial = {MFA_SERIAL}\n")
    assert run_detached(world, "assume", "m1", "--mfa-code", "123456").returncode == 0
    assert world.run("assume", "hop1").returncode == 0
    lines = world.run("sessions").stdout.splitlines()
    assert lines[0].split() == ["ROLE", "EXPIRES", "LEFT", "ARN"]
    assert sorted(line.split()[0] for line in lines[1:]) == ["hop1", "m1", f"mfa:{MFA_SERIAL}"]
    starts = {re.search(r"\d{4}-\d\d-\d\dT", line).start() for line in lines[1:]}
    assert starts == {lines[0].index("EXPIRES")} == {len(f"mfa:{MFA_SERIAL}") + 2}
    arns = {line.rindex("arn:") for line in lines[1:]}
    assert len(arns) == 1 and lines[0].rindex("ARN") == arns.pop()
    assert len({line.index(" left") for line in lines[1:]}) == 1  # LEFT right-aligned
    assert json.loads(world.run("sessions", "--json").stdout)[0]["role"] == "hop1"
    assert process_creds(world, "hop1")["Version"] == 1
