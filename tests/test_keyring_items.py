"""rolecall's keyring items are its own (see docs/architecture.md, Trust boundary): other
applications'
items under the same service name survive every ``forget`` and orphan sweep; items an
older rolecall stored are adopted once; the fast path never imports a module the index
names; the memory-only notice is given once per process, with its fix."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from contextlib import closing

import secretstorage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.sessions import fastpath
from profiles.sessions.cache import INDEX_VERSION, SessionCache
from profiles.sessions.secret_service import SCHEMA, SCHEMA_KEY
from tests.helpers import chain_config, environ, ok_json, process_creds
from tests.keyctl_launch import BLOCKED_PRELUDE, command

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=max(10, EXAMPLES // 3), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def items(service: str) -> list[dict[str, str]]:
    """Attributes of every item under ``service``, with its secret as ``secret``."""
    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return sorted(({**i.get_attributes(), "secret": i.get_secret().decode()}
                       for i in collection.search_items({"service": service})),
                      key=lambda a: sorted(a.items()))


def foreign(service: str, username: str, secret: str, **extra: str) -> None:
    """An item of another application under the same service (as secret-tool or a
    libsecret app would store it: its own attributes, maybe its own schema)."""
    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        collection.create_item(f"other app {username}",
                               {"service": service, "username": username, **extra},
                               secret.encode())


def ours(service: str) -> list[dict[str, str]]:
    return [a for a in items(service) if a.get(SCHEMA_KEY) == SCHEMA]


def index(world) -> dict:
    return json.loads((world.state / "sessions.json").read_text())


def test_forget_and_forget_all_spare_other_applications_items(world):
    import keyring

    chain_config(world)
    keyring.set_password(world.service, "someone", "keyring-app-password")
    foreign(world.service, "backup", "secret-tool-password", application="backup-tool")
    assert world.run("assume", "hop3").returncode == 0
    keys = sorted(index(world)["sessions"])
    foreign(world.service, keys[0], "same-username-other-app",
            **{SCHEMA_KEY: "org.example.Other"})
    assert sorted(a["username"] for a in ours(world.service)) == keys
    assert all(a["application"] == "rolecall" for a in ours(world.service))
    hop3 = next(k for k, e in index(world)["sessions"].items() if e["role"] == "hop3")
    assert world.run("forget", "hop3").returncode == 0
    assert hop3 not in {a["username"] for a in ours(world.service)}
    (world.state / "sessions.json").unlink()  # what is left of ours is now orphaned
    result = world.run("forget", "--all")
    assert result.returncode == 0, result.stderr
    assert "forgot 2 sessions" in result.stdout
    left = items(world.service)
    assert ours(world.service) == []
    assert sorted(a["secret"] for a in left) == [
        "keyring-app-password", "same-username-other-app", "secret-tool-password"]
    assert keyring.get_password(world.service, "someone") == "keyring-app-password"


ATTRS = st.dictionaries(
    st.sampled_from(["application", SCHEMA_KEY, "kind", "user"]),
    st.sampled_from(["Python keyring library", "rolecall", "io.rolecall", SCHEMA + ".x",
                     "org.freedesktop.Secret.Generic", ""]), max_size=3)


@SETTINGS
@given(foreigners=st.lists(st.tuples(st.one_of(st.text(st.characters(
    blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40),
                                               st.sampled_from(["k1", "k2", "orphan"])),
                                     ATTRS), max_size=4))
def test_sweeps_delete_only_rolecall_items(world, foreigners):
    """Whatever another application stores under our service name (our keys as user
    names, keyring's own attributes, schemas like ours), forget and orphan sweeps leave
    it; our own items, indexed or orphaned, go."""
    from tests.test_cache import session

    cache = SessionCache()
    cache.forget([s.key for s in cache.sessions()] + cache.orphans())
    for username, attrs in foreigners:
        foreign(world.service, username, f"theirs:{username}", **attrs)
    cache.put_many([session("k1", role="a"), session("k2", role="b"),
                    session("orphan", role="c")])
    cache._update_index(lambda data: data["sessions"].pop("orphan"))
    assert cache.orphans() == ["orphan"]
    assert cache.forget(["k1"]) == 1
    assert cache.forget(["k2", *cache.orphans()]) == 2
    assert ours(world.service) == []
    left = sorted(a["secret"] for a in items(world.service))
    assert left == sorted(f"theirs:{u}" for u, _ in foreigners)
    with closing(secretstorage.dbus_init()) as connection:  # clean for the next example
        for item in secretstorage.get_default_collection(connection).search_items(
                {"service": world.service}):
            item.delete()


def _downgrade(world) -> dict:
    """Make the world look as an older rolecall left it: items with keyring's attributes
    only, an index of version 1. Returns the indexed sessions' secrets by key."""
    import keyring

    data = index(world)
    secrets = {a["username"]: a["secret"] for a in ours(world.service)}
    with closing(secretstorage.dbus_init()) as connection:
        for item in secretstorage.get_default_collection(connection).search_items(
                {"service": world.service}):
            item.delete()
    for key, secret in secrets.items():
        keyring.set_password(world.service, key, secret)
    data["version"] = 1
    (world.state / "sessions.json").write_text(json.dumps(data))
    return secrets


def test_items_of_an_older_rolecall_are_adopted_once(world):
    chain_config(world)
    first = process_creds(world, "hop2")
    secrets = _downgrade(world)
    foreign(world.service, "not-indexed", "unknown-origin",
            application="Python keyring library")
    assert fastpath.lookup("hop2") is None  # the fast path reads only items marked ours
    assert process_creds(world, "hop2") == first  # adopted, not assumed afresh
    assert index(world)["version"] == INDEX_VERSION
    assert {a["username"]: a["secret"] for a in ours(world.service)} == secrets
    assert fastpath.lookup("hop2") is not None
    before = items(world.service)
    assert process_creds(world, "hop2") == first
    assert ok_json(world.run("assume", "hop2", "--json"))["cached"] is True
    assert items(world.service) == before  # idempotent: nothing re-marked or duplicated
    assert world.run("forget", "--all").returncode == 0
    assert [a["secret"] for a in items(world.service)] == ["unknown-origin"]


def test_an_unmarked_item_under_our_key_is_never_served(world):
    chain_config(world)
    first = process_creds(world, "hop1")
    (key,) = index(world)["sessions"]
    with closing(secretstorage.dbus_init()) as connection:
        for item in secretstorage.get_default_collection(connection).search_items(
                {"service": world.service}):
            item.delete()
    planted = dict(first, AccessKeyId="ASIAPLANTED", SessionToken="planted-token")
    foreign(world.service, key, json.dumps(planted))  # same key, not ours
    got = process_creds(world, "hop1")
    assert got["AccessKeyId"] not in ("ASIAPLANTED", first["AccessKeyId"])
    assert [a["secret"] for a in items(world.service) if a.get(SCHEMA_KEY) != SCHEMA] == [
        json.dumps(planted)]


MODULES = st.one_of(
    st.sampled_from(["planted.Keyring", "planted", "os.system", "subprocess.Popen",
                     "keyring.backends.null.Keyring", "keyrings.alt.file.PlaintextKeyring",
                     "keyring.backends.SecretService", "..planted", ""]),
    st.from_regex(r"[a-z_][a-z0-9_]{0,8}(\.[a-zA-Z_][a-zA-Z0-9_]{0,8}){0,2}", fullmatch=True))


@SETTINGS
@given(backend=MODULES)
def test_fast_path_never_imports_a_module_the_index_names(world, monkeypatch, backend):
    """The index's ``backend`` field picks a reader from a fixed table; any other name
    (edited into the index) is a miss that imports nothing."""
    if not (world.state / "sessions.json").exists():
        chain_config(world)
        assert world.run("assume", "hop1").returncode == 0
    data = index(world)
    for entry in data["sessions"].values():
        entry["backend"] = backend
    (world.state / "sessions.json").write_text(json.dumps(data))
    imported: list[str] = []
    real = importlib.import_module
    with monkeypatch.context() as patch:
        patch.setattr(importlib, "import_module",
                      lambda name, *a: imported.append(name) or real(name, *a))
        assert fastpath.lookup("hop1") is None
    assert imported == []


def test_a_planted_backend_module_is_not_imported_by_process(world, tmp_path):
    chain_config(world)
    first = process_creds(world, "hop1")
    marker = tmp_path / "imported"
    (world.home / "planted.py").write_text(  # cwd is on sys.path for `python -m`
        f"open({str(marker)!r}, 'w').write('imported')\n"
        "class Keyring:\n    def get_password(self, service, key):\n        return None\n")
    data = index(world)
    for entry in data["sessions"].values():
        entry["backend"] = "planted.Keyring"
    (world.state / "sessions.json").write_text(json.dumps(data))
    again = process_creds(world, "hop1")
    assert not marker.exists()
    assert again == first  # the full path resolved the real backend and read the item


NOTICE = """\
import json
from profiles.workspace import Workspace
from profiles.sessions.cache import SessionCache
notes = []
for _ in range(2):
    ws = Workspace(cache=SessionCache())
    for role in ("hop1", "hop2"):
        notes.append(ws.assume(role).notes)
print(json.dumps(notes))
"""


def test_memory_only_notice_once_with_its_fix(world, tmp_path):
    chain_config(world)
    env = environ(world, DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus",
                  XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    out = subprocess.run([sys.executable, "-c", BLOCKED_PRELUDE + NOTICE], capture_output=True,
                         text=True, env=env, cwd=world.home, timeout=120)
    assert out.returncode == 0, out.stderr
    notes = json.loads(out.stdout)
    flat = [n for per in notes for n in per]
    assert len(flat) == 1 and notes[0] == flat, notes
    assert "sessions are kept in memory" in flat[0]
    assert "\n  fix: allow the add_key and keyctl system calls" in flat[0]
    (world.state / "notices.json").unlink()  # given: the next process would not repeat it
    result = subprocess.run(command("blocked", "assume", "hop1"), capture_output=True,
                            text=True, env=env, cwd=world.home, timeout=120)
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert lines[0].startswith("rolecall: note: sessions are kept in memory")
    assert lines[1].startswith("  fix: ") and "DBUS_SESSION_BUS_ADDRESS" in lines[1]


def test_the_fast_path_reads_the_recorded_item_and_serves_only_its_own(world):
    """A cache hit reads the item at the path the index records (no search); an item at
    that path that is not this session's (deleted and the path reused, or planted) is
    never served: the search finds the session's own, or the full path decides."""
    chain_config(world)
    creds = process_creds(world, "hop1")
    data = index(world)
    key, entry = next((k, e) for k, e in data["sessions"].items() if e["role"] == "hop1")
    assert entry["item"].startswith("/org/freedesktop/secrets/")
    hit = fastpath.lookup("hop1")
    assert hit is not None and hit[1]["SessionToken"] == creds["SessionToken"]
    assert "Key" not in hit[1]
    planted = {**creds, "SessionToken": "PLANTED", "Key": "0" * 32}
    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        other = collection.create_item("other app", {"service": "elsewhere"},
                                       json.dumps(planted).encode())
        for path in (other.item_path, "/org/freedesktop/secrets/collection/login/999999"):
            entry["item"] = path
            (world.state / "sessions.json").write_text(json.dumps(data))
            hit = fastpath.lookup("hop1")
            assert hit is not None and hit[1]["SessionToken"] == creds["SessionToken"], path
            assert process_creds(world, "hop1")["SessionToken"] == creds["SessionToken"]
        other.delete()
