"""``rolecall keys add|list|rm|rotate|process``: long-lived IAM user keys in the keyring
(see docs/architecture.md, Console, discovery and long-lived keys). Secrets are read from the
terminal without echo, or from stdin with
``--stdin``; never from argv, and never printed except by ``keys process`` (whose
output is for the SDK that runs it)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from profiles.doors.terminal import shown
from profiles.errors import UsageError
from tui.cli import common
from tui.cli.parser import Commands, Parser, _Subcommands
from tui.cli.prompt import read_hidden

MAX_STDIN = 64 * 1024  # a pasted CSV or JSON is a few hundred bytes


def _store():
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate.keys import KeyStore

    return KeyStore()


def _terminal() -> int:
    """The controlling terminal, read and written (OSError: there is none)."""
    return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)


def _read_keys(ns: argparse.Namespace):
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import keys

    if ns.stdin:
        return keys.parse(sys.stdin.read(MAX_STDIN + 1)[:MAX_STDIN])
    try:
        fd = _terminal()
    except OSError:
        raise UsageError("no terminal to ask for the keys on",
                         fix=f"pipe them in: ... | rolecall keys add {ns.name} --stdin "
                         "(never as arguments)") from None
    try:
        key_id = read_hidden(fd, f"Access key ID for {shown(ns.name)}: ")
        secret = read_hidden(fd, f"Secret access key for {shown(ns.name)}: ")
    finally:
        os.close(fd)
    return keys.check_pair(key_id, secret)


def cmd_add(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import keys

    store = _store()
    store.check_new(ns.name)  # a secret is never asked for only to be refused
    pair = _read_keys(ns)
    entry = keys.add(store, ns.name, pair, verify=not ns.no_verify)
    who = entry.get("arn") or "not verified (--no-verify)"
    name = shown(ns.name)
    print(f"added {name}: {shown(entry['key_id'])} ({shown(who)})")
    print(f"  use it: [profile {name}] credential_process = rolecall keys process "
          f"{name}, or keys = \"{name}\" on a catalog role", file=sys.stderr)
    return 0


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    days = int(seconds // 86400)
    return f"{days}d" if days else f"{max(0, int(seconds // 3600))}h"


def cmd_list(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import keys

    entries = _store().entries()
    now = time.time()
    if ns.json:
        common.dump([{
            "name": name, "access_key_id": e.get("key_id"), "arn": e.get("arn"),
            "account_id": e.get("account_id"), "created_at": e.get("created_at"),
            "added_at": e.get("added_at"), "rotated_at": e.get("rotated_at"),
            "age_seconds": int(a) if (a := keys.age(e, now)) is not None else None,
        } for name, e in sorted(entries.items())])
        return 0
    if not entries:
        print("no keys; add some with: rolecall keys add NAME")
        return 0
    rows = [("NAME", "ACCESS KEY", "AGE", "USER")]
    for name, e in sorted(entries.items()):
        seconds = keys.age(e, now)
        old = " (rotate)" if seconds is not None and seconds > 90 * 86400 else ""
        rows.append((name, str(e.get("key_id", "?")), _ago(seconds) + old,
                     str(e.get("arn") or "-")))
    sys.stdout.write(common.table(rows, right=(2,)))
    return 0


def _confirm(question: str) -> bool:
    """A yes from the controlling terminal (no terminal: no)."""
    try:
        fd = _terminal()
    except OSError:
        return False
    try:
        os.write(fd, question.encode("utf-8", "replace"))
        answer = os.read(fd, 256).decode("utf-8", "replace").strip().lower()
    finally:
        os.close(fd)
    return answer in ("y", "yes")


def cmd_rm(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import keys

    keys.check_name(ns.name)
    store = _store()
    if ns.name not in store.entries() and not store.exists(ns.name):
        raise UsageError(f"no keys named {ns.name!r}", fix="see `rolecall keys list`")
    if not ns.yes and not _confirm(f"Remove the keys {shown(ns.name)} from the keyring (the key "
                                   "stays active in IAM)? [y/N] "):
        raise UsageError(f"not removed: {ns.name}", fix="answer y, or pass --yes")
    store.remove(ns.name)
    print(f"removed {shown(ns.name)} from the keyring (the key is still active in IAM: delete it "
          "there, or rotate before removing)")
    return 0


def cmd_rotate(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate.rotation import rotate

    done = rotate(_store(), ns.name)
    for note in done.notes:
        print(f"rolecall: note: {shown(note)}", file=sys.stderr)
    print(f"rotated {shown(ns.name)}: {shown(done.old)} -> {shown(done.new)} "
          f"({shown(done.arn)}); the old key is deleted")
    return 0


def cmd_process(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import keys

    print(json.dumps(keys.process(_store(), ns.name)))
    return 0


def register(commands: Commands) -> None:
    p = commands.add("keys", lambda ns: ns.keys_func(ns), "long-lived IAM user keys kept in "
                     "the keyring: add, list, rm, rotate, process", role=False)
    sub = p.add_subparsers(dest="keys_action", metavar="ACTION", parser_class=Parser,
                           action=_Subcommands, required=True)

    def action(name: str, func, help_text: str, named: bool = True) -> Parser:
        q = sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
        if named:
            arg = q.add_argument("name", metavar="NAME", help="the keys' name")
            arg.complete = "keys" if name != "add" else None  # type: ignore[attr-defined]
        q.set_defaults(keys_func=func)
        return q

    q = action("add", cmd_add, "store an IAM user's access key (asked without echo)")
    q.add_argument("--stdin", action="store_true", help="read the keys from stdin: "
                   "create-access-key JSON, the console's CSV, or two lines")
    q.add_argument("--no-verify", action="store_true",
                   help="store without checking them with GetCallerIdentity")
    action("list", cmd_list, "the keys: masked key id, age, IAM user (never secrets)",
           named=False).add_argument("--json", action="store_true")
    action("rm", cmd_rm, "remove keys from the keyring").add_argument(
        "--yes", action="store_true", help="do not ask")
    action("rotate", cmd_rotate, "create a new key, prove it works, store it, delete the old")
    action("process", cmd_process, "credential_process output of the keys")
