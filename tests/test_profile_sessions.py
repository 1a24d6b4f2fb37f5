"""Each profile's sessions are its own (see docs/architecture.md, Trust boundary): two profiles
with one
``role_arn`` and source never share a session, region and session name come from the
profile in use as configured now, an explicit option the cached session does not match
means a new one, and a warm hit after a config edit brings the fast path back."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.config import inventory
from profiles.output import credfile
from profiles.sessions import sts
from profiles.sessions.cache import SessionCache
from profiles.sessions.engine import Engine
from tests.helpers import StsCalls, chain_config, environ, ok_json, process_creds
from tests.test_fastpath import probe

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))

# Hostile but loadable profile names: markup and a shell substitution.
EU, US = "prod-eu", "prod[/]us$(id)"


def twins(world, eu: str = EU, us: str = US) -> str:
    arn = world.moto.create_role("222222222222", "Prod")
    world.write_config(
        "[profile base]\nregion = us-east-1\n\n"
        f"[profile {eu}]\nrole_arn = {arn}\nsource_profile = base\nregion = eu-west-1\n"
        "role_session_name = eu-{unix}\n\n"
        f"[profile {us}]\nrole_arn = {arn}\nsource_profile = base\nregion = us-west-2\n"
        "role_session_name = us-{unix}\n")
    world.base_profile()
    return arn


def shell_region(world, role: str) -> str:
    out = world.run("exec", role, "--", "sh", "-c", 'echo "$AWS_REGION $ROLECALL_ROLE"')
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_two_profiles_with_one_role_arn_have_their_own_sessions(world):
    twins(world)
    us = ok_json(world.run("assume", US, "--json"))
    eu = ok_json(world.run("assume", EU, "--json"))
    assert eu["cached"] is False  # not served the other profile's session
    assert us["session_name"].startswith("us-") and eu["session_name"].startswith("eu-")
    assert shell_region(world, EU) == f"eu-west-1 {EU}"
    assert shell_region(world, US) == f"us-west-2 {US}"
    assert "eu-west-1" in world.run("env", EU, "--format", "json").stdout
    eu_creds, us_creds = process_creds(world, EU), process_creds(world, US)
    assert eu_creds["AccessKeyId"] != us_creds["AccessKeyId"]
    assert world.run("write", US, "--as", "prod-us").returncode == 0
    (section,) = credfile.managed(world.credentials)
    assert section.values["x_rolecall_role"] == US
    assert section.values["aws_access_key_id"] == us_creds["AccessKeyId"]
    out = world.run("forget", US)
    assert out.returncode == 0 and "forgot 1 session" in out.stdout
    assert process_creds(world, EU) == eu_creds  # forgetting one never forgets the other
    assert ok_json(world.run("assume", US, "--json"))["cached"] is False


@pytest.mark.secret_service  # the fast path reads the Secret Service straight; another
# backend takes the full path by design
def test_a_region_edit_is_seen_and_the_fast_path_comes_back(world):
    twins(world)
    first = process_creds(world, EU)
    assert shell_region(world, EU) == f"eu-west-1 {EU}"
    world.write_config(world.config.read_text().replace("eu-west-1", "eu-central-1"))
    out, report = probe(world, ["env", EU, "--format", "json"])
    assert report["rc"] == 0 and "botocore.session" not in report["heavy"]  # a warm hit
    assert '"AWS_REGION": "eu-central-1"' in out and first["SessionToken"] in out
    out, report = probe(world, ["env", EU, "--format", "json"])
    assert report == {"rc": 0, "heavy": []}
    assert "eu-central-1" in out and first["SessionToken"] in out
    assert '"AWS_REGION": "us-west-2"' in world.run("env", US, "--format", "json").stdout


def test_chains_share_parent_hops_but_not_profiles(world):
    chain_config(world)
    two = ok_json(world.run("assume", "hop2", "--json"))
    three = ok_json(world.run("assume", "hop3", "--json"))
    assert [h["cached"] for h in three["chain"]] == [True, True, False]
    assert [h["arn"] for h in three["chain"][:2]] == [h["arn"] for h in two["chain"]]
    assert world.run("forget", "hop3").returncode == 0
    assert ok_json(world.run("assume", "hop2", "--json"))["cached"] is True


def test_explicit_options_the_session_does_not_match_mean_a_new_one(world):
    chain_config(world)

    def assume(*flags: str) -> dict:
        return ok_json(world.run("assume", "hop1", "--json", *flags))

    first = assume()
    assert assume("--session-name", "audit-42")["cached"] is False
    named = assume("--session-name", "audit-42")
    assert named["cached"] is True and named["session_name"] == "audit-42"
    assert assume()["cached"] is True  # no option: the profile's session, whatever it is
    assert assume("--session-name", "{user}-{unix}")["cached"] is False  # the template
    assert assume("--duration", "20m")["cached"] is False
    assert assume("--duration", "1200")["cached"] is True  # the same duration
    assert assume("--external-id", "tenant-1")["cached"] is False
    assert assume("--external-id", "tenant-1")["cached"] is True
    assert assume("--external-id", "tenant-2")["cached"] is False
    assert assume("--duration", "1h")["cached"] is True  # what the profile's default sent
    assert assume("--duration", "30m")["cached"] is False
    assert first["assumed_role_arn"] != named["assumed_role_arn"]
    raw = (world.state / "sessions.json").read_text()
    assert "tenant-1" not in raw and "tenant-2" not in raw  # a digest, not the value


ASK = st.fixed_dictionaries({}, optional={
    "duration": st.sampled_from(["15m", "20m", "1200", "1h"]),
    "session_name": st.sampled_from(["ops-a", "ops-b", "{profile}-x"]),
    "external_id": st.sampled_from(["ext-1", "ext-2"]),
})


@settings(max_examples=max(8, EXAMPLES // 4), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(asks=st.lists(ASK, min_size=1, max_size=5))
def test_reuse_happens_exactly_when_every_explicit_option_matches(world, asks):
    """A model of the rule: the last session's parameters; an ask reuses it iff each
    option it names equals what that session was asked with (durations in seconds)."""
    if not world.config.exists():
        chain_config(world)
    sts._local.__dict__.clear()
    SessionCache().forget([s.key for s in SessionCache().sessions()])
    seconds = {"15m": 900, "20m": 1200, "1200": 1200, "1h": 3600}
    calls = StsCalls()
    last = None
    for ask in asks:
        with calls.active():
            result = Engine(inventory.load(), SessionCache()).assume("hop1", **ask)
        want = {"duration": seconds.get(ask.get("duration")),
                "session_name": ask.get("session_name"), "external_id": ask.get("external_id")}
        reuse = last is not None and all(
            value is None or value == last[name] for name, value in want.items())
        assert result.cached == [reuse], (ask, last)
        if not reuse:
            sent = calls[-1]
            assert sent.get("ExternalId") == ask.get("external_id")
            last = {"duration": sent["DurationSeconds"], "external_id": ask.get("external_id"),
                    "session_name": ask.get("session_name") or "{user}-{unix}"}
            if ask.get("session_name") == "{profile}-x":
                assert result.session.session_name == "hop1-x"
    sts._local.__dict__.clear()


@pytest.mark.secret_service
@pytest.mark.parametrize("edit", ["region", "comment"])
def test_a_warm_hit_restamps_only_its_own_entry(world, edit):
    twins(world)
    process_creds(world, EU)
    process_creds(world, US)
    text = world.config.read_text()
    world.write_config(text.replace("eu-west-1", "eu-north-1") if edit == "region"
                       else text + "# a comment\n")
    assert world.run("env", EU).returncode == 0  # restamps EU only
    code = ("from profiles.sessions import fastpath\n"
            f"print(fastpath.lookup({EU!r}) is not None, fastpath.lookup({US!r}) is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=environ(world), timeout=60)
    assert out.stdout.split() == ["True", "False"], out.stderr
