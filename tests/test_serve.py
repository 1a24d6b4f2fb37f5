"""The credential endpoint in-process (see docs/architecture.md, Credential endpoint): its HTTP
contract, renewal and MFA.

The engine, keyring and moto are real; an :class:`~tests.serve_world.StsGate` in front
of moto counts STS calls and holds them open when a race must be real. The endpoint's
clock is injected (the clock tests across processes use faketime).
"""

from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
import time

import pytest
from botocore.credentials import ContainerProvider

from profiles.config import inventory
from profiles.errors import UsageError
from profiles.ops import journal
from profiles.ops.renewal import MfaDesk, Renewer
from profiles.ops.server import CredentialServer
from profiles.sessions import sts
from profiles.workspace import Workspace
from tests.helpers import MFA_SERIAL, chain_config
from tests.serve_world import StsGate


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Prompt:
    """An MFA prompt the test answers: ``asked`` holds each question, ``answer`` replies."""

    def __init__(self) -> None:
        self.asked: queue.Queue[tuple[str, str]] = queue.Queue()
        self.replies: queue.Queue[str | None] = queue.Queue()

    def __call__(self, serial: str, role: str) -> str:
        self.asked.put((serial, role))
        reply = self.replies.get(timeout=60)
        if reply is None:
            raise RuntimeError("dismissed")  # as the board's dialog does
        return reply


@pytest.fixture
def gate(world, monkeypatch):
    g = StsGate(world.moto.url)
    for key, value in (("AWS_ENDPOINT_URL", g.url),
                       ("ROLECALL_RUNTIME_DIR", str(world.home / "run"))):
        world.env[key] = value
        monkeypatch.setenv(key, value)
    sts._local.__dict__.clear()
    yield g
    g.stop()
    sts._local.__dict__.clear()


@pytest.fixture
def started():
    servers: list[CredentialServer] = []

    def start(ws: Workspace, prompt=None, **kwargs) -> CredentialServer:
        """The endpoint for ``ws``; requests wait up to 30 s unless ``wait`` says (the
        machine may be loaded: only tests about the bound set it)."""
        kwargs.setdefault("wait", 30)
        desk_options = {k: kwargs.pop(k) for k in ("timeout",) if k in kwargs}
        desk = MfaDesk(prompt or Prompt(), where="in the test", **desk_options)
        server = CredentialServer(Renewer(ws.engine, desk, **kwargs)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def get(server: CredentialServer, role: str, token: str | None = "", **headers):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    if token is not None:
        headers["Authorization"] = token or server.token
    conn.request("GET", server.url(role)[len(server.url()):], headers=headers)
    answer = conn.getresponse()
    raw = answer.read()
    conn.close()
    return answer.status, raw, dict(answer.getheaders())


def workspace(clock: Clock | None = None) -> Workspace:
    return Workspace(clock=clock or Clock(), inv=inventory.load(), via="serve")


def test_a_token_is_required_and_compared(world, gate, started):
    chain_config(world)
    server = started(workspace())
    status, raw, headers = get(server, "hop2", token=None)
    assert status == 401 and json.loads(raw)["code"] == "Unauthorized"
    status, raw, _ = get(server, "hop2", token="x" * 43)
    assert status == 403 and json.loads(raw) == {"code": "Forbidden", "message": "wrong token"}
    assert gate.actions["AssumeRole"] == 0  # refused before anything is assumed
    status, raw, headers = get(server, "hop2")
    assert status == 200, raw
    body = json.loads(raw)
    assert set(body) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn",
                         "AccountId"}
    assert body["AccountId"] == "222222222222" and body["RoleArn"].endswith(":role/Hop2")
    assert headers["Cache-Control"] == "no-store"
    assert server.refused == 2 and server.served == {"hop2": 1}


def test_an_unknown_role_is_a_one_line_json_404(world, gate, started):
    chain_config(world)
    server = started(workspace())
    for role in ("nope", "base", "a\nb", "../hop2"):
        status, raw, _ = get(server, role)
        assert status == 404, (role, raw)
        assert raw.count(b"\n") == 1 and raw.endswith(b"\n")
        assert json.loads(raw)["code"] in ("RoleNotServed", "NotFound")
    status, raw, _ = get(server, "")
    assert status == 404 and b"/role/ROLE" in raw


def test_an_exec_endpoint_serves_its_role_only(world, gate, started):
    chain_config(world)
    server = started(workspace(), roles={"hop2"})
    assert get(server, "hop1")[0] == 404
    assert get(server, "hop2")[0] == 200


def test_web_pages_are_refused(world, gate, started):
    """A page a browser opens cannot ask (an Origin header), nor a rebound DNS name."""
    chain_config(world)
    server = started(workspace())
    assert get(server, "hop2", Origin="https://evil.example")[0] == 403
    assert get(server, "hop2", Host=f"evil.example:{server.port}")[0] == 403
    assert get(server, "hop2", Host=f"localhost:{server.port}")[0] == 200


def _outside_address() -> str | None:
    """This machine's address on its default route, if it has one that is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "::1", "localhost", "10.0.0.1", ""])
def test_it_binds_nothing_but_loopback(world, host):
    with pytest.raises(UsageError, match="127.0.0.1 only"):
        CredentialServer(None, host=host)  # type: ignore[arg-type]


def test_the_socket_is_on_loopback_only(world, gate, started):
    chain_config(world)
    server = started(workspace())
    assert server.socket.getsockname()[0] == "127.0.0.1"
    outside = _outside_address()
    if outside is not None:
        with pytest.raises(OSError), socket.create_connection((outside, server.port), 2):
            pass


def test_botocores_container_provider_reads_it(world, gate, started):
    chain_config(world)
    server = started(workspace())
    provider = ContainerProvider(environ={
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url("hop2"),
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": server.token})
    creds = provider.load()
    import boto3

    client = boto3.client("sts", region_name="us-east-1", endpoint_url=world.moto.url,
                          aws_access_key_id=creds.access_key,
                          aws_secret_access_key=creds.secret_key, aws_session_token=creds.token)
    assert client.get_caller_identity()["Arn"].startswith(
        "arn:aws:sts::222222222222:assumed-role/Hop2/")
    assert creds.method == "container-role"


def _seeded(world, clock: Clock, left_after: float):
    """hop2 assumed for 15 minutes, then the clock moved so ``left_after`` seconds remain."""
    chain_config(world)
    ws = workspace(clock)
    first = ws.assume("hop2", duration="15m").session
    clock.offset = first.seconds_left(clock()) - left_after
    return ws, first


def test_a_session_with_11_minutes_left_is_renewed(world, gate, started):
    clock = Clock()
    ws, first = _seeded(world, clock, 11 * 60)
    before = gate.assumed.copy()
    server = started(ws)
    status, raw, _ = get(server, "hop2")
    body = json.loads(raw)
    assert status == 200
    assert body["AccessKeyId"] != first.credentials.access_key_id
    from profiles.model import parse_iso

    assert parse_iso(body["Expiration"]).timestamp() - clock() > 15 * 60
    assert sum(gate.assumed.values()) - sum(before.values()) == 1  # hop1 had enough left
    entries = [e for e in journal.entries() if e.via == "serve" and e.role == "hop2"]
    assert entries and entries[-1].result == "ok"


def test_twenty_requests_during_a_renewal_cause_one_assume_role(world, gate, started):
    clock = Clock()
    ws, first = _seeded(world, clock, 11 * 60)
    server = started(ws, wait=60)
    gate.hold.clear()
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(get(server, "hop2")))
               for _ in range(20)]
    for thread in threads:
        thread.start()
    renewer = server.renewer
    deadline = time.monotonic() + 30
    while not (renewer.waiting.get("hop2") == 20 and gate.held == 1):
        assert time.monotonic() < deadline, (renewer.waiting, gate.held)
        time.sleep(0.005)
    gate.hold.set()
    for thread in threads:
        thread.join(60)
    assert [r[0] for r in results] == [200] * 20
    keys = {json.loads(r[1])["AccessKeyId"] for r in results}
    assert len(keys) == 1 and first.credentials.access_key_id not in keys
    hop2 = ws.inventory.role("hop2").role_arn
    assert gate.assumed[hop2] == 2  # the 15-minute one, then the one renewal


def test_a_slow_renewal_still_serves_the_valid_session(world, gate, started):
    """botocore waits 2 seconds: a request is not held longer; it gets the session it
    had (11 minutes left, valid) and the renewal lands for the next one."""
    clock = Clock()
    ws, first = _seeded(world, clock, 11 * 60)
    server = started(ws, wait=0.2)
    gate.hold.clear()
    status, raw, _ = get(server, "hop2")
    assert status == 200 and json.loads(raw)["AccessKeyId"] == first.credentials.access_key_id
    gate.hold.set()
    deadline = time.monotonic() + 30
    while json.loads(get(server, "hop2")[1])["AccessKeyId"] == first.credentials.access_key_id:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_no_session_and_a_slow_renewal_is_a_503_then_recovers(world, gate, started):
    chain_config(world)
    server = started(workspace(), wait=0.2)
    gate.hold.clear()
    status, raw, headers = get(server, "hop2")
    assert status == 503 and headers["Retry-After"] == "5"
    assert "renewing the session of hop2" in json.loads(raw)["message"]
    gate.hold.set()
    server.renewer.wait = 30
    assert get(server, "hop2")[0] == 200


def test_a_refusal_is_a_502_and_sts_is_not_asked_again_at_once(world, gate, started):
    chain_config(world)
    server = started(workspace(), hold=60)
    gate.fail.append(("AccessDenied", "User is not authorized to perform: sts:AssumeRole"))
    status, raw, _ = get(server, "hop1")
    body = json.loads(raw)
    assert status == 502 and body["code"] == "AccessDenied", body
    calls = gate.actions["AssumeRole"]
    for _ in range(10):  # the SDK retries: each gets the same answer, no STS call
        assert get(server, "hop1")[0] == 502
    assert gate.actions["AssumeRole"] == calls


def mfa_world(world) -> None:
    role = world.moto.create_role("111111111111", "Mfa")
    chain_config(world, f"\n[profile m1]\nrole_arn = {role}\nsource_profile = base\n"
                        f"mfa_serial = {MFA_SERIAL}\n")


def test_an_mfa_prompt_that_gets_no_code_is_a_503_and_a_code_recovers(world, gate, started):
    mfa_world(world)
    prompt = Prompt()
    server = started(workspace(), prompt, wait=0.3)
    status, raw, _ = get(server, "m1")
    assert status == 503, raw  # renewing, or (once it asks) awaiting the code
    assert prompt.asked.get(timeout=30) == (MFA_SERIAL, "m1")
    status, raw, _ = get(server, "m1")
    body = json.loads(raw)
    assert status == 503 and body["code"] == "MfaCodeNeeded"
    assert f"waiting for the MFA code for {MFA_SERIAL} (m1)" in body["message"]
    assert "type it in the test" in body["message"]
    assert prompt.asked.empty()  # the question is asked once, not per request
    prompt.replies.put("123456")
    server.renewer.wait = 30
    assert get(server, "m1")[0] == 200
    assert gate.actions["GetSessionToken"] == 1


def test_a_code_typed_after_the_renewal_gave_up_is_used(world, gate, started):
    """The renewal waits a bounded time for the code (then 503: no MFA code came); the
    question stays open, and a code typed later renews at once, with no second prompt."""
    mfa_world(world)
    prompt = Prompt()
    server = started(workspace(), prompt, wait=30, timeout=0.3, hold=60)
    status, raw, _ = get(server, "m1")
    assert status == 503 and "no MFA code for" in json.loads(raw)["message"]
    assert get(server, "m1")[0] == 503  # held: no new renewal, no new question
    prompt.replies.put("123456")
    deadline = time.monotonic() + 30
    while (status := get(server, "m1")[0]) != 200:
        assert status == 503 and time.monotonic() < deadline
        time.sleep(0.01)
    assert prompt.asked.qsize() == 1
    assert gate.actions["GetSessionToken"] == 1


def test_a_dismissed_prompt_is_a_503_and_the_next_renewal_asks_again(world, gate, started):
    mfa_world(world)
    prompt = Prompt()
    server = started(workspace(), prompt, wait=30, hold=0)
    prompt.replies.put(None)
    status, raw, _ = get(server, "m1")
    assert status == 503 and "cancelled" in json.loads(raw)["message"]
    prompt.replies.put("654321")
    assert get(server, "m1")[0] == 200
    assert prompt.asked.qsize() == 2


def test_an_sso_role_that_needs_a_login_is_a_503_naming_the_login(world, gate, started):
    """No token for the role's IAM Identity Center session: 503 with `sso login`, as an
    MFA code is awaited (a person mends it), and no STS or portal call."""
    world.write_config("[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
                       "sso_region = us-east-1\n\n[profile dev]\nsso_session = corp\n"
                       "sso_account_id = 333333333333\nsso_role_name = ReadOnly\n")
    server = started(workspace())
    status, raw, headers = get(server, "dev")
    assert status == 503, raw
    body = json.loads(raw)
    assert body["code"] == "LoginRequired" and "rolecall sso login corp" in body["message"]
    assert raw.count(b"\n") == 1 and headers["Retry-After"] == "5"
    assert sum(gate.actions.values()) == 0
