"""Benchmark: ``rolecall process ROLE`` on a cache hit, as a user gets it, against the floor.

rolecall is installed as pip installs it, into a throwaway venv (``--here``: this
environment instead), under a throwaway HOME with the default layout and only HOME,
``AWS_ENDPOINT_URL`` and the session bus set (``tests/benchmarks/userland.py``). The floor
is the least a Python process can do to read one secret: jeepney alone, SearchItems, a
plain session, GetSecrets; secretstorage and keyring are shown as context. The commands
run in alternation (A, B, C, ... A, B, C) and medians are printed with the ratio to the
floor, then where the hot path's import time goes (``-X importtime``). Asserts nothing.

    python -m tests.benchmarks.fastpath [--runs 21] [--here]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks import compile_checkout
from tests.benchmarks.measure import alternated, import_report, import_times, machine
from tests.benchmarks.userland import (
    JEEPNEY_FLOOR,
    KEYRING_FLOOR,
    SECRETSTORAGE_FLOOR,
    default_layout,
    install,
    user_env,
)
from tests.sandbox import Moto, start_secret_service

FLOOR = "floor: jeepney, one secret"
CATALOG = '[settings]\nrefresh_window = "5m"\n\n[accounts."111111111111"]\nalias = "bench"\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--here", action="store_true", help="measure this environment")
    ns = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-bench-"))
    (tmp / "keyring").mkdir()
    service = start_secret_service(tmp / "keyring")
    moto = Moto()
    try:
        if ns.here:
            compile_checkout()
            bin_dir = Path(sys.executable).parent
        else:
            bin_dir = install(tmp / "venv")
        python, rolecall = str(bin_dir / "python"), str(bin_dir / "rolecall")
        key, secret = moto.create_user_keys("000000000000", "bench")
        files = default_layout(
            tmp / "home",
            config=("[profile base]\nregion = us-east-1\n\n[profile bench]\nrole_arn = "
                    f"{moto.create_role('111111111111', 'Bench')}\nsource_profile = base\n"
                    "region = us-east-1\n"),
            credentials=f"[base]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n",
            catalog=CATALOG)
        env = user_env(tmp / "home", moto.url, service.env["DBUS_SESSION_BUS_ADDRESS"])
        subprocess.run([rolecall, "assume", "bench"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        index = json.loads((files["state"] / "sessions.json").read_text())  # the default dir
        cache_key = next(k for k, e in index["sessions"].items() if e["role"] == "bench")
        hot = import_times([python, rolecall, "process", "bench"], env)
        if any(name.strip().startswith("botocore") for name, _, _ in hot):
            raise SystemExit("rolecall process bench missed the cache: nothing to measure")
        item = ["rolecall", cache_key]
        times = alternated({
            "python -S -c pass": [python, "-S", "-c", "pass"],
            "python -c pass": [python, "-c", "pass"],
            FLOOR: [python, "-c", JEEPNEY_FLOOR, *item],
            "secretstorage, one secret": [python, "-c", SECRETSTORAGE_FLOOR, *item],
            "keyring.get_password": [python, "-c", KEYRING_FLOOR, *item],
            "rolecall process (cache hit)": [rolecall, "process", "bench"],
            "rolecall env (cache hit)": [rolecall, "env", "bench"],
        }, env, ns.runs)
        floor, floor_cpu = times[FLOOR]
        print(f"machine: {machine()}")
        print(f"rolecall {'from this environment' if ns.here else 'installed (wheel)'}, "
              f"default layout under a throwaway HOME; medians of {ns.runs} alternated runs")
        print(f"  {'':32} {'wall':>7}  {'ratio':>6}   {'cpu':>7}  {'ratio':>6}")
        for label, (wall, cpu) in times.items():
            goal = "  (goal: wall <= 1.0x)" if label.startswith("rolecall process") else ""
            print(f"  {label:32} {wall:7.1f}  {wall / floor:5.2f}x   {cpu:7.1f}  "
                  f"{cpu / floor_cpu:5.2f}x{goal}")
        floor_imports = import_times([python, "-c", JEEPNEY_FLOOR, *item], env)
        print("\nfloor, -X importtime (medians of 5):")
        print(import_report(floor_imports, top=6))
        print("\nrolecall process, -X importtime (medians of 5; the console script pip writes "
              "imports re first, which the floor loads inside jeepney -> typing):")
        print(import_report(hot))
        seen = {name.strip() for name, _, _ in floor_imports}
        extra = [(name.strip(), own) for name, own, _ in hot if name.strip() not in seen]
        print(f"    imported beyond the floor's modules: {sum(o for _, o in extra) / 1000:.1f} ms")
        for name, own in sorted(extra, key=lambda e: -e[1]):
            print(f"      {own / 1000:6.2f} ms  {name}")
    finally:
        moto.stop()
        service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
