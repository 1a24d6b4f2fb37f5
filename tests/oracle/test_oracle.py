"""The differential oracle: for every scenario in ``tests/oracle/corpus``, resolve the
role profile with botocore itself and with rolecall, record the STS calls both make
through one recording proxy in front of moto, and compare them hop by hop: operation,
RoleArn, ExternalId, DurationSeconds, RoleSessionName, SerialNumber and TokenCode, the
signing credentials, the endpoint and the signing region. Only the differences listed in
``differences.py`` may appear, and only where a scenario expects them."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import botocore.session
import pytest

from profiles.config import inventory
from tests.oracle import corpus, large
from tests.oracle.differences import DIFFERENCES
from tests.oracle.harness import CLEARED, CODE, Oracle, compare, environment
from tests.oracle.outcome import Outcome, calls_of

SCENARIOS = corpus.load()
AWS = str(Path(sys.executable).parent / "aws")


@pytest.fixture(scope="module")
def oracle(moto):
    o = Oracle(moto.url)
    yield o
    o.stop()


@pytest.fixture
def world_of(oracle, tmp_path, monkeypatch):
    """Write a scenario's files and enter its environment."""

    def go(scenario: corpus.Scenario, mode: str = "session"):
        files = oracle.prepare(scenario, tmp_path / mode, mode)
        for key in CLEARED:
            monkeypatch.delenv(key, raising=False)
        for key, value in files.env.items():
            monkeypatch.setenv(key, value)
        return files

    return go


@pytest.fixture
def run(oracle, world_of):
    def go(scenario: corpus.Scenario, mode: str = "session"):
        files = world_of(scenario, mode)
        with oracle.observing():
            return oracle.botocore(scenario), oracle.rolecall(scenario, files)

    return go


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_rolecall_makes_the_sts_calls_botocore_makes(scenario, run):
    botocore_side, rolecall_side = run(scenario)
    compare(scenario, botocore_side, rolecall_side)
    if scenario.mfa:  # direct mode is botocore's own: no MFA session to take out
        botocore_side, rolecall_side = run(scenario, "direct")
        compare(scenario, botocore_side, rolecall_side,
                tuple(e for e in scenario.expect if e != "mfa-session-mode"))


def test_the_corpus_cites_its_sources_and_uses_only_listed_differences():
    assert len(SCENARIOS) >= 70
    for scenario in SCENARIOS:
        assert scenario.source, scenario.id
        assert set(scenario.expect) <= {d.id for d in DIFFERENCES.values()
                                        if d.apply and not d.always}, scenario.id
    used = {name for s in SCENARIOS for name in s.expect}
    for difference in DIFFERENCES.values():
        assert difference.reason
        assert difference.id in used or difference.apply is None or difference.always, \
            difference.id


def test_a_7000_line_config_resolves_as_botocore_resolves_it(oracle, world_of):
    """Every role of a real-shaped 7,000-line config loads unbroken; every 20th is resolved
    by both sides (botocore through one session over the file, as the AWS CLI keeps one)."""
    text = large.generate()
    assert len(text.splitlines()) >= 7000
    names = large.roles(text)
    scenario = corpus.Scenario(id="large", source="tests/oracle/large.py", role="",
                               config=text.encode(), credentials=large.CREDENTIALS,
                               mfa=CODE, sso_token="corp")
    files = world_of(scenario)
    started = time.perf_counter()
    inv = inventory.load(files.config, files.credentials, files.catalog)
    seconds = time.perf_counter() - started
    print(f"\nloaded {len(text.splitlines())} lines, {len(inv.roles)} roles in {seconds:.3f}s")
    sso = [n for n, r in inv.roles.items() if r.sso_session == "corp"]  # its SSO profiles
    assert not inv.broken and [n for n in inv.roles if n not in set(sso)] == names
    assert len(sso) == 339 and all(n.endswith("-readonly") for n in sso)
    session = botocore.session.Session()
    with oracle.observing():
        for name in names[::20] + sso[::40]:
            mfa = ("mfa-session-mode",) if inv.roles[name].mfa_serial else ()
            one = replace(scenario, id=f"large-{name}", role=name, expect=mfa)
            compare(one, oracle.botocore(one, session),
                    oracle.rolecall(one, files, inv, fresh=False))


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.cli], ids=lambda s: s.id)
def test_the_aws_cli_and_the_rolecall_cli_make_the_same_calls(scenario, oracle, world_of,
                                                              secret_service):
    """Black boxes through the same proxy (their endpoint: AWS_ENDPOINT_URL, which needs a
    region to sign for: AWS_DEFAULT_REGION unless the scenario sets one): `aws sts
    get-caller-identity --profile ROLE` and `rolecall assume ROLE`."""
    files = world_of(scenario)
    env = {"AWS_DEFAULT_REGION": "us-east-1", **environment(files),
           "AWS_ENDPOINT_URL": oracle.proxy.url,
           "ROLECALL_KEYRING_SERVICE": f"rolecall-oracle-{uuid.uuid4().hex[:8]}"}
    home = files.state.parent
    oracle.proxy.take()
    aws = subprocess.run([AWS, "sts", "get-caller-identity", "--profile", scenario.role],
                         env=env, capture_output=True, text=True, timeout=60, cwd=home)
    assert aws.returncode == 0, aws.stderr
    calls = [c for c in calls_of(oracle.proxy.take()) if c.op != "GetCallerIdentity"]
    ours = subprocess.run([sys.executable, "-m", "tui", "assume", scenario.role], env=env,
                          capture_output=True, text=True, timeout=60, cwd=home)
    assert ours.returncode == 0, ours.stderr
    compare(scenario, Outcome(True, calls), Outcome(True, calls_of(oracle.proxy.take())))
