"""Trust policies from files: a policy document, or ``aws iam get-role`` output (which
also gives ``MaxSessionDuration``). Only regular files are read, without ever blocking
on a fifo or device, and no more than a policy could be."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from profiles.trust.policy import MAX_BYTES, Policy, PolicyError, load_json, parse
from profiles.trust.text import shown


@dataclass(frozen=True)
class PolicySource:
    label: str
    policy: Policy
    max_session: int | None = None


def _read(path: Path) -> bytes:
    if str(path) == "-":
        try:
            return sys.stdin.buffer.read(MAX_BYTES + 1)
        except (OSError, AttributeError, ValueError) as exc:
            raise PolicyError(f"cannot read standard input: {exc}") from None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise PolicyError(f"{shown(path)}: no such file") from None
    except OSError as exc:
        raise PolicyError(f"{shown(path)}: cannot read: {exc.strerror}") from None
    except ValueError:  # a NUL in the name (argv cannot hold one; an in-process caller can)
        raise PolicyError(f"{shown(path)}: not a file name (it holds a NUL)") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PolicyError(f"{shown(path)}: not a regular file",
                              fix="give a JSON file holding the trust policy")
        chunks, size = [], 0
        while size <= MAX_BYTES and (chunk := os.read(fd, 1 << 16)):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise PolicyError(f"{shown(path)}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)


def from_document(data: object, label: str) -> PolicySource:
    """A policy, or the ``Role`` of ``get-role`` output (or its ``AssumeRolePolicyDocument``)."""
    max_session = None
    if isinstance(data, dict) and isinstance(data.get("Role"), dict):
        data = data["Role"]
    if isinstance(data, dict) and "AssumeRolePolicyDocument" in data:
        duration = data.get("MaxSessionDuration")
        max_session = duration if isinstance(duration, int) and duration > 0 else None
        data = data["AssumeRolePolicyDocument"]
        if isinstance(data, str):
            data = load_json(data)
    return PolicySource(label, parse(data, "trust"), max_session)


def read_policy_file(path: Path | str) -> PolicySource:
    """The trust policy in ``path`` (``-`` for stdin); PolicyError (exit 2) naming the
    file when it is not JSON or not a policy."""
    path = Path(path)
    try:
        return from_document(load_json(_read(path)), str(path))
    except PolicyError as exc:
        if exc.message.startswith(shown(path)):
            raise
        raise PolicyError(f"{shown(path)}: {exc.message}", fix=exc.fix) from None
