"""Where a credentials-file write lands, and how it lands there.

Only a regular file (or a missing one) is written: a path that is, or links to, a
device, fifo, socket or directory is refused after a ``stat`` (which never opens it),
and the read opens with ``O_NONBLOCK`` and checks ``fstat`` again, so nothing blocks.
A symlink is followed and kept: the file at the end of the chain is replaced, the link
never. Writers are serialised by a lock beside that file (``credentials.lock``), so two
writers with different state dirs still exclude each other. The new text goes to a
temp file of rolecall's own naming (``.credentials.rolecall-PID-RANDOM.tmp``, 0600),
is fsynced and checked, then renamed over the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from profiles.doors import statefiles
from profiles.errors import FileWriteError, UsageError

LOCK_TIMEOUT = 30.0
STALE_AFTER = 600.0  # a temp file this old belongs to no live writer (they live < 1 s)
_KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFIFO: "a fifo", stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}
_CREATE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_CLOEXEC", 0))


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


CREDENTIALS_FIX = ("point AWS_SHARED_CREDENTIALS_FILE at a regular file, or use "
                   "credential_process = rolecall process ROLE instead of a written profile")


def _not_regular(shown: Path, where: Path, mode: int, fix: str = CREDENTIALS_FIX
                 ) -> UsageError:
    via = f" (through the symlink {shown})" if shown != where else ""
    return UsageError(
        f"{where}{via} is {_kind(mode)}, not a regular file; rolecall writes credentials "
        "only to a regular file", fix=fix)


def resolve(path: Path, fix: str = CREDENTIALS_FIX) -> Path:
    """The file a write to ``path`` replaces: ``path``, or the end of its symlink chain.
    A missing end (a dangling link) is created there, as the AWS CLI does, if its
    directory exists. Refuses a loop, and anything but a regular file (``fix`` says
    what to do about that file)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if not os.path.islink(path):
            return path
        end = Path(os.path.realpath(path))
        if not end.parent.is_dir():
            raise UsageError(f"{path} is a symlink to {end}, whose directory does not exist",
                             fix=f"create {end.parent}, or remove the link") from None
        return end
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{path} is a symlink loop", fix="remove or repair the link"
                             ) from None
        raise FileWriteError(f"cannot reach {path}: {exc.strerror}") from None
    end = Path(os.path.realpath(path)) if os.path.islink(path) else path
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, end, st.st_mode, fix)
    return end


def read(target: Path, shown: Path | None = None, fix: str = CREDENTIALS_FIX) -> str:
    """The file's text exactly as stored (UTF-8, line endings untranslated); "" if it
    does not exist. Never blocks: opened non-blocking, then checked to be regular."""
    try:
        fd, st = statefiles.open_regular(target, follow=False)  # never blocks: see the door
    except FileNotFoundError:
        return ""
    except statefiles.NotRegular as exc:
        raise _not_regular(shown or target, target, exc.mode, fix) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a link since resolve()
            raise UsageError(f"{target} changed into a symlink while rolecall read it",
                             fix="try again") from None
        raise FileWriteError(f"cannot read {target}: {exc.strerror}") from None
    try:
        return statefiles.read_all(fd, st, path=target).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileWriteError(f"cannot read {target}: it is not UTF-8 text ({exc.reason} "
                             f"at byte {exc.start})") from None
    except OSError as exc:
        raise FileWriteError(f"cannot read {target}: {exc.strerror}") from None
    finally:
        os.close(fd)


def lock_path(target: Path) -> Path:
    return target.with_name(target.name + ".lock")


@contextlib.contextmanager
def locked(target: Path) -> Iterator[bool]:
    """Hold the lock beside ``target``; yields False (no lock) when the directory is
    read-only, where reading is all that can happen and the writer must not write."""
    # lazy: filelock only when a file is written
    from filelock import FileLock, Timeout

    lock = lock_path(target)
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(lock).st_mode
        if not stat.S_ISREG(mode):
            raise UsageError(f"the lock file {lock} is {_kind(mode)}; rolecall will not use it",
                             fix=f"remove {lock}")
    guard = FileLock(str(lock), mode=0o600, timeout=LOCK_TIMEOUT)
    try:
        guard.acquire()
    except Timeout:
        raise FileWriteError(f"another writer has held {lock} for {LOCK_TIMEOUT:.0f} s; "
                             f"{target} is unchanged",
                             fix="try again; if no rolecall is running, remove the lock file"
                             ) from None
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        held = False
    else:
        held = True
    try:
        yield held
    finally:
        if held:
            guard.release()


_TEMP = re.compile(r"\.(?P<name>.+)\.rolecall-(?P<pid>\d+)-[0-9a-f]{8}\.tmp")


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there; let age decide
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(target: Path, now: Callable[[], float] = time.time) -> list[str]:
    """Remove temp files (they may hold secrets) that killed writers of ``target`` left.
    Called under the lock, so no writer honouring it is mid-write; still, only files of
    rolecall's own naming for this target, whose writer's pid is gone or that are older
    than any live write, are removed. Returns their names."""
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.fullmatch(entry.name)
        if not match or match.group("name") != target.name:
            continue
        with contextlib.suppress(OSError):
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            if _alive(int(match.group("pid"))) and now() - st.st_mtime < STALE_AFTER:
                continue
            os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.rolecall-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def replace(target: Path, data: bytes, check: Callable[[Path], None],
            mode: int = 0o600) -> None:
    """Atomically replace ``target`` with ``data`` (``mode``, 0600 unless the file's own
    is kept): temp file, fsync, ``check(temp)`` (may raise to refuse), rename."""
    while True:
        tmp = temp_name(target)
        try:
            fd = os.open(tmp, _CREATE_FLAGS, 0o600)
            break
        except FileExistsError:
            continue
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        check(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
