"""Benchmark: shell completion's candidates, as the bash script asks for them, against
a bare Python process. A config of ``--roles`` roles (default 5,000) under a throwaway
HOME; the inventory snapshot is current (the warm case every keypress after the first
sees). Commands run in alternation and medians are printed; asserts nothing.

    python -m tests.benchmarks.completion [--runs 21] [--roles 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks import compile_checkout
from tests.benchmarks.measure import alternated, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--roles", type=int, default=5000)
    ns = parser.parse_args()
    compile_checkout()
    home = Path(tempfile.mkdtemp(prefix="rolecall-complete-"))
    config, catalog = home / "config", home / "rolecall.toml"
    config.write_text("[profile base]\n" + "".join(
        f"[profile role-{i:05d}]\nrole_arn = arn:aws:iam::{100000000000 + i % 50}:role/R{i}\n"
        "source_profile = base\n" for i in range(ns.roles)))
    catalog.write_text("")
    past = time.time() - 60  # settled files: the snapshot is written on the first run
    for path in (config, catalog):
        os.utime(path, (past, past))
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""),
           "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(home / "c"),
           "ROLECALL_CONFIG": str(catalog), "ROLECALL_STATE_DIR": str(home / "state")}
    ask = [sys.executable, "-m", "tui", "completion", "bash", "--candidates", "--"]
    results = alternated({
        "python -c pass": [sys.executable, "-c", "pass"],
        "a command name (`rolecall as<TAB>`)": [*ask, "as"],
        f"role names, {ns.roles} roles (`rolecall assume role-0<TAB>`)": [*ask, "assume",
                                                                          "role-0"],
    }, env, ns.runs)
    print(f"{machine()}; medians of {ns.runs} alternated runs")
    for label, (wall, cpu) in results.items():
        print(f"  {label:58} {wall:7.1f} ms wall {cpu:7.1f} ms cpu")


if __name__ == "__main__":
    main()
