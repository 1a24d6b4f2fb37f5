"""Load figures: 1,000 cached sessions. Times ``sessions``, ``list``, a ``process`` hit
and ``forget --all`` (medians; asserts nothing). Run: ``python -m tests.benchmarks.load``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks import compile_checkout
from tests.benchmarks.peers import median_ms
from tests.sandbox import start_secret_service
from tests.test_load import role_config, seed_sessions


def main(count: int = 1000, runs: int = 5) -> None:
    compile_checkout()
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-load-"))
    (tmp / "keyring").mkdir()
    service = start_secret_service(tmp / "keyring")
    try:
        env = dict(os.environ, **service.env, AWS_CONFIG_FILE=str(tmp / "config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(tmp / "credentials"),
                   ROLECALL_CONFIG=str(tmp / "rolecall.toml"),
                   ROLECALL_STATE_DIR=str(tmp / "state"), ROLECALL_KEYRING_SERVICE="load")
        os.environ.update(env)
        (tmp / "config").write_text(role_config(count))
        start = time.perf_counter()
        seed_sessions(count)
        print(f"seeded {count} sessions into gnome-keyring in "
              f"{time.perf_counter() - start:.1f} s")
        cli = [sys.executable, "-m", "tui"]
        for label, args in (("sessions --json", ["sessions", "--json"]),
                            ("list --json", ["list", "--json"]),
                            ("list (table)", ["list"]),
                            (f"process r{count - 1} (hit)", ["process", f"r{count - 1}"])):
            print(f"  {label:32} {median_ms([*cli, *args], env, runs):8.1f} ms")
        start = time.perf_counter()
        subprocess.run([*cli, "forget", "--all"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"  {'forget --all':32} {(time.perf_counter() - start) * 1000:8.1f} ms")
    finally:
        service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
