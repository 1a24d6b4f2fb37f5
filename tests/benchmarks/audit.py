"""Audit figures (asserts nothing): ``rolecall audit`` over a journal at its rotation size
(10 MiB, plus a full old file), and CloudTrail reads against the fake: one account's
pages paced under the 2-a-second limit, then four accounts at once.
Run: ``python -m tests.benchmarks.audit``."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from profiles.ops import journal
from profiles.ops.journal import Entry
from profiles.ops.trail import Keys, TrailReader
from tests.benchmarks import compile_checkout
from tests.benchmarks.measure import median_ms
from tests.fakes import CloudTrail

ACCOUNTS = [f"{n}" * 12 for n in range(1, 5)]


def fill(state: Path) -> int:
    """Both journal files at 10 MiB of real-shaped entries; returns the entry count."""
    now = time.time()
    line_count = 0
    for name in (journal.NAME + ".1", journal.NAME):
        lines = []
        size = 0
        while size < journal.ROTATE_AT:
            i = line_count + len(lines)
            entry = Entry(time=journal.now_iso(now - 40_000 + i), action="AssumeRole",
                          role=f"role-{i % 500}", role_arn=f"arn:aws:iam::{ACCOUNTS[i % 4]}:"
                          f"role/Role{i % 500}", account_id=ACCOUNTS[i % 4],
                          session_name=f"alice-{i}", caller_arn="", duration=3600,
                          expires_at=journal.now_iso(now + 3600), via="cli",
                          host="laptop", user="alice")
            line = journal.json.dumps(journal.asdict(entry), separators=(",", ":")) + "\n"
            lines.append(line)
            size += len(line)
        (state / name).write_text("".join(lines))
        line_count += len(lines)
    return line_count


def trail_figures(events: int = 1000) -> None:
    with CloudTrail() as trail:
        when = datetime.now(UTC)
        for n, account in enumerate(ACCOUNTS):
            key = f"AKIABENCH{n:011d}"
            trail.caller(key, account)
            for i in range(events):
                trail.assume_role(f"arn:aws:iam::{account}:role/Deploy", f"s-{i}",
                                  "arn:aws:iam::999999999999:user/x",
                                  when=when - timedelta(seconds=10 * i + 1))
        os.environ["AWS_ENDPOINT_URL_CLOUDTRAIL"] = trail.url
        start = when.timestamp() - 86400

        def read(n: int) -> int:
            keys = Keys(f"AKIABENCH{n:011d}", "x")
            return len(TrailReader().lookup(keys, ACCOUNTS[n], "us-east-1", start).events)

        begin = time.perf_counter()
        got = read(0)
        one = time.perf_counter() - begin
        pages = -(-events // 50)
        print(f"  CloudTrail, 1 account, {got} events in {pages} pages: {one:.1f} s "
              f"(paced at 2 calls/s: floor {(pages - 1) * 0.5:.1f} s)")
        begin = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            total = sum(pool.map(read, range(4)))
        print(f"  CloudTrail, 4 accounts at once, {total} events: "
              f"{time.perf_counter() - begin:.1f} s; throttled: "
              f"{trail.calls.errors().get('ThrottlingException', 0)}")


def main(runs: int = 5) -> None:
    compile_checkout()
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-audit-"))
    try:
        state = tmp / "state"
        state.mkdir(mode=0o700)
        count = fill(state)
        env = dict(os.environ, AWS_CONFIG_FILE=str(tmp / "config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(tmp / "credentials"),
                   ROLECALL_CONFIG=str(tmp / "rolecall.toml"), ROLECALL_STATE_DIR=str(state),
                   PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
        (tmp / "config").write_text("[profile base]\n")
        print(f"journal: {count} entries in 2 x 10 MiB")
        cli = [sys.executable, "-m", "tui", "audit"]
        for label, args in (("audit --json", ["--json"]), ("audit (table)", []),
                            ("audit --role role-7 --json", ["--role", "role-7", "--json"]),
                            ("audit --since 1h --json", ["--since", "1h", "--json"])):
            print(f"  {label:32} {median_ms([*cli, *args], env, runs):8.1f} ms")
        trail_figures()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
