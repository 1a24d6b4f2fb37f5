"""STS faults: unreachable, silent, throttling, ExpiredToken on a cached session, and
a skewed clock. Real HTTP to local servers; botocore's own retries and timeouts."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import World
from tests.fake_sts import FakeSts, SilentServer

CHAIN = """\
[profile base]

[profile hop1]
role_arn = arn:aws:iam::111111111111:role/One
source_profile = base

[profile hop2]
role_arn = arn:aws:iam::222222222222:role/Two
source_profile = hop1
"""


@pytest.fixture
def fake(world: World):
    sts = FakeSts()
    world.write_config(CHAIN)
    world.write_credentials("[base]\naws_access_key_id = AKIDFAKEBASE\n"
                            "aws_secret_access_key = fake-base-secret\n")
    world.env["AWS_ENDPOINT_URL"] = sts.url
    yield sts
    sts.stop()


def _one_line(result, code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr.startswith("rolecall: ")
    assert "Traceback" not in result.stderr
    return result.stderr


def test_unreachable_endpoint_fails_fast_with_one_line(world, fake):
    world.env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # discard port: refused
    start = time.monotonic()
    err = _one_line(world.run("assume", "hop2"), 1)
    assert "STS unreachable" in err and "fix:" in err
    assert time.monotonic() - start < 15


def test_silent_endpoint_times_out_within_15_seconds(world, fake):
    silent = SilentServer()
    world.env["AWS_ENDPOINT_URL"] = silent.url
    try:
        start = time.monotonic()
        err = _one_line(world.run("assume", "hop1"), 1)
        elapsed = time.monotonic() - start
    finally:
        silent.stop()
    assert "STS unreachable" in err or "timed out" in err.lower()
    assert elapsed < 15, elapsed
    assert len(silent.held) <= 3  # bounded retries


def test_throttling_is_retried_then_reported(world, fake):
    fake.throttle = 1  # one throttle: the retry succeeds
    ok = world.run("assume", "hop1")
    assert ok.returncode == 0, ok.stderr
    fake.throttle = 100
    err = _one_line(world.run("assume", "hop2", "--refresh"), 1)
    assert "throttled" in err and "fix: wait" in err
    assert fake.throttle == 100 - 3, fake.requests  # three attempts in all, then it gave up


def test_expired_token_on_a_cached_parent_refreshes_once(world, fake):
    assert world.run("assume", "hop1").returncode == 0
    parent_token = fake.issued[-1]
    fake.revoked.add(parent_token)  # revoked behind our back
    result = world.run("assume", "hop2", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [h["cached"] for h in data["chain"]] == [False, False]
    tokens = [r["token"] for r in fake.requests]
    assert tokens.count(parent_token) == 1  # tried once with the revoked parent


def test_expired_token_after_refresh_is_reported(world, fake):
    assert world.run("assume", "hop1").returncode == 0
    fake.revoked.add("*")
    original = fake.answer

    def revoke_everything(form):  # every new token is already expired
        xml = original(form)
        fake.revoked.add(fake.issued[-1])
        return xml

    fake.answer = revoke_everything  # type: ignore[method-assign]
    fake.revoked.add(fake.issued[-1])
    err = _one_line(world.run("assume", "hop2"), 1)
    assert "ExpiredToken" in err


def test_clock_skew_is_warned_and_corrected(world, fake):
    fake.clock_offset = 600  # STS is ten minutes ahead of this machine
    result = world.run("assume", "hop1", "--duration", "1h", "--json")
    assert result.returncode == 0, result.stderr
    assert "local clock differs from STS by 59" in result.stderr \
        or "local clock differs from STS by 600s" in result.stderr
    data = json.loads(result.stdout)
    assert 3590 <= data["seconds_left"] <= 3600  # corrected: not 4200
    sessions = json.loads(world.run("sessions", "--json").stdout)
    assert 3580 <= sessions[0]["seconds_left"] <= 3600
    listed = {r["name"]: r for r in json.loads(world.run("list", "--json").stdout)}
    assert 3580 <= listed["hop1"]["seconds_left"] <= 3600


def test_small_skew_is_not_warned(world, fake):
    fake.clock_offset = 30
    result = world.run("assume", "hop1")
    assert result.returncode == 0
    assert "clock" not in result.stderr
