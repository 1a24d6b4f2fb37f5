"""One workspace shared by a run's threads (DESIGN §5): the keyring backend is resolved
once (a thread must never see "no backend" while another is resolving it, or its
session would go to memory only and the next run would assume again), and targets
sharing a parent hop assume it once."""

from __future__ import annotations

import threading

from profiles.ops import journal
from profiles.sessions.cache import SessionCache
from profiles.sessions.keyring_store import KeyringStore
from profiles.workspace import Workspace

THREADS = 8


def test_threads_resolving_the_keyring_at_once_all_get_it(secret_service):
    store = KeyringStore("rolecall-test-resolve")
    barrier = threading.Barrier(THREADS)
    seen: list[object] = []

    def touch() -> None:
        barrier.wait()
        seen.append(store.backend)

    threads = [threading.Thread(target=touch) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == THREADS and seen[0] is not None
    assert all(backend is seen[0] for backend in seen)
    assert not store.memory_only


def test_a_fresh_workspace_under_many_threads_indexes_every_session(world):
    world.write_config("[profile base]\nregion = us-east-1\n\n" + "".join(
        f"[profile t{i}]\nrole_arn = {world.moto.create_role(f'10000000000{i}', 'Deploy')}\n"
        "source_profile = base\n\n" for i in range(THREADS)))
    world.base_profile()
    ws = Workspace(cache=SessionCache(), via="run")
    barrier = threading.Barrier(THREADS)

    def assume(name: str) -> None:
        barrier.wait()
        ws.assume(name)

    threads = [threading.Thread(target=assume, args=(f"t{i}",)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    indexed = {s.role for s in SessionCache().sessions()}
    assert indexed == {f"t{i}" for i in range(THREADS)}
    calls = list(journal.entries(world.state))
    assert len(calls) == THREADS and {c.via for c in calls} == {"run"}
