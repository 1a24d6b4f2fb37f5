"""Benchmark: ``rolecall process ROLE`` on a cache hit against two floors, same run.

Floors: ``python -S -c pass`` and a bare script reading one secret from the Secret
Service through ``keyring``. Prints medians (ms) and ratios; asserts nothing.
Run: ``python -m tests.benchmarks.fastpath [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks import compile_checkout
from tests.benchmarks.peers import SECRETSTORAGE_FLOOR as FLOOR_SECRETSTORAGE
from tests.benchmarks.peers import median_ms
from tests.sandbox import Moto, start_secret_service

FLOOR_KEYRING = "import keyring, sys; keyring.get_password(sys.argv[1], sys.argv[2])"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    compile_checkout()
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-bench-"))
    keyring_home = tmp / "keyring"
    keyring_home.mkdir()
    service = start_secret_service(keyring_home)
    moto = Moto()
    try:
        env = dict(os.environ, **service.env)
        for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.pop(name, None)
        env.update(
            AWS_CONFIG_FILE=str(tmp / "config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp / "creds"),
            ROLECALL_CONFIG=str(tmp / "rolecall.toml"), ROLECALL_STATE_DIR=str(tmp / "state"),
            ROLECALL_KEYRING_SERVICE="rolecall-bench", AWS_ENDPOINT_URL=moto.url,
            AWS_DEFAULT_REGION="us-east-1",
        )
        arn = moto.create_role("111111111111", "Bench")
        key, secret = moto.create_user_keys("000000000000", "bench")
        (tmp / "config").write_text(
            f"[profile base]\n\n[profile bench]\nrole_arn = {arn}\nsource_profile = base\n")
        (tmp / "creds").write_text(
            f"[base]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
        rolecall = shutil.which("rolecall", path=str(Path(sys.executable).parent)) or "rolecall"
        subprocess.run([rolecall, "assume", "bench"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        import json

        index = json.loads((tmp / "state" / "sessions.json").read_text())
        cache_key = next(iter(index["sessions"]))
        bare = median_ms([sys.executable, "-S", "-c", "pass"], env, runs)
        args = ["rolecall-bench", cache_key]
        floor_kr = median_ms([sys.executable, "-c", FLOOR_KEYRING, *args], env, runs)
        floor = median_ms([sys.executable, "-c", FLOOR_SECRETSTORAGE, *args], env, runs)
        process = median_ms([rolecall, "process", "bench"], env, runs)
        env_sh = median_ms([rolecall, "env", "bench"], env, runs)
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, runs={runs}")
        print(f"{'python -S -c pass':40} {bare:8.1f} ms")
        print(f"{'floor: keyring.get_password':40} {floor_kr:8.1f} ms")
        print(f"{'floor: secretstorage, one secret':40} {floor:8.1f} ms")
        print(f"{'rolecall process (cache hit)':40} {process:8.1f} ms  "
              f"{process / floor:.2f}x secretstorage floor (target <= 1.5x)")
        print(f"{'rolecall env (cache hit)':40} {env_sh:8.1f} ms  "
              f"{env_sh / floor:.2f}x secretstorage floor")
    finally:
        moto.stop()
        service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
