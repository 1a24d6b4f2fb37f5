"""rolecall against its peers (the AWS CLI, awsume), every figure measured in one run.

    python -m tests.benchmarks.peers [--runs 7] [--here]

Builds a throwaway venv with ``awscli``, ``awsume`` and rolecall (from this checkout)
installed from PyPI (``--here`` uses the current environment instead), starts a moto
server on 127.0.0.1 and a private gnome-keyring, then prints medians and ratios. Every
tool runs as a user has it: a throwaway HOME with the default layout and only HOME,
``AWS_ENDPOINT_URL`` and the session bus set (``tests/benchmarks/userland.py``).
Benchmarks print figures; nothing here asserts on wall time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.benchmarks import ROOT, compile_checkout
from tests.benchmarks.measure import alternated, machine, median_ms
from tests.benchmarks.userland import (
    JEEPNEY_FLOOR,
    SECRETSTORAGE_FLOOR,
    default_layout,
    install,
    user_env,
)
from tests.sandbox import Moto, start_secret_service

PROFILES_FLOOR = "import botocore.session; botocore.session.Session().available_profiles"
CATALOG = '[settings]\nrefresh_window = "5m"\n'


def role_config(count: int, arn_of: Callable[[int], str]) -> str:
    parts = ["[profile base]\nregion = us-east-1\n"]
    parts += [f"[profile r{i}]\nrole_arn = {arn_of(i)}\nsource_profile = base\n"
              "region = us-east-1\n" for i in range(count)]
    return "\n".join(parts)


class Bench:
    def __init__(self, runs: int, bin_dir: Path, tmp: Path, moto: Moto, bus: str):
        self.runs, self.bin, self.tmp, self.moto = runs, bin_dir, tmp, moto
        self.home = tmp / "home"
        self.files = default_layout(self.home, "", "", CATALOG)
        self.config, self.creds = self.files["config"], self.files["credentials"]
        self.env = user_env(self.home, moto.url, bus)
        self.rows: list[tuple[str, str, str]] = []

    def tool(self, name: str) -> str:
        return str(self.bin / name)

    def time(self, cmd: list[str], before: Callable[[], None] | None = None) -> float:
        return median_ms(cmd, self.env, self.runs, before)

    def row(self, label: str, ms: float, note: str = "") -> float:
        self.rows.append((label, f"{ms:9.1f} ms", note))
        print(f"  {label:58} {ms:9.1f} ms  {note}", flush=True)
        return ms

    def run(self, *cmd: str) -> str:
        return subprocess.run(cmd, env=self.env, check=True, capture_output=True,
                              text=True).stdout

    def setup_chain(self) -> None:
        arns = [self.moto.create_role(f"{i}" * 12, f"Hop{i}") for i in (1, 2, 3)]
        key, secret = self.moto.create_user_keys("000000000000", "bench")
        self.config.write_text(
            "[profile base]\nregion = us-east-1\n\n"
            f"[profile hop1]\nrole_arn = {arns[0]}\nsource_profile = base\nregion = us-east-1\n\n"
            f"[profile hop2]\nrole_arn = {arns[1]}\nsource_profile = hop1\nregion = us-east-1\n\n"
            f"[profile hop3]\nrole_arn = {arns[2]}\nsource_profile = hop2\nregion = us-east-1\n\n"
            f"[profile viaprocess]\ncredential_process = {self.tool('rolecall')} process hop3\n"
            "region = us-east-1\n")
        self.creds.write_text(f"[base]\naws_access_key_id = {key}\n"
                              f"aws_secret_access_key = {secret}\n")
        self.creds.chmod(0o600)

    def forget(self) -> None:
        self.run(self.tool("rolecall"), "forget", "--all")

    def awscli_cache_clear(self) -> None:
        shutil.rmtree(self.home / ".aws" / "cli" / "cache", ignore_errors=True)

    # -- the measures ---------------------------------------------------------------------

    def credential_process(self) -> None:
        print("1. credential_process, cache hit (alternated runs)", flush=True)
        python = self.tool("python")
        self.forget()
        self.run(self.tool("rolecall"), "assume", "hop3")
        index = json.loads((self.files["state"] / "sessions.json").read_text())
        key = next(k for k, e in index["sessions"].items() if e["role"] == "hop3")
        times = alternated({
            "bare": [python, "-S", "-c", "pass"],
            "jeepney": [python, "-c", JEEPNEY_FLOOR, "rolecall", key],
            "secretstorage": [python, "-c", SECRETSTORAGE_FLOOR, "rolecall", key],
            "rolecall": [self.tool("rolecall"), "process", "hop3"],
        }, self.env, max(self.runs, 15))
        (bare, _), (floor, floor_cpu) = times["bare"], times["jeepney"]
        self.row("python -S -c pass", bare)
        self.row("floor: one Secret Service read (jeepney)", floor, f"cpu {floor_cpu:.1f} ms")
        self.row("one Secret Service read (secretstorage)", times["secretstorage"][0],
                 f"{times['secretstorage'][0] / floor:.2f}x floor")
        hit, hit_cpu = times["rolecall"]
        self.row("rolecall process hop3", hit,
                 f"{hit / floor:.2f}x floor (goal <= 1.0x), cpu {hit_cpu / floor_cpu:.2f}x")
        # The mechanism's own floor: the same credential_process answer from `cat` (a C
        # program, ~1 ms). These are moto's throwaway keys, in this run's temp dir.
        answer = self.tmp / "process.json"
        answer.touch(mode=0o600)
        answer.write_text(self.run(self.tool("rolecall"), "process", "hop3"))
        with self.config.open("a") as config:
            config.write(f"\n[profile viacat]\ncredential_process = cat {answer}\n"
                         "region = us-east-1\n")
        caller = [self.tool("aws"), "sts", "get-caller-identity", "--profile"]
        cli = alternated({name: [*caller, name] for name in ("hop3", "viaprocess", "viacat")},
                         self.env, self.runs)  # the warm-up run fills the AWS CLI's cache
        native, via, cat = (cli[name][0] for name in ("hop3", "viaprocess", "viacat"))
        self.row("aws sts get-caller-identity, AWS CLI chain (warm)", native)
        self.row("aws sts get-caller-identity via rolecall process", via,
                 f"{via / native:.2f}x the AWS CLI's own chain (goal <= 1.1x)")
        self.row("aws sts get-caller-identity via credential_process = cat", cat,
                 f"{cat / native:.2f}x: the AWS CLI's cost of running any credential_process")

    def config_scale(self) -> None:
        print("2. config scale (alternated runs per size)", flush=True)
        python = self.tool("python")
        saved = self.config.read_text()
        floor = self.row("interpreter floor: python -c pass", self.time([python, "-c", "pass"]))
        for count in (100, 1000, 5000):
            self.config.write_text(role_config(
                count, lambda i: f"arn:aws:iam::{100000000000 + i % 97}:role/R{i}"))
            last = f"r{count - 1}"
            times = alternated({
                f"rolecall list --json, {count} roles": [self.tool("rolecall"), "list", "--json"],
                f"aws configure get role_arn --profile {last}":
                    [self.tool("aws"), "configure", "get", "role_arn", "--profile", last],
                f"botocore Session().available_profiles, {count}": [python, "-c", PROFILES_FLOOR],
                f"awsume -l, {count} roles": [self.tool("awsumepy"), "-l"],
            }, self.env, self.runs)
            for label, (wall, _cpu) in times.items():
                note = (f"{wall - floor:.0f} ms above floor (goal at 5000 < 500 ms)"
                        if label.startswith("rolecall") else "")
                self.row(label, wall, note)
        self.config.write_text(saved)

    def assume(self) -> None:
        print("3. assume a 3-hop chain across three accounts", flush=True)
        rolecall, aws = self.tool("rolecall"), self.tool("aws")
        cold = self.row("rolecall assume hop3, cold",
                        self.time([rolecall, "assume", "hop3"], before=self.forget))
        cli = self.row("aws sts get-caller-identity --profile hop3, cold", self.time(
            [aws, "sts", "get-caller-identity", "--profile", "hop3"],
            before=self.awscli_cache_clear))
        awsume = self.row("awsume hop3 (cold = warm: it caches only MFA)",
                          self.time([self.tool("awsumepy"), "hop3"]))
        fastest = min(cli, awsume)
        self.rows[-3] = (*self.rows[-3][:2], f"{cold / fastest:.2f}x fastest peer (goal <= 1.2x)")
        print(f"  -> cold: {cold / fastest:.2f}x the fastest peer (goal <= 1.2x)")
        self.run(rolecall, "assume", "hop3")
        warm = self.row("rolecall assume hop3, warm", self.time([rolecall, "assume", "hop3"]))
        self.run(aws, "sts", "get-caller-identity", "--profile", "hop3")
        cli_warm = self.row("aws sts get-caller-identity --profile hop3, warm",
                            self.time([aws, "sts", "get-caller-identity", "--profile", "hop3"]))
        print(f"  -> warm: rolecall {warm:.0f} ms vs AWS CLI {cli_warm:.0f} ms, "
              f"awsume {awsume:.0f} ms")

    def credfile(self) -> None:
        print("5. credentials file: one profile written into N sections (in-process)",
              flush=True)
        code = (
            "import sys, time, statistics\n"
            "from datetime import UTC, datetime, timedelta\n"
            "from pathlib import Path\n"
            "from profiles.output import credfile\n"
            "from profiles.model import Credentials, Session\n"
            "n, path = int(sys.argv[1]), Path(sys.argv[2])\n"
            "path.write_text(''.join(f'[user{i}]\\naws_access_key_id = AK{i}\\n"
            "aws_secret_access_key = s{i}\\n\\n' for i in range(n)))\n"
            "exp = datetime.now(UTC) + timedelta(hours=1)\n"
            "def s(i):  # a new key each time: every write changes the file\n"
            "    return Session('k', 'r', 'role', 'arn:aws:sts::1:assumed-role/R/x', exp,\n"
            "                   exp, credentials=Credentials(f'ASIA{i:012d}', 'x', 'y', exp))\n"
            "credfile.write(s(99), 'warmup', path=path)\n"
            "t = []\n"
            "for i in range(15):\n"
            "    a = time.perf_counter(); credfile.write(s(i), f'p{i % 3}', path=path)\n"
            "    t.append((time.perf_counter() - a) * 1000)\n"
            "print(statistics.median(t))\n"
        )
        for count in (100, 1000, 5000):
            out = self.run(self.tool("python"), "-c", code, str(count),
                           str(self.tmp / f"creds-{count}"))
            self.row(f"write one profile into {count} sections", float(out.strip()),
                     "goal at 1000 < 50 ms" if count == 1000 else "")

    def tui(self) -> None:
        script = ROOT / "tests" / "benchmarks" / "tui_first_frame.py"
        if not script.exists():
            return
        print("4. TUI first frame (tests/benchmarks/tui_first_frame.py)", flush=True)
        subprocess.run([sys.executable, "-m", "tests.benchmarks.tui_first_frame"], cwd=ROOT,
                       check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--here", action="store_true",
                        help="use this environment's aws, awsume and rolecall")
    parser.add_argument("--skip-tui", action="store_true")
    ns = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-peers-"))
    service = moto = None
    try:
        if ns.here:
            compile_checkout()
            bin_dir = Path(sys.executable).parent
        else:
            print("building a throwaway venv with awscli, awsume and rolecall...", flush=True)
            bin_dir = install(tmp / "venv", "awscli", "awsume")
        (tmp / "keyring").mkdir()
        service = start_secret_service(tmp / "keyring")
        moto = Moto()
        bench = Bench(ns.runs, bin_dir, tmp, moto, service.env["DBUS_SESSION_BUS_ADDRESS"])
        versions = bench.run(str(bin_dir / "python"), "-c",
                             "import importlib.metadata as m; print(', '.join(f'{p} '"
                             "f'{m.version(p)}' for p in ('awscli','awsume','botocore')))")
        print(f"machine: {machine()}\npeers: {versions.strip()}\nmedians of {ns.runs} runs\n")
        bench.setup_chain()
        bench.credential_process()
        bench.config_scale()
        bench.assume()
        bench.credfile()
        if not ns.skip_tui:
            bench.tui()
    finally:
        if moto:
            moto.stop()
        if service:
            service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
