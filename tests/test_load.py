"""Load: 1,000 cached sessions. ``sessions`` and ``list`` show them all (timings are
printed by tests/benchmarks/load.py), and ``forget --all`` clears them all."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, datetime, timedelta

from profiles.model import Credentials, Session
from profiles.workspace import Workspace

COUNT = 1000


def seed_sessions(count: int) -> list[str]:
    """``count`` role profiles, each with a cached session stored as the engine would."""
    ws = Workspace()
    now = datetime.now(UTC)
    sessions = []
    for i in range(count):
        key = ws.engine.plan(f"r{i}").steps[-1].key
        expires = now + timedelta(minutes=10 + i % 50)
        sessions.append(Session(
            key=key, role=f"r{i}", kind="role",
            arn=f"arn:aws:sts::{100000000000 + i % 97}:assumed-role/R{i}/load",
            expires_at=expires, issued_at=now, session_name="load",
            credentials=Credentials(f"ASIALOAD{i:08d}", f"secret-{i}", f"token-{i}", expires)))
    ws.cache.put_many(sessions, ws.engine.stamp, ws.refresh_window)
    return [s.key for s in sessions]


def role_config(count: int) -> str:
    return "[profile base]\n" + "".join(
        f"[profile r{i}]\nrole_arn = arn:aws:iam::{100000000000 + i % 97}:role/R{i}\n"
        "source_profile = base\n" for i in range(count))


def _items(service: str) -> int:
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return len(list(collection.search_items({"service": service})))


def test_a_thousand_sessions_listed_and_forgotten(world):
    world.write_config(role_config(COUNT))
    seed_sessions(COUNT)
    assert _items(world.service) == COUNT
    sessions = json.loads(world.run("sessions", "--json").stdout)
    assert len(sessions) == COUNT and {s["state"] for s in sessions} == {"active"}
    listed = json.loads(world.run("list", "--json").stdout)
    assert sum(r["state"] == "active" for r in listed) == COUNT
    hit = world.run("process", f"r{COUNT - 1}")
    assert json.loads(hit.stdout)["AccessKeyId"] == f"ASIALOAD{COUNT - 1:08d}"
    # gnome-keyring rewrites its file on every deletion (~16 ms each when idle): the
    # timeout only guards against a hang, on a machine that may be busy
    result = world.run("forget", "--all", timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"forgot {COUNT} sessions" in result.stdout
    assert json.loads(world.run("sessions", "--json").stdout) == []
    assert _items(world.service) == 0
