"""``rolecall run`` against the seed's loop and a boto3 floor, every figure in one run.

    python -m tests.benchmarks.run [--accounts 20] [--runs 5] [--scale 100]

Starts a moto server on 127.0.0.1 and a private gnome-keyring, creates ``--accounts``
accounts each with a ``Deploy`` role, and times, cold (every run starts with an empty
cache: a fresh keyring service and state dir), a short command per target
(``sh -c 'echo deployed to $ACCOUNT'``):

- the seed's loop: bash, for each account ``aws sts assume-role`` (the AWS CLI), ``jq``
  three times to export the keys (the JSON parsing the seed does), the command, unset;
  sequential;
- ``rolecall run --parallel 1`` and ``rolecall run`` (8 at a time);
- the floor: one Python process, boto3 in an 8-thread pool doing the same assumptions
  (one boto3 session per thread) and starting the same child processes.

Then ``rolecall run`` at ``--scale`` accounts, to see it grow linearly. Prints medians
(wall and CPU) and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.benchmarks import compile_checkout
from tests.benchmarks.measure import machine, timed
from tests.sandbox import Moto, start_secret_service

COMMAND = 'echo "deployed to $ACCOUNT"'
SEED_LOOP = """
set -eu
for acct in $ACCOUNTS; do
  creds=$(aws sts assume-role --profile base --output json \\
    --role-arn "arn:aws:iam::$acct:role/Deploy" --role-session-name "ci-$GIT_SHA")
  export AWS_ACCESS_KEY_ID=$(echo "$creds" | jq -r .Credentials.AccessKeyId)
  export AWS_SECRET_ACCESS_KEY=$(echo "$creds" | jq -r .Credentials.SecretAccessKey)
  export AWS_SESSION_TOKEN=$(echo "$creds" | jq -r .Credentials.SessionToken)
  ACCOUNT=$acct sh -c 'COMMAND'
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
done
""".replace("COMMAND", COMMAND)
FLOOR = """
import os, subprocess, sys, threading
from concurrent.futures import ThreadPoolExecutor
import boto3
local = threading.local()
def target(account):
    if not hasattr(local, "sts"):
        local.sts = boto3.session.Session(profile_name="base").client("sts")
    creds = local.sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/Deploy",
                                  RoleSessionName="ci-floor")["Credentials"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=creds["AccessKeyId"], ACCOUNT=account,
               AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
               AWS_SESSION_TOKEN=creds["SessionToken"])
    done = subprocess.run(["sh", "-c", sys.argv[1]], env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True)
    return done.stdout
with ThreadPoolExecutor(8) as pool:
    for out in pool.map(target, sys.argv[2].split()):
        sys.stdout.buffer.write(out)
"""


class Estate:
    """A throwaway HOME whose AWS config names ``count`` deploy roles from ``base``."""

    def __init__(self, tmp: Path, moto: Moto, bus_env: dict[str, str], count: int) -> None:
        self.home = tmp / f"home-{count}"
        (self.home / ".aws").mkdir(parents=True)
        self.accounts = [f"{100000000000 + i}" for i in range(count)]
        for account in self.accounts:
            moto.create_role(account, "Deploy")
        key, secret = moto.create_user_keys("000000000000", f"bench-{count}")
        (self.home / ".aws" / "config").write_text(
            "[profile base]\nregion = us-east-1\n\n" + "".join(
                f"[profile deploy-{a}]\nrole_arn = arn:aws:iam::{a}:role/Deploy\n"
                "source_profile = base\n\n" for a in self.accounts))
        (self.home / ".aws" / "credentials").write_text(
            f"[base]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
        (self.home / "rolecall.toml").write_text(
            '[settings]\nsession_name = "ci-{git_sha}"\n')
        bin_dir = str(Path(sys.executable).parent)
        self.env = {**bus_env, "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(self.home),
                    "AWS_CONFIG_FILE": str(self.home / ".aws" / "config"),
                    "AWS_SHARED_CREDENTIALS_FILE": str(self.home / ".aws" / "credentials"),
                    "ROLECALL_CONFIG": str(self.home / "rolecall.toml"),
                    "AWS_ENDPOINT_URL": moto.url, "AWS_DEFAULT_REGION": "us-east-1",
                    "ACCOUNTS": " ".join(self.accounts), "GIT_SHA": "0123abc",
                    "LANG": "C.UTF-8"}

    def cold(self) -> dict[str, str]:
        """The environment with an empty cache: a new keyring service and state dir."""
        fresh = uuid.uuid4().hex[:8]
        return {**self.env, "ROLECALL_KEYRING_SERVICE": f"rolecall-bench-{fresh}",
                "ROLECALL_STATE_DIR": str(self.home / f"state-{fresh}")}


def measure(commands: dict[str, list[str]], estate: Estate, runs: int) -> dict[str, tuple]:
    """Median ``(wall ms, cpu ms)`` per command, alternated A B C A B C, cold each run."""
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for cmd in commands.values():
        timed(cmd, estate.cold())  # warm-up: page cache, bytecode
    for _ in range(runs):
        for label, cmd in commands.items():
            times[label].append(timed(cmd, estate.cold()))
    return {label: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
            for label, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=int, default=100, help="0: skip the scaling run")
    args = parser.parse_args()
    if shutil.which("jq") is None:
        print("needs jq (apt-get install jq): the seed's loop parses with it", file=sys.stderr)
        return 2
    compile_checkout()
    rolecall = [sys.executable, "-m", "tui", "run"]
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-bench-run-"))
    moto = Moto()
    keyring = start_secret_service(tmp / "keyring")
    try:
        print(f"machine: {machine()}")
        estate = Estate(tmp, moto, keyring.env, args.accounts)
        run_cmd = ["deploy-*", "--output", "quiet", "--", "sh", "-c", COMMAND.replace(
            "$ACCOUNT", "$ROLECALL_ACCOUNT_ID")]
        commands = {
            "seed loop (bash + aws + jq, sequential)": ["bash", "-c", SEED_LOOP],
            "rolecall run --parallel 1": [*rolecall, "--parallel", "1", *run_cmd],
            "rolecall run (8 at a time)": [*rolecall, *run_cmd],
            "floor: boto3, 8 threads + children": [sys.executable, "-c", FLOOR, COMMAND,
                                                   " ".join(estate.accounts)],
        }
        started = time.monotonic()
        results = measure(commands, estate, args.runs)
        print(f"\n{args.accounts} accounts, cold cache, median of {args.runs} "
              f"(measured in {time.monotonic() - started:.0f} s):")
        for label, (wall, cpu) in results.items():
            print(f"  {label:44} {wall:9.0f} ms wall  {cpu:8.0f} ms cpu")
        seed, ours, floor = (results[k][0] for k in (
            "seed loop (bash + aws + jq, sequential)", "rolecall run (8 at a time)",
            "floor: boto3, 8 threads + children"))
        print(f"  rolecall run vs the seed's loop: {seed / ours:.1f}x faster (goal 25x)")
        print(f"  rolecall run vs the floor: {ours / floor:.2f}x (goal at most 1.2x)")
        if args.scale:
            big = Estate(tmp, moto, keyring.env, args.scale)
            scaled = measure({"run": [*rolecall, *run_cmd]}, big, max(3, args.runs // 2))
            wall = scaled["run"][0]
            print(f"\n{args.scale} accounts: rolecall run {wall:.0f} ms "
                  f"({wall / args.scale:.1f} ms per account; {ours / args.accounts:.1f} ms "
                  f"per account at {args.accounts})")
    finally:
        keyring.stop()
        moto.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
