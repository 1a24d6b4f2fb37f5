"""Credential endpoint figures (see docs/architecture.md, Credential endpoint): a request answered
from memory, botocore's
own ContainerProvider fetch, a renewal when the session has 11 minutes left (one and
two hops), and 20 requests arriving during one renewal. In-process endpoint, moto on
127.0.0.1, a private gnome-keyring; medians, asserts nothing.
Run: ``python -m tests.benchmarks.serve``."""

from __future__ import annotations

import http.client
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from tests.conftest import World
from tests.helpers import chain_config
from tests.sandbox import Moto, start_secret_service


class Clock:
    offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.2f} ms (median of {len(samples)})"


def main(runs: int = 200, renewals: int = 15) -> None:
    from botocore.credentials import ContainerProvider

    from profiles.config import inventory
    from profiles.ops import journal
    from profiles.ops.renewal import MfaDesk, Renewer
    from profiles.ops.server import CredentialServer
    from profiles.workspace import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="rolecall-serve-"))
    (tmp / "keyring").mkdir()
    (tmp / "home").mkdir()
    service = start_secret_service(tmp / "keyring")
    moto = Moto()
    try:
        world = World(tmp / "home", moto)
        os.environ.update(service.env, **world.env)
        chain_config(world)
        clock = Clock()
        ws = Workspace(clock=clock, inv=inventory.load(), via="serve")
        server = CredentialServer(Renewer(ws.engine, MfaDesk(lambda s, r: ""))).start()
        path = server.url("hop2")[len(server.url()):]
        headers = {"Authorization": server.token}
        ws.assume("hop2")

        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        kept, fresh = [], []
        for _ in range(runs):
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
            kept.append(time.perf_counter() - start)
            start = time.perf_counter()
            one = http.client.HTTPConnection("127.0.0.1", server.port)
            one.request("GET", path, headers=headers)
            one.getresponse().read()
            one.close()
            fresh.append(time.perf_counter() - start)
        provider = ContainerProvider(environ={"AWS_CONTAINER_CREDENTIALS_FULL_URI":
                                              server.url("hop2"),
                                              "AWS_CONTAINER_AUTHORIZATION_TOKEN": server.token})
        botocore_fetch = []
        for _ in range(runs // 4):
            start = time.perf_counter()
            provider.load().get_frozen_credentials()
            botocore_fetch.append(time.perf_counter() - start)
        print(f"from memory, one connection        {ms(kept)}")
        print(f"from memory, a connection each     {ms(fresh)}")
        print(f"botocore ContainerProvider.load()  {ms(botocore_fetch)}")

        for role, label in (("hop1", "1 hop"), ("hop2", "2 hops")):
            samples = []
            for _ in range(renewals):
                clock.offset = 0
                session = ws.assume(role, duration="15m", refresh=True).session
                if role == "hop2":  # its parent too: both 11 minutes from the end
                    ws.assume("hop1", duration="15m", refresh=True)
                clock.offset = session.seconds_left(clock()) - 11 * 60
                server.renewer._last.clear()
                start = time.perf_counter()
                conn.request("GET", server.url(role)[len(server.url()):], headers=headers)
                conn.getresponse().read()
                samples.append(time.perf_counter() - start)
            print(f"renewal at 11 min left, {label:7}    {ms(samples)}")

        clock.offset = 0
        session = ws.assume("hop1", duration="15m", refresh=True).session
        clock.offset = session.seconds_left(clock()) - 11 * 60
        server.renewer._last.clear()
        server.renewer.wait = 30
        before = sum(e.action == "AssumeRole" for e in journal.entries())
        results: list[int] = []

        def one() -> None:
            c = http.client.HTTPConnection("127.0.0.1", server.port)
            c.request("GET", server.url("hop1")[len(server.url()):], headers=headers)
            results.append(c.getresponse().status)

        start = time.perf_counter()
        threads = [threading.Thread(target=one) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took = time.perf_counter() - start
        calls = sum(e.action == "AssumeRole" for e in journal.entries()) - before
        print(f"20 requests during one renewal     {took * 1000:7.2f} ms, "
              f"{results.count(200)}/20 answered 200, {calls} AssumeRole")
        server.stop()
    finally:
        moto.stop()
        service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
