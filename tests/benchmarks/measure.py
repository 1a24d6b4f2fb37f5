"""Timing helpers shared by the benchmark scripts: medians, alternated runs, the machine,
and where a process's import time goes (``-X importtime``). Nothing here asserts."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """``(wall ms, cpu ms)`` of one run of ``cmd``: its CPU time (user + system, from
    wait4) moves less than wall time when other work shares the machine. Output is
    discarded; the command must succeed."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, cmd)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def wall_ms(cmd: list[str], env: dict[str, str]) -> float:
    return timed(cmd, env)[0]


def median_ms(cmd: list[str], env: dict[str, str], runs: int,
              before: Callable[[], None] | None = None) -> float:
    """Median wall time of a command, with an untimed ``before`` step each run."""
    times = []
    for _ in range(runs):
        if before:
            before()
        times.append(wall_ms(cmd, env))
    return statistics.median(times)


def alternated(commands: dict[str, list[str]], env: dict[str, str],
               runs: int) -> dict[str, tuple[float, float]]:
    """Median ``(wall ms, cpu ms)`` of each command over ``runs`` rounds of A, B, C, A, B,
    C ...: a load spike on a shared machine lands on every command alike, not on one."""
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for cmd in commands.values():  # one untimed warm-up each: page cache, bytecode
        timed(cmd, env)
    for _ in range(runs):
        for label, cmd in commands.items():
            times[label].append(timed(cmd, env))
    return {label: (statistics.median(w for w, _ in values),
                    statistics.median(c for _, c in values))
            for label, values in times.items()}


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = f", load {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    return (f"{model or platform.processor()}, {os.cpu_count()} cores{load}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def import_times(cmd: list[str], env: dict[str, str],
                 rounds: int = 5) -> list[tuple[str, int, int]]:
    """``(module, self us, cumulative us)`` for every module ``cmd`` imports, in import
    order, each the median over ``rounds`` runs of ``python -X importtime`` (``cmd`` starts
    with the interpreter)."""
    samples: dict[str, list[tuple[int, int]]] = {}
    order: list[str] = []
    for _ in range(rounds):
        out = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], env=env, check=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in out.stderr.splitlines():
            if not line.startswith("import time:") or "imported package" in line:
                continue
            own, cumulative, name = line[len("import time:"):].split("|")
            key = name.rstrip()  # the indent shows the nesting; keep it for the report
            if key not in samples:
                samples[key] = []
                order.append(key)
            samples[key].append((int(own), int(cumulative)))
    return [(key, int(statistics.median(s for s, _ in samples[key])),
             int(statistics.median(c for _, c in samples[key]))) for key in order]


def import_report(rows: list[tuple[str, int, int]], top: int = 12) -> str:
    """The top-level imports by cumulative time, then the heaviest single modules."""
    total = sum(own for _, own, _ in rows)
    lines = [f"    all imports: {total / 1000:.1f} ms over {len(rows)} modules (self time summed)"]
    roots = [row for row in rows if row[0].startswith(" ") and not row[0].startswith("  ")]
    lines.append("    top-level imports by cumulative time:")
    for name, _own, cumulative in sorted(roots, key=lambda r: -r[2])[:top]:
        lines.append(f"      {cumulative / 1000:6.2f} ms  {name.strip()}")
    lines.append("    heaviest modules by self time:")
    for name, own, _cumulative in sorted(rows, key=lambda r: -r[1])[:top]:
        lines.append(f"      {own / 1000:6.2f} ms  {name.strip()}")
    return "\n".join(lines)
