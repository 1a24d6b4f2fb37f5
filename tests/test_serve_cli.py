"""``exec --server``, ``serve`` and ``env ROLE --server`` through the real CLI, with the
AWS CLI and boto3's own container provider as the clients, against moto."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import MFA_SERIAL, assert_fails, chain_config, environ
from tests.test_cli_tty import Terminal

AWS = str(Path(sys.executable).with_name("aws"))
STATIC = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
          "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")

# The child: where the token is (argv of any process, the environment), and what boto3's
# own provider chain makes of the environment.
CHILD = r"""
import json, os
token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"].encode()
in_argv = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if token in f.read():
                in_argv.append(pid)
    except OSError:
        pass
import boto3
session = boto3.Session()
print(json.dumps({"env": sorted(k for k in os.environ if k.startswith("AWS_")),
                  "in_argv": in_argv, "method": session.get_credentials().method,
                  "arn": session.client("sts").get_caller_identity()["Arn"],
                  "uri": os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]}))
"""


@pytest.fixture
def served(world):
    world.env["ROLECALL_RUNTIME_DIR"] = str(world.home / "run")
    world.env["AWS_PROFILE"] = "base"  # the child must not inherit it
    world.env["AWS_ACCESS_KEY_ID"] = "AKIDSTALE"  # nor stale static keys
    chain_config(world)
    return world


def test_exec_server_gives_the_child_the_endpoint_and_nothing_else(served):
    proc = served.run("exec", "--server", "hop2", "--", sys.executable, "-c", CHILD)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in seen["env"]
    assert not set(STATIC) & set(seen["env"]), seen["env"]
    assert seen["in_argv"] == []  # the token is in no process's argv
    assert seen["method"] == "container-role"
    assert seen["arn"].startswith("arn:aws:sts::222222222222:assumed-role/Hop2/")
    assert seen["uri"].startswith("http://127.0.0.1:") and seen["uri"].endswith("/role/hop2")
    port = int(seen["uri"].split(":")[2].split("/")[0])
    with pytest.raises(OSError):  # the endpoint stopped with the child
        socket.create_connection(("127.0.0.1", port), 2).close()


def test_the_aws_cli_in_the_child_uses_the_endpoint(served):
    proc = served.run("exec", "--server", "hop3", "--", AWS, "sts", "get-caller-identity")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Arn"].startswith(
        "arn:aws:sts::333333333333:assumed-role/Hop3/")


def test_exec_server_exits_with_the_childs_status(served):
    assert served.run("exec", "--server", "hop1", "--", "sh", "-c", "exit 7").returncode == 7
    proc = served.run("exec", "--server", "hop1", "--", "no-such-command-here")
    assert_fails(proc, 127, "command not found")
    assert_fails(served.run("exec", "--server", "hop1"), 2, "no command given")
    assert_fails(served.run("exec", "--server", "nope", "--", "true"), 2, "unknown role")


TRAP = r"""
import os, signal, sys
ints = []
signal.signal(signal.SIGINT, lambda *_: (ints.append(1), os.write(2, b"int\n")))
def term(*_):
    print(f"ints={len(ints)}", flush=True)
    sys.exit(3)
signal.signal(signal.SIGTERM, term)
os.write(2, b"ready\n")
while True:
    signal.pause()
"""


def test_sigterm_is_forwarded_and_a_terminal_ctrl_c_arrives_once(served):
    """Ctrl-C on the terminal reaches CMD once (a second would make Terraform abandon
    its run); SIGTERM sent to rolecall alone is forwarded; rolecall exits with CMD's
    status. SIGTERM is taken after the SIGINT, so a forwarded SIGINT would come first."""
    term = Terminal(served, "exec", "--server", "hop1", "--", sys.executable, "-c", TRAP)
    term.expect(b"ready")
    term.type(b"\x03")
    term.expect(b"int")
    os.kill(term.proc.pid, signal.SIGTERM)
    status, stdout = term.finish()
    assert status == 3, term.screen
    assert stdout.strip() == "ints=1"


def start_serve(world, *args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tui", "serve", *args], env=environ(world),
                            cwd=world.home, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("rolecall serve: http://127.0.0.1:"), (line, proc.stderr.read())
    return proc, line.split()[2].split("/role/")[0]


def stop(proc: subprocess.Popen) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def ask(url: str, token: str | None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_and_env_server(served):
    proc, base = start_serve(served)
    try:
        record = served.home / "run" / "endpoint.json"
        assert record.stat().st_mode & 0o777 == 0o600
        token = json.loads(record.read_text())["token"]
        env = served.run("env", "hop2", "--server")
        assert env.returncode == 0, env.stderr
        assert "AWS_ACCESS_KEY_ID" in env.stdout.splitlines()[0]  # unset first
        assert f"{base}/role/hop2" in env.stdout and token in env.stdout
        shell = subprocess.run(["sh", "-c", f'eval "$1"; exec {AWS} sts get-caller-identity',
                                "sh", env.stdout], capture_output=True, text=True,
                               env=environ(served), cwd=served.home, timeout=60)
        assert shell.returncode == 0, shell.stderr
        assert ":assumed-role/Hop2/" in json.loads(shell.stdout)["Arn"]
        assert ask(f"{base}/role/nope", token)[0] == 404
        assert ask(f"{base}/role/hop1", None)[0] == 401
        assert ask(f"{base}/role/hop1", token[:-1] + "x")[0] == 403
        assert_fails(served.run("env", "nope", "--server"), 2, "unknown role")
        assert_fails(served.run("env", "hop1", "--server", "--duration", "1h"), 2,
                     "--server takes no assume options")
        again = subprocess.run([sys.executable, "-m", "tui", "serve"], env=environ(served),
                               capture_output=True, text=True, timeout=60, cwd=served.home)
        assert_fails(again, 1, "an endpoint already runs")
    finally:
        status, out, err = stop(proc)
    assert status == 0 and "stopped" in out, err
    assert token not in out + err
    assert_fails(served.run("env", "hop2", "--server"), 1, "no credential endpoint is running")
    proc, again = start_serve(served)  # a restart keeps the port and the token
    try:
        assert again == base
        assert ask(f"{base}/role/hop1", token)[0] == 200
    finally:
        stop(proc)


def _listening(port: int) -> list[str]:
    """Local addresses of TCP sockets listening on ``port`` (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    found.append(local.rsplit(":", 1)[0])
    return found


def test_serve_port_binds_loopback_only(served):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc, base = start_serve(served, "--port", str(port))
    try:
        assert base == f"http://127.0.0.1:{port}"
        assert _listening(port) == ["0100007F"]  # 127.0.0.1, and nothing else
        taken = served.run("serve", "--port", str(port), env={"ROLECALL_RUNTIME_DIR": str(
            served.home / "other")})
        assert_fails(taken, 1, f"cannot listen on 127.0.0.1:{port}")
    finally:
        stop(proc)
    for bad in ("abc", "70000", "-1", "٣"):
        assert_fails(served.run("serve", "--port", bad), 2, "invalid port")


def wait_for_record(world, pid: int) -> dict:
    """The endpoint file once the server ``pid`` has written it (it listens by then)."""
    from profiles.ops import endpoint_file

    deadline = time.monotonic() + 30
    while (known := endpoint_file.read(world.home / "run" / "endpoint.json")) is None or \
            known.pid != pid:
        assert time.monotonic() < deadline, "the endpoint did not start"
        time.sleep(0.01)
    return {"port": known.port, "token": known.token}


def test_serve_asks_for_an_mfa_code_on_its_terminal_while_requests_get_503(served):
    role = served.moto.create_role("111111111111", "Mfa")
    with open(served.config, "a") as config:
        config.write(f"\n[profile m1]\nrole_arn = {role}\nsource_profile = base\n"
                     f"mfa_serial = {MFA_SERIAL}\n")
    term = Terminal(served, "serve")
    record = wait_for_record(served, term.proc.pid)
    url, token = f"http://127.0.0.1:{record['port']}/role/m1", record["token"]
    answers: list = []
    first = threading.Thread(target=lambda: answers.append(ask(url, token)))
    first.start()
    term.expect(f"MFA code for {MFA_SERIAL} (m1): ".encode())
    assert not term.echo_on()
    first.join(30)
    assert answers[0][0] == 503  # not held past botocore's timeout
    status, body = ask(url, token)
    assert status == 503 and body["code"] == "MfaCodeNeeded", body
    assert "type it on the terminal running rolecall serve" in body["message"]
    term.type(b"123456\n")
    term.expect(b"serve: m1: new session")
    assert ask(url, token)[0] == 200
    os.kill(term.proc.pid, signal.SIGINT)
    status, stdout = term.finish()
    assert status == 0 and "stopped" in stdout


FETCH = r"""
import json, os, urllib.request
request = urllib.request.Request(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
    headers={"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
with urllib.request.urlopen(request, timeout=30) as answer:
    creds = json.loads(answer.read())
print(json.dumps([creds["SecretAccessKey"], creds["Token"],
                  os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]]))
"""


def _holders(root: Path, needles: list[str]) -> list[str]:
    return [str(p) for p in root.rglob("*")
            if p.is_file() and any(n.encode() in p.read_bytes() for n in needles)]


def test_no_secret_reaches_a_file_or_a_log(served):
    """The session's secret key and token, and the endpoint's token, are in no file
    under HOME (AWS files, state dir with the journal, runtime dir) and in nothing
    rolecall prints; the journal says the renewals came through the endpoint."""
    proc = served.run("exec", "--server", "hop2", "--", sys.executable, "-c", FETCH)
    assert proc.returncode == 0, proc.stderr
    needles = json.loads(proc.stdout)
    assert all(len(n) >= 20 for n in needles)
    assert not any(n in proc.stderr for n in needles)
    assert _holders(served.home, needles) == []
    proc, base = start_serve(served)
    try:
        token = json.loads((served.home / "run" / "endpoint.json").read_text())["token"]
        status, creds = ask(f"{base}/role/hop1", token)
        assert status == 200
    finally:
        _, out, err = stop(proc)
    secrets = [creds["SecretAccessKey"], creds["Token"]]
    assert not any(n in out + err for n in [*secrets, token])
    assert _holders(served.home, secrets) == []
    assert [Path(p).name for p in _holders(served.home, [token])] == ["endpoint.json"]
    vias = {json.loads(line)["via"] for line in (served.state / "journal.jsonl").open()}
    assert vias == {"serve"}


def test_a_default_profile_with_keys_is_pointed_out(served):
    """botocore uses [default]'s keys before the container provider (aws-vault#116):
    rolecall says so, and the child still gets only the endpoint's variables."""
    with open(served.credentials, "a") as creds:
        creds.write("\n[default]\naws_access_key_id = AKIDDEFAULT\n"
                    "aws_secret_access_key = shadowing\n")
    proc = served.run("exec", "--server", "hop1", "--", "sh", "-c",
                      'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI"')
    assert proc.returncode == 0
    assert "the [default] profile has aws_access_key_id" in proc.stderr
    assert proc.stdout.startswith("http://127.0.0.1:")


HOSTILE = ("prod[/]us$(id)", "team/Admin", "a b'c\"d", "ünï-çødé", "%2e%2e")


def test_hostile_role_names_are_served_by_their_own_url(served):
    """Names from the catalog reach the endpoint quoted in the URL and come back whole
    (a ``/`` in an SSO-style name, brackets, quotes, ``%``)."""
    arn = served.moto.create_role("111111111111", "Hostile")
    served.catalog.write_text("".join(f'[roles.{json.dumps(n)}]\nrole_arn = "{arn}"\n'
                                      'source = "base"\n\n' for n in HOSTILE))
    names = HOSTILE
    proc, base = start_serve(served)
    try:
        token = json.loads((served.home / "run" / "endpoint.json").read_text())["token"]
        for name in names:
            env = served.run("env", name, "--server", "--format", "json")
            assert env.returncode == 0, env.stderr
            url = json.loads(env.stdout)["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
            assert url.startswith(f"{base}/role/") and "/" not in url[len(base) + 6:]
            status, body = ask(url, token)
            assert status == 200, (name, body)
        assert ask(f"{base}/role/%2e%2e%2fhop1", token)[0] == 404
    finally:
        stop(proc)
