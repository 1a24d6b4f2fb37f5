"""The AWS shared files, read as botocore reads them, but safely.

The result is botocore's own ``full_config`` shape (``build_profile_map`` of the config
file, with the credentials file's profiles merged in as ``Session.full_config`` does),
so the STS clients resolve from exactly the text that was planned. What differs from
``botocore.configloader.raw_config_parse`` is only how failures look: a file that is a
directory, fifo, socket, device or symlink loop is a ConfigError (botocore silently
treats it as missing; nothing here ever blocks opening one), and a parse error names
the file and the line number, never the line (it may be a secret).
"""

from __future__ import annotations

import configparser
import copy
import errno
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from profiles.errors import ConfigError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a fifo"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
# POSIX-only flags where the platform has them (Windows has none of these three)
_READ = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
         | getattr(os, "O_NOCTTY", 0))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _is_devnull(st: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes; None when it does not exist. ``/dev/null`` reads as empty (the
    usual way to say "no file"); any other non-regular file is refused before it is
    opened, and opened without blocking in case it was swapped in between."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None  # missing, or a dangling symlink: botocore ignores both
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if not stat.S_ISREG(st.st_mode):
        if _is_devnull(st):
            return b""
        raise ConfigError(f"{path} is {_kind(st.st_mode)}, not a file",
                          fix="point the variable at a regular file, or remove it")
    try:
        fd = os.open(path, _READ)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{path} is {_kind(mode)}, not a file")
        return handle.read()


def _unreadable(path: Path, exc: OSError) -> ConfigError:
    why = "a symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or "unreadable")
    return ConfigError(f"cannot read {path}: {why}", fix="check the file and its permissions")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _problem(exc: configparser.Error) -> tuple[str, int | None]:
    """What is wrong and on which line, without the line's text."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return "a key outside any [section]", exc.lineno
    if isinstance(exc, configparser.DuplicateSectionError):
        return "a section defined twice", exc.lineno
    if isinstance(exc, configparser.DuplicateOptionError):
        return "a key given twice in one section", exc.lineno
    if isinstance(exc, configparser.ParsingError):
        line = exc.errors[0][0] if exc.errors else None
        return "a line that is neither [section], key = value nor a comment", line
    return "invalid INI", None


def parse(path: Path) -> dict[str, dict]:
    """``raw_config_parse(path)``: sections to keys to values (indented blocks parsed as
    one level of nesting), or ``{}`` for a missing file."""
    from botocore.configloader import _parse_nested  # the nesting rule, as botocore has it

    data = read_bytes(path)
    if not data:
        return {}
    try:
        # As open() reads for configparser: UTF-8, universal newlines.
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=None).read()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: line {_line_of(data, exc.start)} is not "
                          "UTF-8 text", fix="save the file as UTF-8") from None
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        what, line = _problem(exc)
        where = f"line {line}: " if line else ""
        raise ConfigError(f"cannot parse {path}: {where}{what}",
                          fix="fix the INI syntax at the line named") from None
    config: dict[str, dict] = {}
    for section in parser.sections():
        values = config[section] = {}
        for option in parser.options(section):
            value = parser.get(section, option)
            if value.startswith("\n"):
                try:
                    value = _parse_nested(value)
                except ValueError:
                    raise ConfigError(
                        f"cannot parse {path}: an indented block holds a line that is "
                        "not key = value", fix="indent only key = value lines") from None
            values[option] = value
    return config


@dataclass(frozen=True)
class AwsFiles:
    """The two files as botocore reads them: ``full`` is ``Session.full_config`` (the
    config file's profile map with the credentials file's profiles merged in); ``config``
    and ``credentials`` are what its ConfigProvider and SharedCredentialProvider parse."""

    full: dict
    config: dict
    credentials: dict


def load(config_file: Path, credentials_file: Path) -> AwsFiles:
    # lazy: botocore's loader only when the snapshot misses (a hit parses nothing)
    from botocore.configloader import build_profile_map

    config = build_profile_map(parse(config_file))
    credentials = parse(credentials_file)
    full = copy.deepcopy(config)
    profiles = full["profiles"]
    for name, values in credentials.items():
        profiles.setdefault(name, {}).update(values)
    return AwsFiles(full, config, credentials)
