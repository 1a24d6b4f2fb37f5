"""State files: the one opener for every file rolecall reads or writes in its config,
state, cache and runtime dirs (the session index, the inventory snapshot, the SSO
listing, keys, the journal, the endpoint record, the catalog) and for reads of the AWS
files.

Regular files only. A path is looked at with ``stat`` first (which never opens it), then
opened non-blocking and checked again with ``fstat``, so a fifo, socket or device put in
a file's place (even between the two) is one ``rolecall:`` line, never a hang; a
directory or a dangling link likewise. Writes replace the file atomically (temp file,
fsync, rename) with mode 0600 and never replace what is not a regular file. Standard
library only, and light: ``process`` reads the session index through here on every
cache hit.
"""

import contextlib
import errno
import json
import os
import stat

from profiles.errors import ConfigError, FileWriteError

_NONBLOCK = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
READ = os.O_RDONLY
APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT
MAX_SIZE = 64 * 1024 * 1024  # nothing rolecall keeps is this large: refuse, never fill memory

_KINDS = ((stat.S_ISFIFO, "a fifo"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a directory"))


class NotRegular(ConfigError):
    """A fifo, socket, device or directory where rolecall keeps a regular file."""

    def __init__(self, path: object, mode: int) -> None:
        super().__init__(f"{path} is {kind(mode)}, not a file",
                         fix=f"remove it, or put a regular file there ({path})")
        self.path, self.mode = path, mode


def kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _unreadable(path: object, exc: OSError, follow: bool = True) -> ConfigError:
    if exc.errno == errno.ELOOP:
        why = "a symlink loop" if follow else "a symlink (rolecall does not follow one here)"
    else:
        why = exc.strerror or "unreadable"
    return ConfigError(f"cannot read {path}: {why}", fix="check the file and its permissions")


def _dangling(path: object) -> ConfigError:
    return ConfigError(f"{path} is a symlink to nothing",
                       fix=f"remove it or repair the link ({path})")


def open_regular(path: str | os.PathLike, flags: int = READ, *, follow: bool = True,
                 mode: int = 0o600) -> tuple[int, os.stat_result]:
    """A descriptor of the regular file ``path`` (opened with ``flags``, non-blocking,
    close-on-exec, never as a controlling terminal) and its ``fstat``. Raises
    :class:`NotRegular` for anything else (looked at before opening, checked after),
    ``FileNotFoundError`` when it is missing, ``OSError`` otherwise."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise
    else:
        if not stat.S_ISREG(st.st_mode) and (follow or not stat.S_ISLNK(st.st_mode)):
            raise NotRegular(path, st.st_mode)
    fd = os.open(path, flags | _NONBLOCK | (0 if follow else _NOFOLLOW), mode)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped in since the look
            raise NotRegular(path, st.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_bytes(path: str | os.PathLike, *, dangling_ok: bool = False,
               devnull_ok: bool = False, follow: bool = True,
               max_size: int = MAX_SIZE) -> bytes | None:
    """The file's bytes, or None when it does not exist. A dangling symlink is an error
    unless ``dangling_ok`` (the AWS files: botocore ignores one); ``/dev/null`` reads as
    empty when ``devnull_ok``; ``follow=False`` refuses a symlink. Anything else that is
    not a regular file is refused (:class:`NotRegular`, a ConfigError: exit 2)."""
    try:
        fd, st = open_regular(path, follow=follow)
    except FileNotFoundError:
        if not dangling_ok and os.path.islink(path):
            raise _dangling(path) from None
        return None
    except NotRegular as exc:
        if devnull_ok and _is_devnull(path):
            return b""
        raise exc from None
    except OSError as exc:
        raise _unreadable(path, exc, follow) from None
    except ValueError:  # a NUL in the name
        raise ConfigError(f"{path!r} is not a file name (it holds a NUL)") from None
    try:
        return read_all(fd, st, max_size, path)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    finally:
        os.close(fd)


def read_all(fd: int, st: os.stat_result, max_size: int = MAX_SIZE,
             path: object = "the file") -> bytes:
    """Everything ``fd`` (from :func:`open_regular`, whose ``fstat`` is ``st``) holds;
    ConfigError past ``max_size`` bytes."""
    if st.st_size > max_size:
        raise ConfigError(f"{path} is too large ({st.st_size} bytes)",
                          fix="remove it or point rolecall at the right file")
    chunks, size = [], 0
    while size <= max_size and (chunk := os.read(fd, max(st.st_size + 1, 65536))):
        chunks.append(chunk)
        size += len(chunk)
    if size > max_size:  # it grew while read
        raise ConfigError(f"{path} is too large", fix="remove it or point rolecall at the "
                          "right file")
    return b"".join(chunks)


def _is_devnull(path: str | os.PathLike) -> bool:
    try:
        st, null = os.stat(path), os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def read_json(path: str | os.PathLike, **options: object) -> object | None:
    """The JSON a state file holds; None when it is missing or not JSON (state is a
    cache rolecall can rebuild); a non-regular file is refused as :func:`read_bytes`
    does (``options`` are its own)."""
    data = read_bytes(path, **options)  # type: ignore[arg-type]
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # ValueError: also a number of 4,300+ digits
        return None


def open_append(path: str | os.PathLike) -> int:
    """An append descriptor on the regular file ``path`` (created 0600 if missing; never
    through a symlink, never a fifo or device): one ``os.write`` of a whole line on it
    is never torn or interleaved with another writer's. Raises as :func:`open_regular`."""
    return open_regular(path, APPEND, follow=False)[0]


def check_writable(path: str | os.PathLike) -> None:
    """Refuse a write to ``path`` when what is there is not a regular file (a fifo, a
    directory, a dangling link): FileWriteError, never a replacement."""
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
                                 fix=f"remove it; rolecall keeps a regular file there ({path})")


def write_private(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    """Atomically replace ``path`` with ``data``, mode 0600 (temp file, fsync, rename).
    ``durable=False`` skips the fsync, for caches that may be lost but never torn. What
    is in the way and not a regular file (a fifo, a directory) is refused, not replaced."""
    # lazy: tempfile (and what it imports) only when writing: the hot path only reads
    import tempfile

    check_writable(path)
    directory, name = os.path.split(os.fspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory or ".")
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
