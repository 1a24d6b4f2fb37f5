"""State files: the one opener for every file rolecall reads or writes in its config,
state, cache and runtime dirs (the session index, snapshots, the SSO listing, keys, the
journal, the endpoint record, the catalog) and for reads of the AWS files.

Regular files only. Every open is non-blocking and checked with ``fstat`` after it, so
a fifo, socket or device put in a file's place (even between a check and the open) is
one ``rolecall:`` line, never a hang; a directory or a dangling link likewise. Writes
replace the file atomically (temp file, fsync, rename) with mode 0600. Standard library
only: ``process`` reads the session index through here on every cache hit.
"""

import contextlib
import errno
import json
import os
import stat
import tempfile
from pathlib import Path

from profiles.errors import ConfigError, FileWriteError

_READ = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
MAX_SIZE = 64 * 1024 * 1024  # nothing rolecall keeps is this large: refuse, never fill memory

_KINDS = ((stat.S_ISFIFO, "a fifo"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a directory"))


def kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def not_regular(path: Path | str, mode: int) -> ConfigError:
    return ConfigError(f"{path} is {kind(mode)}, not a file",
                       fix=f"remove it; rolecall keeps a regular file there ({path})")


def _unreadable(path: Path | str, exc: OSError) -> ConfigError:
    why = "a symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or "unreadable")
    return ConfigError(f"cannot read {path}: {why}", fix="check the file and its permissions")


def read_bytes(path: Path | str, *, dangling_ok: bool = False,
               devnull_ok: bool = False) -> bytes | None:
    """The file's bytes, or None when it does not exist. A dangling symlink is an error
    unless ``dangling_ok`` (the AWS files: botocore ignores one); ``/dev/null`` reads as
    empty when ``devnull_ok``. Anything else that is not a regular file is refused."""
    try:
        fd = os.open(path, _READ)
    except FileNotFoundError:
        if not dangling_ok and os.path.islink(path):
            raise ConfigError(f"{path} is a symlink to nothing",
                              fix=f"remove it or repair the link ({path})") from None
        return None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            if devnull_ok and _is_devnull(st):
                return b""
            raise not_regular(path, st.st_mode)
        if st.st_size > MAX_SIZE:
            raise ConfigError(f"{path} is too large ({st.st_size} bytes)",
                              fix="remove it or point rolecall at the right file")
        chunks = []
        while chunk := os.read(fd, max(st.st_size + 1, 65536)):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    finally:
        os.close(fd)


def _is_devnull(st: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def read_json(path: Path | str) -> object | None:
    """The JSON a state file holds; None when it is missing or not JSON (state is a
    cache rolecall can rebuild); a non-regular file is refused as :func:`read_bytes` does."""
    data = read_bytes(path)
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def write_private(path: Path | str, data: bytes, durable: bool = True) -> None:
    """Atomically replace ``path`` with ``data``, mode 0600 (temp file, fsync, rename).
    ``durable=False`` skips the fsync, for caches that may be lost but never torn. What
    is in the way and not a regular file (a fifo, a directory) is refused, not replaced."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise FileWriteError(f"{path} is a symlink to nothing",
                                 fix=f"remove it or repair the link ({path})") from None
    except OSError as exc:
        raise FileWriteError(f"cannot reach {path}: {exc.strerror or exc}") from None
    else:
        if not stat.S_ISREG(st.st_mode):
            raise FileWriteError(f"{path} is {kind(st.st_mode)}, not a file",
                                 fix="remove it; rolecall keeps a regular file there")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):  # not on Windows (mkstemp made it 0600 already)
                os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
