"""One workspace shared by a run's threads (see docs/architecture.md, Layers and layout): the
keyring backend is resolved
once (a thread must never see "no backend" while another is resolving it, or its
session would go to memory only and the next run would assume again), and targets
sharing a parent hop assume it once."""

from __future__ import annotations

import contextlib
import threading

from profiles.errors import KeyringError
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


def test_writes_while_held_share_one_secret_service_connection(secret_service, monkeypatch):
    from profiles.sessions import keyring_store

    opened: list[object] = []
    real = keyring_store.secret_service.open_items

    def counting(*args, **kwargs):
        opened.append(items := real(*args, **kwargs))
        return items

    monkeypatch.setattr(keyring_store.secret_service, "open_items", counting)
    store = KeyringStore("rolecall-test-held")
    with store.held():
        for i in range(5):
            store.set_many({f"k{i}": (f"secret{i}", "label")})
        assert len(opened) == 1
        opened[0].connection.close()  # the daemon went away: the next write reconnects
        with contextlib.suppress(KeyringError):  # the write on the dead connection fails
            store.set_many({"k5": ("secret5", "label")})
        store.set_many({"k6": ("secret6", "label")})
        assert len(opened) == 2
    store.set_many({"k7": ("secret7", "label")})  # no longer held: a connection of its own
    assert len(opened) == 3
    assert [store.get(f"k{i}") for i in (0, 4, 6, 7)] == ["secret0", "secret4", "secret6",
                                                          "secret7"]


def test_every_threads_botocore_session_shares_one_data_loader(world):
    from profiles.config import snapshot
    from profiles.sessions import sts

    world.write_config("[profile base]\nregion = us-east-1\n[profile r]\n"
                       "role_arn = arn:aws:iam::111111111111:role/R\nsource_profile = base\n")
    world.write_credentials("[base]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n")
    inventory = snapshot.load()
    loaders: list[object] = []

    def make() -> None:
        client = sts.client(inventory, "r", "us-east-1", base=inventory.bases["base"])
        assert client.meta.service_model.service_name == "sts"
        loaders.append(sts._session(inventory).get_component("data_loader"))

    threads = [threading.Thread(target=make) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loaders) == 3 and all(loader is loaders[0] for loader in loaders)
