"""One engine under many threads (see docs/architecture.md, Layers and layout): one assumption per
cache key at a time, so
targets sharing a parent hop assume it once. A scriptable STS holds the first call open
until every thread has reached the hop, so the race is real, not hoped for."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from profiles.config import inventory
from profiles.sessions import sts
from profiles.sessions.cache import SessionCache
from profiles.sessions.engine import Engine
from tests.fake_sts import FakeSts

CHILDREN = 8


@pytest.fixture
def fake(world, monkeypatch):
    """A base with keys, ``parent`` from it, and CHILDREN roles chained from ``parent``."""
    server = FakeSts()
    config = ["[profile base]\nregion = us-east-1\n",
              "[profile parent]\nrole_arn = arn:aws:iam::111111111111:role/Parent\n"
              "source_profile = base\n"]
    config += [f"[profile child{i}]\nrole_arn = arn:aws:iam::22222222222{i}:role/Child\n"
               f"source_profile = parent\n" for i in range(CHILDREN)]
    world.write_config("\n".join(config))
    world.write_credentials("[base]\naws_access_key_id = AKIDFAKEBASE\n"
                            "aws_secret_access_key = fake-base-secret\n")
    world.env["AWS_ENDPOINT_URL"] = server.url
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    sts._local.__dict__.clear()
    yield server
    server.delay.set()
    server.stop()


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class Observed:
    """Counts, per cache key, the threads that reach the key's lock and the STS calls."""

    def __init__(self, engine: Engine) -> None:
        self.arrived: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        lock, call = engine._lock, engine._call

        def counting_lock(key: str):
            self.arrived[key] += 1
            return lock(key)

        def counting_call(plan, step, *args, **kwargs):
            self.calls[step.key] += 1
            return call(plan, step, *args, **kwargs)

        engine._lock = counting_lock  # type: ignore[method-assign]
        engine._call = counting_call  # type: ignore[method-assign]


def run_threads(targets, job) -> list:
    results: list = [None] * len(targets)
    errors: list[BaseException] = []

    def work(index: int, target: str) -> None:
        try:
            results[index] = job(target)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    return threads, results, errors


def test_targets_sharing_a_parent_hop_assume_it_once(fake):
    engine = Engine(inventory.load(), SessionCache())
    seen = Observed(engine)
    parent_key = engine.plan("parent").steps[-1].key
    fake.hold = True
    names = [f"child{i}" for i in range(CHILDREN)]
    threads, results, errors = run_threads(names, engine.assume)
    # Every thread is at the parent's lock and one of them is inside STS: a race.
    wait_until(lambda: seen.arrived[parent_key] == CHILDREN and fake.count("AssumeRole"))
    fake.delay.set()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert seen.calls[parent_key] == 1
    assert all(seen.calls[engine.plan(n).steps[-1].key] == 1 for n in names)
    parents = {r.hops[0].credentials.access_key_id for r in results}
    assert len(parents) == 1  # every child signed by the one parent session
    assert sum(r.cached[0] is False for r in results) == 1


def test_many_threads_on_one_role_make_one_session(fake):
    engine = Engine(inventory.load(), SessionCache())
    seen = Observed(engine)
    key = engine.plan("parent").steps[-1].key
    fake.hold = True
    threads, results, errors = run_threads(["parent"] * 20, engine.assume)
    wait_until(lambda: seen.arrived[key] == 20 and fake.count("AssumeRole"))
    fake.delay.set()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert seen.calls[key] == 1
    assert len({r.session.credentials.access_key_id for r in results}) == 1


def test_concurrent_forced_renewals_renew_once(fake):
    engine = Engine(inventory.load(), SessionCache())
    first = engine.assume("parent")
    seen = Observed(engine)
    key = engine.plan("parent").steps[-1].key
    fake.hold = True
    threads, results, errors = run_threads(
        ["parent"] * 10, lambda name: engine.assume(name, refresh=True))
    wait_until(lambda: seen.arrived[key] == 10 and fake.count("AssumeRole") == 2)
    fake.delay.set()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert seen.calls[key] == 1  # the nine that waited took the renewal made meanwhile
    keys = {r.session.credentials.access_key_id for r in results}
    assert len(keys) == 1 and first.session.credentials.access_key_id not in keys
    # A renewal asked after that one finished is a renewal of its own.
    fake.hold = False
    again = engine.assume("parent", refresh=True)
    assert seen.calls[key] == 2 and again.session.credentials.access_key_id not in keys
