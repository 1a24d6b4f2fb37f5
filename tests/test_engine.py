"""The assumption engine in-process against moto and the real keyring, with an injected
clock. STS calls are observed through botocore's own event hooks on the real clients."""

from __future__ import annotations

import time

import pytest

from profiles.config import inventory
from profiles.errors import UsageError
from profiles.sessions import names as session_names
from profiles.sessions import sts
from profiles.sessions.cache import SessionCache
from profiles.sessions.engine import Engine
from tests.helpers import ACCOUNTS, MFA_SERIAL, chain_config


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


_RECORDERS: list[Calls] = []
_CLIENT = sts.client


class Calls(list):
    """(operation, params) of every STS call the engine makes from now on."""

    def __init__(self) -> None:
        super().__init__()
        _RECORDERS.append(self)

    def ops(self) -> list[str]:
        return [name for name, _ in self]


def _observed_client(*args, **kwargs):
    """sts.client, with every call of the client it makes recorded by each Calls."""
    client = _CLIENT(*args, **kwargs)

    def record(params, model, **_):
        for calls in _RECORDERS:
            calls.append((model.name, dict(params)))

    client.meta.events.register("provide-client-params.sts", record)
    return client


@pytest.fixture
def env(world, monkeypatch):
    """A world plus fresh per-thread botocore sessions (they read this world's files)."""
    sts._local.__dict__.clear()
    monkeypatch.setattr(sts, "client", _observed_client)
    yield world
    _RECORDERS.clear()
    sts._local.__dict__.clear()


def engine(clock: Clock | None = None, **kwargs) -> Engine:
    return Engine(inventory.load(), SessionCache(), clock=clock or Clock(), **kwargs)


def test_three_hops_across_accounts_then_warm_hit_without_sts(env):
    arns = chain_config(env)
    calls = Calls()
    eng = engine()
    result = eng.assume("hop3")
    assert calls.ops() == ["AssumeRole"] * 3
    assert [p["RoleArn"] for _, p in calls] == [arns["a1"], arns["a2"], arns["a3"]]
    assert [h.arn.split(":")[4] for h in result.hops] == list(ACCOUNTS)
    assert all(p["DurationSeconds"] <= 3600 for _, p in calls)
    assert result.cached == [False, False, False]
    calls.clear()
    again = engine().assume("hop3")
    assert calls == []
    assert again.session.arn == result.session.arn
    assert again.session.session_name == result.session.session_name
    old, new = result.session.credentials, again.session.credentials
    assert (new.access_key_id, new.secret_access_key, new.session_token) == (
        old.access_key_id, old.secret_access_key, old.session_token)
    assert again.cached[-1] is True


def test_refresh_forces_only_the_target(env):
    chain_config(env)
    first = engine().assume("hop3")
    calls = Calls()
    second = engine().assume("hop3", refresh=True)
    assert [p["RoleArn"] for _, p in calls] == [first.session.role_arn]
    assert second.cached == [True, True, False]
    assert second.session.credentials.access_key_id != first.session.credentials.access_key_id


def test_refresh_window_decides_reuse(env):
    chain_config(env)
    clock = Clock()
    first = engine(clock).assume("hop1")
    calls = Calls()
    expires = first.session.expires_at.timestamp()
    clock.now = expires - 301
    assert engine(clock).assume("hop1").cached == [True]
    clock.now = expires - 299
    assert engine(clock).assume("hop1").cached == [False]
    assert calls.ops() == ["AssumeRole"]


def test_catalog_refresh_window_is_honoured(env):
    chain_config(env)
    env.catalog.write_text('[settings]\nrefresh_window = "30m"\n')
    clock = Clock()
    first = engine(clock).assume("hop1")
    clock.now = first.session.expires_at.timestamp() - 1700
    assert engine(clock).assume("hop1").cached == [False]


def test_generated_session_name_is_not_part_of_the_cache_key(env):
    chain_config(env)
    clock = Clock()
    first = engine(clock).assume("hop1")
    clock.now += 30  # {unix} in the default template now renders differently
    assert session_names.render(session_names.DEFAULT_TEMPLATE, "hop1", now=clock) \
        != first.session.session_name
    second = engine(clock).assume("hop1")
    assert second.cached == [True] and second.session.arn == first.session.arn


def test_chained_hop_never_outlives_its_parent(env):
    chain_config(env)
    clock = Clock()
    parent = engine(clock).assume("hop1").session
    clock.now = parent.expires_at.timestamp() - 1600
    calls = Calls()
    result = engine(clock).assume("hop2", duration="1h")
    assert result.cached == [True, False]
    assert calls.ops() == ["AssumeRole"]
    assert 1590 <= calls[0][1]["DurationSeconds"] <= 1600
    assert any("never outlives its parent" in note for note in result.notes)


def test_first_hop_gets_the_requested_duration_and_template(env, monkeypatch):
    arn = env.moto.create_role(ACCOUNTS[0], "Long", max_session=43200)
    env.write_config(f"[profile base]\n[profile long]\nrole_arn = {arn}\nsource_profile = base\n"
                     "role_session_name = ci-{profile}-{env:BUILD}\nexternal_id = ext-42\n")
    env.base_profile()
    calls = Calls()
    monkeypatch.setenv("BUILD", "77")
    result = engine().assume("long", duration="2h30m")
    (op, params), = calls
    assert params["DurationSeconds"] == 9000
    assert params["RoleSessionName"] == "ci-long-77" == result.session.session_name
    assert params["ExternalId"] == "ext-42"
    assert "SerialNumber" not in params


def test_external_id_flag_is_sent(env):
    chain_config(env)
    calls = Calls()
    engine().assume("hop1", external_id="from-flag")
    assert calls[0][1]["ExternalId"] == "from-flag"


MFA_ROLES = """
[profile m1]
role_arn = {m1}
source_profile = base
mfa_serial = {serial}

[profile m2]
role_arn = {m2}
source_profile = base
mfa_serial = {serial}

[profile d1]
role_arn = {d1}
source_profile = base
mfa_serial = {serial}
mfa_mode = direct
"""


def mfa_world(world) -> dict[str, str]:
    arns = {n: world.moto.create_role(ACCOUNTS[i], n.upper(), max_session=43200)
            for i, n in enumerate(("m1", "m2", "d1"))}
    chain_config(world, MFA_ROLES.format(serial=MFA_SERIAL, **arns))
    return arns


def test_one_mfa_code_serves_two_roles_sharing_a_serial(env):
    arns = mfa_world(env)
    calls = Calls()
    first = engine().assume("m1", mfa_code="123456")
    assert calls.ops() == ["GetSessionToken", "AssumeRole"]
    gst, assume = calls[0][1], calls[1][1]
    assert gst["SerialNumber"] == MFA_SERIAL and gst["TokenCode"] == "123456"
    assert "SerialNumber" not in assume and assume["DurationSeconds"] <= 3600
    assert [h.kind for h in first.hops] == ["mfa", "role"]
    calls.clear()
    second = engine().assume("m2")  # no code, no prompt: the MFA session serves it
    assert calls.ops() == ["AssumeRole"] and calls[0][1]["RoleArn"] == arns["m2"]
    assert second.cached == [True, False]
    assert [s.kind for s in SessionCache().sessions()].count("mfa") == 1


def test_session_mode_hop_is_capped_at_one_hour(env):
    mfa_world(env)
    with pytest.raises(UsageError, match="1 hour"):
        engine().assume("m1", mfa_code="123456", duration="2h")


def test_direct_mode_sends_serial_and_code_with_assume_role(env):
    arns = mfa_world(env)
    calls = Calls()
    result = engine().assume("d1", mfa_code="654321", duration="4h")
    assert calls.ops() == ["AssumeRole"]
    params = calls[0][1]
    assert params["RoleArn"] == arns["d1"]
    assert params["SerialNumber"] == MFA_SERIAL and params["TokenCode"] == "654321"
    assert params["DurationSeconds"] == 4 * 3600
    assert result.cached == [False]
    assert {s.kind for s in SessionCache().sessions()} == {"role"}


def test_mfa_prompt_is_asked_once_and_its_code_used(env):
    mfa_world(env)
    asked = []

    def prompt(serial, role):
        asked.append((serial, role))
        return " 111222 \n"

    calls = Calls()
    engine(mfa_prompt=prompt).assume("m1")
    assert asked == [(MFA_SERIAL, "m1")]
    assert calls[0][1]["TokenCode"] == "111222"
    assert engine(mfa_prompt=prompt).needs_mfa("m2") is None
    assert engine().needs_mfa("d1") == MFA_SERIAL


def test_mfa_without_code_or_prompt_is_a_usage_error(env):
    mfa_world(env)
    with pytest.raises(UsageError, match="--mfa-code") as caught:
        engine().assume("d1")
    assert caught.value.exit_code == 2


def test_max_duration_reflects_chaining(env):
    mfa_world(env)
    eng = engine()
    assert eng.max_duration("hop1") == 12 * 3600
    assert eng.max_duration("hop2") == 3600
    assert eng.max_duration("m1") == 3600
    assert eng.max_duration("d1") == 12 * 3600


def test_session_name_templates_are_sanitised():
    render = session_names.render
    assert render("{user}@{host}", "p")  # both resolve to something legal
    assert render("déploi ement/{profile}", "p/q", now=lambda: 1) == "dploi-ement-p-q"
    assert render("{unix}", "p", now=lambda: 1700000000) == "1700000000"
    assert render("{env:NOPE}", "p", environ={}) == "rolecall"
    assert len(render("x" * 100, "p")) == 64
    assert session_names.LEGAL.fullmatch(render("{git_sha}-{profile}", "a"))
    with pytest.raises(UsageError):
        render("{nope}", "p")


def test_an_adhoc_hop_through_the_public_api(env):
    """``Engine.assume_adhoc``: from the source's fresh session, chained (1 h cap), each
    label its own session, never a configured role's name, never without a source."""
    from profiles.model import Role

    arns = chain_config(env)
    eng = engine()
    target = arns["a3"]
    with pytest.raises(UsageError, match="no active session"):
        eng.assume_adhoc("hop1", Role("hop1>X", target))
    eng.assume("hop1")
    with pytest.raises(UsageError, match="names a configured role"):
        eng.assume_adhoc("hop1", Role("hop2", target))
    with pytest.raises(UsageError, match="1 hour"):
        eng.assume_adhoc("hop1", Role("hop1>X", target), duration="2h")
    calls = Calls()
    one = eng.assume_adhoc("hop1", Role("hop1>X", target), session_name="adhoc-1")
    two = eng.assume_adhoc("hop1", Role("hop1>Y", target))
    assert [p["RoleArn"] for _, p in calls] == [target, target]
    assert calls[0][1]["RoleSessionName"] == "adhoc-1" and calls[0][1]["DurationSeconds"] <= 3600
    assert one.cached == [True, False] and one.session.parent == one.hops[0].key
    assert one.session.key != two.session.key
    indexed = {s.role: s for s in SessionCache().sessions()}
    assert {"hop1", "hop1>X", "hop1>Y"} <= set(indexed)
    assert indexed["hop1>X"].parent == indexed["hop1"].key
