"""The journal: whole lines under concurrency, rotation, odd files, filters (see
docs/architecture.md, Audit and journal)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.errors import ConfigError
from profiles.ops import journal
from profiles.ops.journal import Entry

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))


def entry(role: str = "prod", moment: float = 1_800_000_000, **extra) -> Entry:
    return Entry(time=journal.now_iso(moment), action="AssumeRole", role=role,
                 role_arn=f"arn:aws:iam::222222222222:role/{role}", account_id="222222222222",
                 session_name="alice-1", **extra)


def test_round_trip_newest_first_and_filters(tmp_path):
    for i, role in enumerate(("a", "b", "a")):
        assert journal.record(entry(role, 1_800_000_000 + i, via="run"), tmp_path)
    assert journal.record(Entry(time=journal.now_iso(1_800_000_100), action="GetSessionToken",
                                role="mfa:alice", account_id="000000000000"), tmp_path)
    found = journal.query(tmp_path)
    assert [e.role for e in found] == ["mfa:alice", "a", "b", "a"]
    assert found[1].via == "run" and found[1].host and found[1].user is not None
    assert [e.moment for e in journal.query(tmp_path, role="a")] == [1_800_000_002,
                                                                     1_800_000_000]
    assert len(journal.query(tmp_path, account="222222222222")) == 3
    assert [e.role for e in journal.query(tmp_path, since=1_800_000_002)] == ["mfa:alice", "a"]
    assert (journal.path(tmp_path).stat().st_mode & 0o777) == 0o600


def test_foreign_and_torn_lines_are_skipped(tmp_path):
    journal.record(entry(), tmp_path)
    with journal.path(tmp_path).open("ab") as handle:
        handle.write(b'{"time": "2026-01-01T00:00:00Z", "act\n[1, 2]\n"text"\n\xff\xfe\n'
                     b'{"time": "not a time", "action": "AssumeRole", "role": "x"}\n'
                     b'{"time": "2026-01-01T00:00:00Z", "action": "AssumeRole", "role": 7}\n'
                     b'{"time": "2026-01-01T00:00:00Z", "action": "AssumeRole", "role": "x",'
                     b' "account_id": ["222222222222"], "session_name": 5}\n'
                     b'{"time": "2026-01-01T00:00:00Z", "action": "AssumeRole", "role": "x",'
                     b' "duration": true}\n'
                     b'{"time": "2026-01-01T00:00:01Z", "action": "AssumeRole", "role": "old",'
                     b' "a_field_of_later_versions": 1}\n')
    journal.record(entry("later"), tmp_path)
    assert [e.role for e in journal.entries(tmp_path)] == ["prod", "old", "later"]
    assert {e.role for e in journal.query(tmp_path, account="222222222222")} == {"prod", "later"}


def test_a_time_without_offset_is_utc_whatever_tz_says(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        naive = Entry.from_json({"time": "2026-01-01T00:00:00", "action": "AssumeRole",
                                 "role": "x"})
        assert naive is not None and naive.moment == 1_767_225_600
    finally:
        monkeypatch.undo()
        time.tzset()


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.fixed_dictionaries({"time": st.sampled_from(["2026-01-01T00:00:00Z", "x"]) | JSON,
                              "action": st.just("AssumeRole") | JSON,
                              "role": st.text(max_size=5) | JSON},
                             optional={name: JSON | st.text(max_size=5)
                                       for name in journal.FIELDS[3:]}))
def test_any_line_is_a_typed_entry_or_none(data):
    """What the table, the filters and ``known`` rely on: each field of its type."""
    found = Entry.from_json(json.loads(json.dumps(data)))
    if found is not None:
        for name, value in found.to_json().items():
            kind = Entry.__dataclass_fields__[name].type
            assert isinstance(value, int if name == "duration" else str) or (
                value is None and "None" in kind), (name, value)
            assert not isinstance(value, bool)


WRITER = """
import sys
from pathlib import Path
from profiles.ops import journal
from profiles.ops.journal import Entry
state, n, me = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pad = "x" * 900  # long lines: a torn write would show
for i in range(n):
    assert journal.record(Entry(time=journal.now_iso(), action="AssumeRole", role=f"{me}-{i}",
                                session_name=pad), state)
"""


def test_fifty_concurrent_processes_never_tear_a_line(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), "40", f"p{n}"],
                              cwd=ROOT) for n in range(50)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    raw = journal.path(tmp_path).read_bytes().splitlines()
    assert len(raw) == 50 * 40
    roles = {json.loads(line)["role"] for line in raw}  # every line parses whole
    assert roles == {f"p{n}-{i}" for n in range(50) for i in range(40)}


def test_rotation_keeps_one_old_file(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "ROTATE_AT", 2000)
    for i in range(40):
        assert journal.record(entry(f"r{i}", 1_800_000_000 + i), tmp_path)
    current, old = journal.path(tmp_path), tmp_path / (journal.NAME + ".1")
    assert old.exists() and current.stat().st_size < 2000 + 400
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("journal")) == [
        "journal.jsonl", "journal.jsonl.1", "journal.jsonl.lock"]
    kept = [e.role for e in journal.entries(tmp_path)]
    assert kept == sorted(kept, key=lambda r: int(r[1:])) and kept[-1] == "r39"
    assert (old.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize("kind", ["fifo", "dir", "symlink-to-file", "symlink-to-devnull",
                                  "dangling-symlink"])
def test_odd_files_are_never_written_through(tmp_path, kind):
    target = journal.path(tmp_path)
    other = tmp_path / "other"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dir":
        target.mkdir()
    elif kind == "symlink-to-file":
        other.write_text("keep\n")
        target.symlink_to(other)
    elif kind == "symlink-to-devnull":
        target.symlink_to("/dev/null")
    else:
        target.symlink_to(other)
    assert journal.record(entry(), tmp_path) is False  # never blocks, never raises
    with pytest.raises(ConfigError):  # read: one clear error (audit says it), never a wait
        journal.entries(tmp_path)
    if kind == "symlink-to-file":
        assert other.read_text() == "keep\n"
    if kind == "dangling-symlink":
        assert not other.exists()


def test_an_unwritable_state_dir_costs_only_the_entry(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert journal.record(entry(), blocker / "state") is False
