"""Benchmark: ``rolecall prompt``, which a prompt runs on every line, against the floor:
``python -c pass`` with the same interpreter (the goal: at most 1.5x).

rolecall is installed as pip installs it, into a throwaway venv (``--here``: this
environment instead; an editable install's import finder then costs every process, the
floor's too). It runs inside a rolecall shell's environment (``ROLECALL_ROLE``,
``AWS_CREDENTIAL_EXPIRATION``, ``ROLECALL_REFRESH_WINDOW``) and outside one. The commands
run in alternation and medians are printed with the ratio to the floor, then where the
prompt's import time goes (``-X importtime``). Asserts nothing.

    python -m tests.benchmarks.prompt [--runs 41] [--here]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks import compile_checkout
from tests.benchmarks.measure import alternated, import_report, import_times, machine
from tests.benchmarks.userland import install

FLOOR = "python -c pass"
LAUNCHED = "rolecall prompt --format bash"
# The same, without the console script pip writes (its first line is `import re`, which
# a bare interpreter does not load): what rolecall's own code costs.
OWN = "  ... rolecall's code alone"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41)
    parser.add_argument("--here", action="store_true", help="measure this environment")
    ns = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-bench-prompt-"))
    try:
        if ns.here:
            compile_checkout()
            bin_dir = Path(sys.executable).parent
        else:
            bin_dir = install(tmp / "venv")
        python, rolecall = str(bin_dir / "python"), str(bin_dir / "rolecall")
        (tmp / "home").mkdir()
        outside = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ROLECALL_", "AWS_", "NO_COLOR"))}
        outside["HOME"] = str(tmp / "home")
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2530))
        inside = {**outside, "ROLECALL_ROLE": "prod-admin", "ROLECALL_REFRESH_WINDOW": "300",
                  "AWS_CREDENTIAL_EXPIRATION": expires, "AWS_SESSION_EXPIRATION": expires}
        bash = [rolecall, "prompt", "--format", "bash"]
        commands = {
            "python -S -c pass": [python, "-S", "-c", "pass"],
            FLOOR: [python, "-c", "pass"],
            "python -c 'import re'": [python, "-c", "import re"],
            LAUNCHED: bash,
            OWN: [python, "-c", "import sys; from tui.cli import main; sys.exit(main())",
                  *bash[1:]],
            "rolecall prompt (plain)": [rolecall, "prompt"],
            "rolecall prompt --format json": [rolecall, "prompt", "--format", "json"],
        }
        times = alternated(commands, inside, ns.runs)
        away = alternated({FLOOR: commands[FLOOR], "rolecall prompt, outside a shell": bash},
                          outside, ns.runs)
        floor, floor_cpu = times[FLOOR]
        print(f"machine: {machine()}")
        print(f"rolecall {'from this environment' if ns.here else 'installed (wheel)'}; "
              f"medians of {ns.runs} alternated runs, inside a rolecall shell's environment")
        print(f"  {'':34} {'wall':>7}  {'ratio':>6}   {'cpu':>7}  {'ratio':>6}")
        for label, (wall, cpu) in times.items():
            goal = "  (goal: wall <= 1.5x)" if label == LAUNCHED else ""
            print(f"  {label:34} {wall:7.1f}  {wall / floor:5.2f}x   {cpu:7.1f}  "
                  f"{cpu / floor_cpu:5.2f}x{goal}")
        away_floor = away[FLOOR][0]
        print("outside a rolecall shell (prints nothing):")
        for label, (wall, cpu) in away.items():
            print(f"  {label:34} {wall:7.1f}  {wall / away_floor:5.2f}x   {cpu:7.1f}")
        print("\nrolecall prompt --format bash, -X importtime (medians of 5):")
        hot = import_times([python, *bash], inside)
        floor_imports = {name.strip() for name, _, _ in import_times([python, "-c", "pass"],
                                                                        inside)}
        print(import_report(hot, top=8))
        extra = [(name.strip(), own) for name, own, _ in hot
                 if name.strip() not in floor_imports]
        print(f"    imported beyond python -c pass: {sum(o for _, o in extra) / 1000:.1f} ms")
        for name, own in sorted(extra, key=lambda e: -e[1]):
            print(f"      {own / 1000:6.2f} ms  {name}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
