"""Renewal across the clock (see docs/architecture.md, Trust boundary; Credential endpoint):
``rolecall exec --server``, its child, and
moto share one moving fake clock (libfaketime reading ``FAKETIME_TIMESTAMP_FILE`` on
every call); the child moves it. An :class:`~tests.serve_world.StsGate` in front of
moto refuses any call signed with a session expired by that clock, as AWS does, so an
SDK call with a stale session fails for real.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.helpers import chain_config
from tests.serve_world import LIBFAKETIME, FakedMoto, FileClock, StsGate

pytestmark = pytest.mark.skipif(not Path(LIBFAKETIME).exists(),
                                reason="needs libfaketime (apt-get install faketime)")

# What the child shares: move the clock (the file holds the offset in seconds).
MOVE = r"""
import json, os, sys, time, urllib.request
CLOCK = os.environ["SERVE_CLOCK"]
def move(seconds):
    with open(CLOCK) as f:
        offset = float(f.read())
    with open(CLOCK + ".tmp", "w") as f:
        f.write(f"{offset + seconds:+.0f}\n")
    os.replace(CLOCK + ".tmp", CLOCK)
def fetch():
    request = urllib.request.Request(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
        headers={"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())
def left(creds):
    from datetime import datetime
    expires = datetime.fromisoformat(creds["Expiration"].replace("Z", "+00:00"))
    return expires.timestamp() - time.time()
"""

ELEVEN_MINUTES = MOVE + r"""
first = fetch()
move(left(first) - 11 * 60)  # the session now has 11 minutes left
had = left(first)
second = fetch()
print(json.dumps({"had": had, "same": first["AccessKeyId"] == second["AccessKeyId"],
                  "left": left(second)}))
"""

# A long-lived SDK client (as Terraform keeps one), a call every simulated 5 minutes
# for 3 hours; botocore re-fetches from the endpoint when it wants to.
THREE_HOURS = MOVE + r"""
import boto3
client = boto3.client("sts")
failed, keys, lowest = [], [], None
for step in range(37):
    try:
        client.get_caller_identity()
    except Exception as exc:
        failed.append(f"{step}: {exc!r}"[:300])
    frozen = client._request_signer._credentials
    if not keys or keys[-1] != frozen.access_key:
        keys.append(frozen.access_key)
    remaining = frozen._seconds_remaining()
    lowest = remaining if lowest is None else min(lowest, remaining)
    move(300)
print(json.dumps({"calls": step + 1, "failed": failed, "keys": len(keys),
                  "lowest_left": lowest, "method": frozen.method}))
"""


@pytest.fixture(scope="module")
def timeline(tmp_path_factory):
    clock = FileClock(tmp_path_factory.mktemp("clock") / "offset")
    moto = FakedMoto(clock)
    yield clock, moto
    moto.stop()


@pytest.fixture
def shared_clock(world, timeline):
    """``world`` on the fake clock: moto behind a gate, and the CLI run under faketime."""
    clock, moto = timeline
    clock.offset = 0
    clock.advance(0)
    gate = StsGate(moto.url, clock=clock.now)
    world.moto = moto
    world.env.update(clock.env(), AWS_ENDPOINT_URL=gate.url, SERVE_CLOCK=str(clock.path))
    chain_config(world)  # base (keys) > hop1 > hop2: hop2 is chained, capped at 1 hour
    yield world, gate
    gate.stop()


def test_a_session_with_11_minutes_left_is_renewed_to_more_than_15(shared_clock):
    world, gate = shared_clock
    proc = world.run("exec", "--server", "hop2", "--", sys.executable, "-c", ELEVEN_MINUTES)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert 10 * 60 < seen["had"] <= 11 * 60 + 1  # the offset is kept in whole seconds
    assert not seen["same"] and seen["left"] > 15 * 60, seen
    assert gate.expired_refusals == 0


def test_a_three_hour_run_through_a_chained_one_hour_role_never_fails(shared_clock):
    """The seed's 90-minute Terraform apply, doubled: every SDK call succeeds, the
    credentials rotate as the hops expire, none is used stale."""
    world, gate = shared_clock
    proc = world.run("exec", "--server", "hop2", "--", sys.executable, "-c", THREE_HOURS,
                     timeout=180)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["calls"] == 37 and seen["failed"] == [], seen
    assert seen["method"] == "container-role"
    assert seen["keys"] >= 4, seen  # a new session at least every 45-60 minutes
    assert seen["lowest_left"] > 10 * 60, seen  # never into botocore's mandatory window
    assert gate.expired_refusals == 0
    hop2 = [arn for arn in gate.assumed if arn.endswith(":role/Hop2")]
    assert gate.assumed[hop2[0]] == seen["keys"]  # one AssumeRole per session handed out
    print(f"\n3-hour run: {seen['calls']} calls, {len(seen['failed'])} failed, "
          f"{seen['keys']} sessions, "
          f"{dict(gate.actions)} STS calls, lowest left {seen['lowest_left'] / 60:.1f} min")
