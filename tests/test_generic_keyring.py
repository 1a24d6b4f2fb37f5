"""A keyring with only get/set/delete by service and name (the macOS Keychain's and the
Windows Credential Locker's API, stood in by ``tests/generic_keyring.py``): sessions, MFA
sessions, SSO tokens and long-lived keys work there, and ``forget``, ``forget --all``,
``sso logout``, ``keys rm`` and sweeps delete exactly what rolecall created: never an
item another application stored, even under rolecall's own service name and one of its
own keys."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.sessions.cache import SessionCache
from tests import generic_keyring
from tests.generic_keyring import FILE, NAME, GenericKeyring
from tests.helpers import chain_config, ok_json
from tests.test_cache import session

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=max(10, EXAMPLES // 3), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture
def keychain(world, tmp_path, monkeypatch) -> str:
    """The stand-in as this world's keyring (for its CLI runs and this process alike)."""
    path = str(tmp_path / "keychain.json")
    world.env.update({"PYTHON_KEYRING_BACKEND": NAME, FILE: path,
                      "PYTHONPATH": str(generic_keyring.__file__).rsplit("/tests/", 1)[0]})
    for key in ("PYTHON_KEYRING_BACKEND", FILE, "PYTHONPATH"):
        monkeypatch.setenv(key, world.env[key])
    return path


def stored(path: str, service: str) -> dict[str, str]:
    return generic_keyring.everything(path).get(service, {})


def test_sessions_and_mfa_sessions_live_there_and_forget_spares_others(world, keychain):
    chain_config(world, "\n[profile mfa-hop]\nrole_arn = "
                 f"{world.moto.create_role('111111111111', 'MfaHop')}\nsource_profile = base\n"
                 "mfa_serial = arn:aws:iam::000000000000:mfa/operator\n")
    other = GenericKeyring()
    other.set_password(world.service, "someone", "another app's password")
    first = ok_json(world.run("assume", "hop3", "--json"))
    assert first["cached"] is False
    assert ok_json(world.run("assume", "hop3", "--json"))["cached"] is True  # shared
    mfa = world.run("assume", "mfa-hop", "--mfa-code", "123456", "--json")
    assert ok_json(mfa)["cached"] is False
    index = json.loads((world.state / "sessions.json").read_text())["sessions"]
    assert {e["backend"] for e in index.values()} == {NAME}
    assert any(e["kind"] == "mfa" for e in index.values())
    ours = set(index)
    assert set(stored(keychain, world.service)) == ours | {"someone"}

    # another application takes over one of rolecall's names: that item is its now
    hop1 = next(k for k, e in index.items() if e["role"] == "hop1")
    other.set_password(world.service, hop1, "not rolecall's any more")
    assert world.run("forget", "hop1").returncode == 0
    assert stored(keychain, world.service)[hop1] == "not rolecall's any more"
    assert world.run("forget", "--all").returncode == 0
    assert stored(keychain, world.service) == {
        "someone": "another app's password", hop1: "not rolecall's any more"}
    assert ok_json(world.run("sessions", "--json")) == []


@SETTINGS
@given(foreigners=st.dictionaries(
    st.one_of(st.sampled_from(["k1", "k2", "orphan", "token:x"]),
              st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)),
    st.one_of(st.text(max_size=40), st.builds(lambda k: json.dumps({"Key": k}),
                                               st.sampled_from(["k9", "", "KEY"]))),
    max_size=5))
def test_sweeps_delete_only_what_rolecall_created(world, keychain, foreigners):
    cache = SessionCache()
    cache.put_many([session("k1", role="a"), session("k2", role="b"),
                    session("orphan", role="c")])
    cache._update_index(lambda data: data["sessions"].pop("orphan"))
    assert cache.orphans() == []  # a generic keyring cannot be searched: nothing guessed
    backend = GenericKeyring()
    for name, secret in foreigners.items():
        backend.set_password(world.service, name, secret)
    cache.forget([s.key for s in cache.sessions()] + cache.orphans())
    left = dict(stored(keychain, world.service))
    if "orphan" not in foreigners:  # rolecall's, unindexed: left, never guessed at
        assert json.loads(left.pop("orphan"))["Key"] == "orphan"
    assert left == foreigners
    for name in list(stored(keychain, world.service)):
        backend.delete_password(world.service, name)


def test_sso_tokens_and_long_lived_keys_are_deleted_only_when_rolecalls(world, keychain):
    from profiles.estate.keys import KeyStore, LongLived
    from profiles.estate.tokens import Registration, TokenStore

    tokens = TokenStore(world.service, GenericKeyring())
    tokens.put_registration("corp", Registration("id", "secret", 4102444800.0))
    backend = GenericKeyring()
    backend.set_password(f"{world.service}:sso", "token:corp", '{"accessToken": "theirs"}')
    tokens.drop("corp", registration=True)  # sso logout: rolecall's registration only
    assert stored(keychain, f"{world.service}:sso") == {"token:corp": '{"accessToken": "theirs"}'}

    keys = KeyStore(world.state, world.service, GenericKeyring())
    pair = LongLived("AKIA" + "A" * 16, "s" * 40)
    keys.put("mine", pair, {})
    assert keys.get("mine") == pair
    backend.set_password(f"{world.service}:keys", "theirs", json.dumps(pair.process_json()))
    keys.remove("mine")
    keys.remove("theirs")  # keys-shaped, but not stored by rolecall as "theirs"
    assert list(stored(keychain, f"{world.service}:keys")) == ["theirs"]
