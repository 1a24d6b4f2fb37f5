"""``rolecall run`` output and stopping (see docs/architecture.md, Run across accounts): lines
never torn, grouped output in
target order, ``--fail-fast``, ``--timeout``, Ctrl-C to the whole group, SIGKILL after
the grace, the ``--json`` schema and each MFA code asked once. Real CLI, moto, Secret
Service and child processes; children that must be stopped block until signalled."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers import environ
from tests.run_world import DEPLOY, MFA, alive, estate, py

# A child that blocks until signalled, after saying it is ready (with its pid and the pid
# of a grandchild it leaves in its process group).
BLOCK = """
import os, subprocess, sys, time
grand = subprocess.Popen(["sleep", "3600"])
print(f"ready {os.getpid()} {grand.pid}", flush=True)
time.sleep(3600)
"""


def wait_until(check, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_four_targets_writing_200_lines_each_never_tear_a_line(world):
    estate(world)
    # Each child writes its lines in odd-sized pieces that split lines, as fast as it can.
    code = ("import os, sys\nrole = os.environ['ROLECALL_ROLE']\n"
            "data = ''.join(f'{role} line {i:03d} ' + 'x' * (i * 7 % 300) + '\\n' "
            "for i in range(200)).encode()\n"
            "for start in range(0, len(data), 997):\n"
            "    os.write(1, data[start:start + 997])\n")
    proc = world.run("run", *DEPLOY, "--", *py(code))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout[:proc.stdout.index("\nROLE ")].splitlines()
    assert len(lines) == 800
    pattern = re.compile(r"\[([a-z-]+)\] ([a-z-]+) line (\d{3}) (x*)")
    seen: dict[str, list[int]] = {role: [] for role in DEPLOY}
    for line in lines:
        match = pattern.fullmatch(line)
        assert match and match[1] == match[2], line  # the prefix names its own line
        number = int(match[3])
        assert len(match[4]) == number * 7 % 300, line
        seen[match[1]].append(number)
    assert all(numbers == list(range(200)) for numbers in seen.values())


def test_grouped_output_gives_each_target_whole_in_target_order(world):
    estate(world)
    code = ("import os\nrole = os.environ['ROLECALL_ROLE']\n"
            "for i in range(50): print(role, i, flush=True)")
    proc = world.run("run", *reversed(DEPLOY), "--output", "grouped", "--", *py(code))
    assert proc.returncode == 0, proc.stderr
    stream = proc.stdout[:proc.stdout.index("\nROLE ")].splitlines()
    heads = [i for i, line in enumerate(stream) if line.startswith("== ")]
    assert [stream[i].split()[1] for i in heads] == DEPLOY  # board order, not argv order
    for n, start in enumerate(heads):
        role = DEPLOY[n]
        assert stream[start].startswith(f"== {role} (") and ": ok, " in stream[start]
        assert stream[start + 1:start + 51] == [f"{role} {i}" for i in range(50)]
    quiet = world.run("run", *DEPLOY, "--output", "quiet", "--", *py(code))
    assert quiet.returncode == 0 and quiet.stdout.startswith("ROLE ")


def test_fail_fast_stops_the_running_and_skips_the_rest(world):
    estate(world)
    code = ("import os, time\nif os.environ['ROLECALL_ROLE'] == 'dev-deploy':\n"
            "    print('broken', flush=True); raise SystemExit(3)\n" + BLOCK)
    proc = world.run("run", *DEPLOY, "--parallel", "2", "--fail-fast", "--json", "--",
                     *py(code))
    assert proc.returncode == 1, proc.stderr
    results = {r["role"]: r for r in json.loads(proc.stdout)["results"]}
    assert (results["dev-deploy"]["status"], results["dev-deploy"]["exit_code"]) == ("failed", 3)
    prod = results["prod-deploy"]  # was running (or about to start) when dev failed
    assert (prod["status"], prod["exit_code"]) in (("failed", 143), ("skipped", None))
    if prod["status"] == "failed":
        assert prod["error"] == "stopped: --fail-fast: dev-deploy failed (exit 3)"
        assert prod["seconds"] < 10  # SIGTERM did it, not the SIGKILL 10 s later
    for role in ("prodeu-deploy", "sandbox-deploy"):
        assert results[role]["status"] == "skipped" and results[role]["seconds"] == 0
        assert results[role]["session_name"] is None  # never assumed
    skipped = "prodeu-deploy, sandbox-deploy" if prod["status"] == "failed" else \
        "prod-deploy, prodeu-deploy, sandbox-deploy"  # dev failed before prod started
    assert f"skipped {skipped}: --fail-fast: dev-deploy" in proc.stderr


def test_a_target_past_its_timeout_is_stopped_and_the_others_finish(world):
    estate(world)
    code = ("import os\nif os.environ['ROLECALL_ROLE'] != 'prod-deploy':\n"
            "    raise SystemExit(0)\n" + BLOCK)
    proc = world.run("run", "--tag", "prod", "dev-deploy", "--timeout", "1s", "--json", "--",
                     *py(code))
    assert proc.returncode == 1, proc.stderr
    results = {r["role"]: r for r in json.loads(proc.stdout)["results"]}
    late = results["prod-deploy"]
    assert (late["status"], late["exit_code"], late["error"]) == (
        "timed out", 143, "timed out after 1s")
    assert 1 <= late["seconds"] < 10
    assert late["output"].startswith("ready ")
    assert {results[r]["status"] for r in ("dev-deploy", "prodeu-deploy")} == {"ok"}
    pids = [int(p) for p in late["output"].split()[1:3]]
    assert wait_until(lambda: not any(alive(p) for p in pids))  # the grandchild too


@pytest.mark.parametrize(("sig", "status", "reason"), [
    (signal.SIGINT, 130, "interrupted (Ctrl-C)"),  # the terminal's Ctrl-C
    (signal.SIGTERM, 143, "rolecall got SIGTERM"),  # a CI runner cancelling the job
])
def test_ctrl_c_stops_every_child_and_still_prints_the_summary(world, sig, status, reason):
    estate(world)
    code = ("import os\nif os.environ['ROLECALL_ROLE'] == 'dev-deploy':\n"
            "    raise SystemExit(0)\n" + BLOCK)
    proc = subprocess.Popen([sys.executable, "-m", "tui", "run", *DEPLOY, "--parallel", "2",
                             "--", *py(code)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=environ(world), cwd=world.home,
                            start_new_session=True, text=True)
    pids: list[int] = []
    try:
        assert proc.stdout is not None
        # dev-deploy ends at once; prod-deploy and prodeu-deploy (each with a grandchild)
        # then hold both workers, so sandbox-deploy waits in the queue
        while len(pids) < 4:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            if "] ready " in line:
                pids += [int(p) for p in line.split()[2:4]]
        os.killpg(proc.pid, sig)  # to the whole group, as a terminal does
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, err
    assert wait_until(lambda: not any(alive(p) for p in pids)), pids
    rows = {line.split()[0]: line for line in out[out.index("ROLE "):].splitlines()[1:]}
    assert " ok " in rows["dev-deploy"]
    assert "failed (exit 143)" in rows["prod-deploy"]
    assert "failed (exit 143)" in rows["prodeu-deploy"]
    assert " skipped " in rows["sandbox-deploy"]  # the Ctrl-C came before it started
    assert f"stopped: {reason}" in err and "Traceback" not in err


def test_a_child_ignoring_sigterm_is_killed_after_the_grace(world):
    from profiles.ops.run.executor import Events, Runner
    from profiles.ops.run.targets import prepare
    from profiles.workspace import Workspace

    estate(world)
    ready = threading.Event()

    class Heard(Events):
        def line(self, index, data):
            if data.startswith(b"ready"):
                ready.set()

    ws = Workspace(via="run")
    command = py("import signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                 "print('ready', flush=True)\ntime.sleep(3600)")
    runner = Runner(ws, prepare(ws, ["dev-deploy"], command), command, grace=0.2,
                    events=Heard())
    runner.start()
    assert ready.wait(30)
    started = time.monotonic()
    runner.stop("test stop")
    assert runner.wait(30)
    result = runner.results[0]
    assert (result.status, result.exit_code, result.error) == ("failed", 137,
                                                                "stopped: test stop")
    assert 0.2 <= time.monotonic() - started < 5


def test_json_is_one_object_with_exactly_the_designed_fields(world):
    estate(world)
    code = ("import os, sys\nprint('to stdout', flush=True); print('to stderr', file=sys.stderr)\n"
            "raise SystemExit(0 if os.environ['ROLECALL_ROLE'] == 'dev-deploy' else 4)")
    proc = world.run("run", "dev-deploy", "prod-deploy", "--json", "--", *py(code))
    assert proc.returncode == 1
    data = json.loads(proc.stdout)  # the whole of stdout is the object
    assert set(data) == {"results", "ok", "failed"} and (data["ok"], data["failed"]) == (1, 1)
    fields = {"role", "account_id", "account_alias", "status", "exit_code", "seconds",
              "session_name", "assumed_role_arn", "error", "output"}
    for result in data["results"]:
        assert set(result) == fields
        assert isinstance(result["seconds"], float) and result["seconds"] >= 0
        assert result["assumed_role_arn"].startswith(
            f"arn:aws:sts::{result['account_id']}:assumed-role/Deploy/")
        assert sorted(result["output"].splitlines()) == ["to stderr", "to stdout"]
    ok, bad = data["results"]
    assert (ok["role"], ok["status"], ok["exit_code"], ok["error"]) == (
        "dev-deploy", "ok", 0, None)
    assert (bad["status"], bad["exit_code"], bad["account_alias"]) == ("failed", 4, "prod")
    assert "  prod-deploy: failed (exit 4): to stderr\n" in proc.stderr  # its last line


def test_the_output_kept_per_target_is_its_last_mebibyte():
    from profiles.ops.run.results import Tail

    tail = Tail(limit=10)
    for piece in (b"abcdefgh", b"ijklmnop", b"qrstuvwxyz", b"0123"):
        tail.add(piece)
    assert tail.data() == b"uvwxyz0123" and tail.total == 30 and tail.dropped == 20
    assert tail.since(26) == b"0123" and tail.since(0) == tail.data()


def test_each_mfa_code_is_asked_once_up_front_on_the_terminal(world):
    from tests.test_cli_tty import Terminal

    estate(world, mfa=True)
    code = "import os; print(os.environ['ROLECALL_ROLE'])"
    term = Terminal(world, "run", "dev-admin", "prod-admin", "dev-deploy", "--json", "--",
                    *py(code))
    term.expect(f"MFA code for {MFA} (dev-admin): ".encode())
    term.type(b"123456\n")
    status, stdout = term.finish()
    assert status == 0, term.screen
    assert term.screen.count(b"MFA code for") == 1  # two roles, one device: asked once
    data = json.loads(stdout)
    assert [r["status"] for r in data["results"]] == ["ok"] * 3
    assert b"123456" not in term.screen


def test_on_a_terminal_a_live_table_stands_in_for_the_stream(world):
    import pty

    estate(world)
    master, slave = pty.openpty()
    code = "import os; print('hello from', os.environ['ROLECALL_ROLE'])"
    proc = subprocess.Popen([sys.executable, "-m", "tui", "run", "--tag", "prod", "--", *py(code)],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env=environ(world, COLUMNS="100", LINES="30"), cwd=world.home,
                            start_new_session=True)
    os.close(slave)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = screen.decode()
    assert "TARGET" in text and "ELAPSED" in text  # the live table was drawn
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    stream = plain[plain.rindex("ELAPSED"):]  # after the live table: the stream, then the summary
    assert "[prod-deploy] hello from prod-deploy" in stream
    assert "[prodeu-deploy] hello from prodeu-deploy" in stream
    assert "SESSION NAME" in stream and "┃" in stream  # the summary as a Rich table


def test_lines_are_split_whole_and_overlong_ones_in_pieces():
    from profiles.ops.run.executor import LINE_MAX, split_lines

    assert split_lines(b"a\nbc\nd") == ([b"a\n", b"bc\n"], b"d")
    assert split_lines(b"") == ([], b"")
    long = b"x" * (LINE_MAX + 5)
    assert split_lines(long + b"\n") == ([b"x" * LINE_MAX, b"xxxxx\n"], b"")
