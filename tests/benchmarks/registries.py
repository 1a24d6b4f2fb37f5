"""Registries' cost on ``list``: 3 registries of 1,000 roles each (synced with real git
from file:// remotes) against the same 3,000 roles in the user's own catalog. Prints
medians of ``list --json`` and ``list`` from the inventory snapshot (warm: the usual
case) and with the snapshot removed before each run (cold: the first list after a
sync). Asserts nothing. Run: ``python -m tests.benchmarks.registries``."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks import compile_checkout
from tests.benchmarks.measure import machine, timed
from tests.git_remote import Remote

REGISTRIES = ("alpha", "bravo", "charlie")


def catalog(name: str, count: int) -> str:
    """``count`` roles in 10 accounts of its own, as a team would write them."""
    first = 100000000000 + 1000 * REGISTRIES.index(name)
    accounts = "".join(f'[accounts."{first + i}"]\nalias = "{name}-{i}"\n'
                       f'tags = ["{name}"]\n\n' for i in range(10))
    roles = "".join(f'[roles.{name}-r{i}]\nrole_arn = "arn:aws:iam::{first + i % 10}'
                    f':role/R{i}"\nsource = "base"\nregion = "eu-west-1"\n\n'
                    for i in range(count))
    return accounts + roles


def world(root: Path, label: str) -> dict[str, str]:
    home = root / label
    home.mkdir(parents=True)
    (home / "config").write_text("[profile base]\nregion = us-east-1\n")
    return dict(os.environ, HOME=str(home), AWS_CONFIG_FILE=str(home / "config"),
                AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
                ROLECALL_CONFIG=str(home / "rolecall.toml"),
                ROLECALL_STATE_DIR=str(home / "state"), ROLECALL_KEYRING_SERVICE="bench",
                DBUS_SESSION_BUS_ADDRESS=f"unix:path={home}/no-bus")


def settle(env: dict[str, str]) -> None:
    """Age every file a minute (the snapshot is written only for settled files)."""
    old = time.time() - 60
    for path in Path(env["HOME"]).rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.utime(path, (old, old))


def medians(cmd: list[str], envs: dict[str, dict[str, str]], runs: int,
            cold: bool) -> dict[str, float]:
    """Median wall ms of ``cmd`` in each world, the worlds alternated run by run (a load
    spike lands on both); ``cold``: the inventory snapshot removed before each run."""
    times: dict[str, list[float]] = {label: [] for label in envs}
    for env in envs.values():
        timed(cmd, env)  # untimed: page cache, bytecode, the snapshot
    for _ in range(runs):
        for label, env in envs.items():
            if cold:
                Path(env["ROLECALL_STATE_DIR"], "inventory.json").unlink(missing_ok=True)
            times[label].append(timed(cmd, env)[0])
    return {label: statistics.median(values) for label, values in times.items()}


def main(per_registry: int = 1000, runs: int = 9) -> None:
    compile_checkout()
    root = Path(tempfile.mkdtemp(prefix="rolecall-registries-"))
    cli = [sys.executable, "-m", "tui"]
    try:
        own, shared = world(root, "own"), world(root, "registries")
        Path(own["ROLECALL_CONFIG"]).write_text(
            "".join(catalog(name, per_registry) for name in REGISTRIES))
        for name in REGISTRIES:
            remote = Remote(root / "remotes", name)
            remote.commit({"catalog.toml": catalog(name, per_registry)})
            subprocess.run([*cli, "registry", "add", name, remote.url], env=shared,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        envs = {"own catalog": own, "3 registries": shared}
        for env in envs.values():
            settle(env)
            subprocess.run([*cli, "list", "--json"], env=env, check=True,
                           stdout=subprocess.DEVNULL)  # writes the snapshot
        total = per_registry * len(REGISTRIES)
        print(f"list with {total} roles: {len(REGISTRIES)} registries of {per_registry} "
              f"vs the user's own catalog ({machine()})")
        for args in (["list", "--json"], ["list"]):
            warm = medians([*cli, *args], envs, runs, cold=False)
            fresh = medians([*cli, *args], envs, runs, cold=True)
            print(f"  {' '.join(args):12} {'warm (snapshot)':>16} {'cold (parsed)':>16}")
            for label in envs:
                print(f"  {label:12} {warm[label]:13.1f} ms {fresh[label]:13.1f} ms")
            ratio_w = warm["3 registries"] / warm["own catalog"]
            ratio_c = fresh["3 registries"] / fresh["own catalog"]
            print(f"  {'ratio':12} {ratio_w:14.2f}x {ratio_c:15.2f}x  (target: within 1.2x)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
