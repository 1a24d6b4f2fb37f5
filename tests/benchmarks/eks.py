"""Benchmark: the exec credential kubectl runs before every command, ``rolecall eks token``
on a cached token, against ``aws eks get-token`` (the goal: at most 0.15x of it).

rolecall is installed as pip installs it, into a throwaway venv (``--here``: this
environment), under a throwaway HOME with the default layout, a moto server and a private
gnome-keyring (``tests/benchmarks/userland.py``). The AWS CLI runs with the same
interpreter (``python -m awscli``) and the role's session in its environment (keys, no
profile: its fastest way to a token). The commands run in alternation and medians are
printed with the ratio to the AWS CLI, then where the cached token's import time goes.
Asserts nothing.

    python -m tests.benchmarks.eks [--runs 21] [--here]
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
from tests.benchmarks.userland import default_layout, install, user_env
from tests.sandbox import Moto, start_secret_service

AWS = "aws eks get-token"
CACHED = "rolecall eks token (cached)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--here", action="store_true", help="measure this environment")
    ns = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-bench-eks-"))
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
        default_layout(
            tmp / "home",
            config=("[profile base]\nregion = us-east-1\n\n[profile bench]\nrole_arn = "
                    f"{moto.create_role('111111111111', 'Bench')}\nsource_profile = base\n"
                    "region = us-east-1\n"),
            credentials=f"[base]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n",
            catalog='[settings]\nrefresh_window = "5m"\n')
        env = user_env(tmp / "home", moto.url, service.env["DBUS_SESSION_BUS_ADDRESS"])
        token = [rolecall, "eks", "token", "bench", "--cluster", "prod"]
        first = subprocess.run(token, env=env, check=True, capture_output=True, text=True)
        variables = json.loads(subprocess.run(
            [rolecall, "env", "bench", "--format", "json"], env=env, check=True,
            capture_output=True, text=True).stdout)
        aws_env = {**env, **{k: v for k, v in variables.items() if k.startswith("AWS_")}}
        hot = import_times([python, *token], env)
        if any(name.strip().startswith("botocore") for name, _, _ in hot):
            raise SystemExit("rolecall eks token missed the cache: nothing to measure")
        again = subprocess.run(token, env=env, check=True, capture_output=True, text=True)
        assert json.loads(again.stdout) == json.loads(first.stdout)  # served from the cache
        commands = {
            "python -c pass": [python, "-c", "pass"],
            AWS: [python, "-m", "awscli", "eks", "get-token", "--cluster-name", "prod"],
            CACHED: token,
            "  ... full path, cached token": [*token, "--debug"],
        }
        times = alternated(commands, aws_env, ns.runs)  # rolecall ignores the session's keys
        base, base_cpu = times[AWS]
        print(f"machine: {machine()}")
        print(f"rolecall {'from this environment' if ns.here else 'installed (wheel)'}, "
              f"a cached token; medians of {ns.runs} alternated runs")
        print(f"  {'':34} {'wall':>7}  {'ratio':>6}   {'cpu':>7}  {'ratio':>6}")
        for label in commands:
            wall, cpu = times[label]
            goal = "  (goal: wall <= 0.15x)" if label == CACHED else ""
            print(f"  {label:34} {wall:7.1f}  {wall / base:5.3f}x   {cpu:7.1f}  "
                  f"{cpu / base_cpu:5.3f}x{goal}")
        print("\nrolecall eks token (cached), -X importtime (medians of 5):")
        print(import_report(hot, top=8))
    finally:
        moto.stop()
        service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
