"""Clocks and the credential_process refresh storm (see docs/architecture.md, Trust boundary).

Freshness is judged by the caller's (local) clock; the skew STS's ``Date`` header shows
is measured again on every STS call and corrects displayed countdowns only. ``process``
never hands out a session with 15 minutes or less left when a longer one can be had,
so botocore (which refreshes credential_process credentials inside 15 minutes) runs
rolecall once, not on every request. Across processes the clock is moved by faketime.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.config import inventory
from profiles.model import Credentials, Session, parse_iso
from profiles.output import credfile
from profiles.sessions import fastpath, sts
from profiles.sessions.cache import SessionCache
from profiles.sessions.engine import Engine
from profiles.workspace import Workspace
from tests.fake_sts import FakeSts
from tests.helpers import chain_config, environ, ok_json

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
FLOOR = fastpath.CALLER_REFRESH  # botocore refreshes anything with less left
PROCESS = fastpath.PROCESS_MIN_LEFT
SLOW = settings(max_examples=max(8, EXAMPLES // 4), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def faked(world, offset: str, *args: str) -> subprocess.CompletedProcess:
    """The real CLI with its clock moved by ``offset`` (faketime's ``+2h`` syntax)."""
    return subprocess.run(["faketime", "-f", offset, sys.executable, "-m", "tui", *args],
                          capture_output=True, text=True, env=environ(world), cwd=world.home,
                          timeout=120, stdin=subprocess.DEVNULL)


def left(creds: dict, now: float) -> float:
    return parse_iso(creds["Expiration"]).timestamp() - now


def skew(world) -> float:
    return json.loads((world.state / "sessions.json").read_text())["clock_skew"]


@pytest.fixture
def ahead(world):
    """hop1 assumed for 15 minutes by a process whose clock runs 2 hours ahead."""
    chain_config(world)
    out = faked(world, "+2h", "assume", "hop1", "--duration", "15m", "--json")
    assert out.returncode == 0, out.stderr
    assert "local clock differs from STS by -7" in out.stderr  # measured: about -7200 s
    assert 850 <= json.loads(out.stdout)["seconds_left"] <= 900  # the countdown corrected
    assert -7300 < skew(world) < -7100
    return world


def test_a_caller_20_minutes_on_is_never_handed_the_expired_session(ahead):
    out = faked(ahead, "+20m", "process", "hop1")  # hop1's 15 minutes are over for it
    assert out.returncode == 0, out.stderr
    assert left(json.loads(out.stdout), time.time() + 20 * 60) > FLOOR


def test_process_after_a_skewed_assume_has_more_than_15_minutes(ahead):
    creds = json.loads(ahead.run("process", "hop1").stdout)
    assert left(creds, time.time()) > FLOOR
    assert skew(ahead) == 0  # measured again by that STS call: the clocks agree
    listed = json.loads(ahead.run("sessions", "--json").stdout)
    assert 3500 < listed[0]["seconds_left"] <= 3600
    aws = Path(sys.executable).parent / "aws"
    ahead.write_config(ahead.config.read_text() + "\n[profile viaproc]\ncredential_process = "
                       f"{sys.executable} -m tui process hop1\n")
    out = subprocess.run([str(aws), "sts", "get-caller-identity", "--profile", "viaproc"],
                         capture_output=True, text=True, env=environ(ahead), timeout=120)
    assert out.returncode == 0, out.stderr
    assert ":assumed-role/Hop1/" in json.loads(out.stdout)["Arn"]


def test_skew_is_measured_on_every_sts_call(world):
    fake = FakeSts()
    try:
        chain_config(world)
        world.env["AWS_ENDPOINT_URL"] = fake.url
        fake.clock_offset = 900
        assert world.run("assume", "hop1").returncode == 0
        assert 890 < skew(world) < 910
        fake.clock_offset = 0
        data = ok_json(world.run("assume", "hop2", "--duration", "30m", "--json"))
        assert skew(world) == 0
        assert 1790 <= data["seconds_left"] <= 1800  # hop2's countdown: not 900 s short
    finally:
        fake.stop()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hop1(world):
    """hop1 assumed once in this process; yields (session, a fresh-engine factory)."""
    chain_config(world)
    sts._local.__dict__.clear()
    session = Engine(inventory.load(), SessionCache()).assume("hop1").session

    def engine(clock: Clock, skew: float = 0.0, window: int = 300) -> Engine:
        cache = SessionCache()
        cache.clock_skew = skew
        inv = inventory.load()
        inv.settings = replace(inv.settings, refresh_window=window)
        return Engine(inv, cache, clock=clock)

    yield session, engine
    sts._local.__dict__.clear()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(skew=st.floats(-86400, 86400), remaining=st.integers(-3600, 3600),
       window=st.sampled_from([0, 300, 1800]))
def test_freshness_is_judged_by_the_local_clock_whatever_the_skew(hop1, skew, remaining,
                                                                  window):
    session, engine = hop1
    clock = Clock(session.expires_at.timestamp() - remaining)
    eng = engine(clock, skew, window)
    assert (eng.cached("hop1") is not None) == (remaining > window)
    assert (eng.cached("hop1", min_left=PROCESS) is not None) == (
        remaining > max(window, PROCESS))
    assert eng.now() == clock() + skew  # the skew corrects what is displayed


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(skew=st.floats(-86400, 86400), offset=st.integers(-7200, 7200))
def test_clean_removes_what_the_local_clock_says_has_expired(world, skew, offset):
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    creds = Credentials("ASIACLEAN", "secret", "token", expires)
    credfile.write(Session("k", "r", "role", "arn:aws:sts::1:assumed-role/R/s", expires,
                           expires - timedelta(hours=1), credentials=creds), "written")
    cache = SessionCache(memory_only=True)
    cache.clock_skew = skew
    ws = Workspace(clock=lambda: expires.timestamp() + offset, cache=cache,
                   inv=inventory.Inventory())
    removed = ws.clean()
    assert removed == (["written"] if offset >= 0 else [])
    credfile.remove(["written"])


@SLOW
@given(duration=st.sampled_from([900, 960, 1200, 3600]),
       elapsed=st.integers(0, 3600), window=st.sampled_from([0, 300, 1800]))
def test_process_reuses_exactly_what_botocore_will_not_refresh_at_once(world, duration,
                                                                       elapsed, window):
    """The decision as a model: with a new session able to last more than
    PROCESS_MIN_LEFT, a cached one is reused only with more than that left (and more
    than the refresh window); otherwise the best available is reused down to the window."""
    if not world.config.exists():
        arns = chain_config(world)
        world.write_config(world.config.read_text() + "".join(
            f"\n[profile d{d}]\nrole_arn = {arns['a1']}\nsource_profile = base\n"
            f"duration_seconds = {d}\n" for d in (900, 960, 1200, 3600)))
    sts._local.__dict__.clear()
    name = f"d{duration}"
    first = Engine(inventory.load(), SessionCache()).assume(name, refresh=True).session
    elapsed = min(elapsed, duration)
    clock = Clock(first.issued_at.timestamp() + elapsed)
    inv = inventory.load()
    inv.settings = replace(inv.settings, refresh_window=window)
    remaining = SessionCache().get(first.key).seconds_left(clock())  # as indexed: whole s
    result = Engine(inv, SessionCache(), clock=clock).assume(name, min_left=PROCESS)
    threshold = max(window, PROCESS) if duration > PROCESS else window
    assert result.cached == [remaining > threshold], (remaining, threshold)
    if result.cached[-1] and duration > PROCESS:
        assert result.session.seconds_left(clock()) > FLOOR
    sts._local.__dict__.clear()


def test_process_renews_a_parent_too_short_for_a_15_minute_child(world):
    chain_config(world)
    sts._local.__dict__.clear()
    first = Engine(inventory.load(), SessionCache()).assume("hop2")
    clock = Clock(first.hops[0].expires_at.timestamp() - 930)  # hop1: 15.5 minutes left
    assert 900 < first.session.seconds_left(clock()) <= 930
    plain = Engine(inventory.load(), SessionCache(), clock=clock).assume("hop2")
    assert plain.cached == [True, True]  # fresh enough for env, exec, write
    result = Engine(inventory.load(), SessionCache(), clock=clock).assume(
        "hop2", min_left=PROCESS)
    # Renewing hop2 alone would cap it at hop1's 930 s (under 16 minutes): both renewed.
    assert result.cached == [False, False]
    sts._local.__dict__.clear()


STORM = """\
import boto3, json, sys
session = boto3.Session(profile_name=sys.argv[1])
client = session.client("sts", region_name="us-east-1")
for _ in range(int(sys.argv[2])):
    client.get_caller_identity()
print(json.dumps(session.get_credentials().get_frozen_credentials().access_key))
"""


def storm(world, fake: FakeSts, profile: str, calls: int) -> int:
    """``calls`` requests by a real boto3 client whose credentials come from
    ``credential_process = rolecall process ...``; returns how often rolecall ran."""
    out = subprocess.run([sys.executable, "-c", STORM, profile, str(calls)],
                         capture_output=True, text=True, timeout=300, cwd=world.home,
                         env=environ(world, AWS_ENDPOINT_URL=fake.url))
    assert out.returncode == 0, out.stderr
    assert fake.count("GetCallerIdentity") == calls
    counter = world.home / "runs"
    return len(counter.read_text().splitlines()) if counter.exists() else 0


@pytest.fixture
def counted(world):
    """A fake STS, hop1 (1 h) and short (15 min, its longest) behind it, and profiles
    whose credential_process runs rolecall through a wrapper that counts its runs."""
    fake = FakeSts()
    wrapper = world.home / "rolecall-counted"
    wrapper.write_text(f"#!/bin/sh\necho run >> {world.home / 'runs'}\n"
                       f'exec {sys.executable} -m tui "$@"\n')
    wrapper.chmod(0o755)
    world.write_config(
        "[profile base]\n\n[profile hop1]\nrole_arn = arn:aws:iam::111111111111:role/One\n"
        "source_profile = base\n\n[profile short]\n"
        "role_arn = arn:aws:iam::111111111111:role/Short\nsource_profile = base\n"
        "duration_seconds = 900\n\n"
        f"[profile via-hop1]\ncredential_process = {wrapper} process hop1\n\n"
        f"[profile via-short]\ncredential_process = {wrapper} process short\n")
    world.write_credentials("[base]\naws_access_key_id = AKIDFAKEBASE\n"
                            "aws_secret_access_key = fake-base-secret\n")
    world.env["AWS_ENDPOINT_URL"] = fake.url
    yield fake
    fake.stop()


def test_twenty_boto3_calls_run_rolecall_once(world, counted):
    assert world.run("assume", "hop1", "--duration", "15m").returncode == 0
    assert counted.count("AssumeRole") == 1
    assert storm(world, counted, "via-hop1", 20) == 1  # was 21: botocore refreshed each call
    assert counted.count("AssumeRole") == 2  # the 15-minute session renewed once, to 1 h
    assert left(json.loads(world.run("process", "hop1").stdout), time.time()) > 50 * 60


def test_the_best_available_is_served_without_an_sts_storm(world, counted):
    """A role whose sessions last 15 minutes at most: botocore asks on every request
    (its own rule), and every answer is the cached session, not a new one."""
    assert world.run("assume", "short").returncode == 0
    runs = storm(world, counted, "via-short", 5)
    assert runs >= 5
    assert counted.count("AssumeRole") == 1
