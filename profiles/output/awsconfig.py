"""rolecall's managed blocks in the AWS config file (``sso populate``): one per SSO
session, between ``# rolecall managed begin: sso-session NAME`` and ``# rolecall managed
end: sso-session NAME`` lines, holding a ``[profile NAME]`` per role with
``credential_process = rolecall process ROLE``.

Written as the credentials file is (``target``): only a regular file, under the lock
beside it, atomically, every byte outside the block kept (and, inside it, the keys and
comments a user added under a profile: only ``credential_process`` is rolecall's), the
file's own mode and line endings kept. The new text is read back with botocore's own
loader before the rename: if botocore would see any section or value other than the
ones meant, nothing is written.
"""

from __future__ import annotations

import configparser
import difflib
import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from profiles.errors import ConfigError, FileWriteError, UsageError
from profiles.output import ini, target

BEGIN = "# rolecall managed begin: sso-session "
END = "# rolecall managed end: sso-session "
OWNED = frozenset({"credential_process"})
_SECRET = re.compile(r"(?i)^(\s*(?:aws_secret_access_key|aws_session_token|"
                     r"aws_security_token)\s*[=:]\s*)(\S.*?)(\r?\n?)$")


@dataclass
class Block:
    """One session's block: its line range (markers included) and its profiles' bodies."""

    session: str
    start: int
    end: int
    profiles: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Outcome:
    """What a populate did (or, dry, would do) to one session's block."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # unchanged
    removed: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)  # no longer listed, left (no --prune)
    diff: list[str] = field(default_factory=list)
    path: Path | None = None


def _marker(line: str, prefix: str) -> str | None:
    text = line.strip()
    return text[len(prefix):].strip() if text.startswith(prefix) else None


def blocks(lines: list[str], kinds: list[ini.Line], where: Path) -> dict[str, Block]:
    """Every rolecall block of the file, by session; a block without its end line, or
    holding a section that is not a profile, is refused."""
    found: dict[str, Block] = {}
    current: Block | None = None
    section: str | None = None
    for i, (line, kind) in enumerate(zip(lines, kinds, strict=True)):
        begin, end = _marker(line, BEGIN), _marker(line, END)
        if begin is not None:
            if current is not None or begin in found:
                raise ConfigError(f"{where}: line {i + 1} starts a rolecall block inside "
                                  "another, or a second one for the same session",
                                  fix="remove one of the two begin lines")
            current, section = Block(begin, i, i), None
        elif end is not None and current is not None and end == current.session:
            current.end = i + 1
            found[current.session] = current
            current = None
        elif current is not None and kind.kind == "header":
            name = kind.name[len("profile "):].strip() if kind.name.startswith("profile ") \
                else None
            if not name:
                raise ConfigError(f"{where}: line {i + 1}: the rolecall block for "
                                  f"{current.session!r} holds a section rolecall did not "
                                  "write", fix="move it out of the block")
            section = name
            current.profiles[section] = []
        elif current is not None and section is not None:
            current.profiles[section].append(line)
    if current is not None:
        raise ConfigError(f"{where}: the rolecall block for {current.session!r} (line "
                          f"{current.start + 1}) has no end line",
                          fix=f"add the line '{END}{current.session}' where it ends")
    return found


def _kept(body: list[str]) -> list[str]:
    """A profile's lines a user added (every key but rolecall's own, comments), without
    the blank lines that end it."""
    kinds = ini.classify(["[s]\n", *body])[1:]
    out: list[str] = []
    skipping = False
    for line, kind in zip(body, kinds, strict=True):
        if kind.kind == "continuation" and skipping:
            continue
        skipping = kind.kind == "option" and kind.name in OWNED
        if not skipping:
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return out


def _block(session: str, profiles: dict[str, tuple[str, list[str]]], eol: str) -> list[str]:
    lines = [f"{BEGIN}{session}{eol}",
             f"# `rolecall sso populate` rewrites what is between these two lines{eol}"]
    for name in sorted(profiles):
        command, kept = profiles[name]
        lines += [f"[profile {name}]{eol}", f"credential_process = {command}{eol}"]
        lines += [line if ini.eol(line) else line + eol for line in kept]
        lines.append(eol)
    lines.append(f"{END}{session}{eol}")
    return lines


def change(text: str, where: Path, session: str, wanted: dict[str, str], prune: bool,
           outcome: Outcome) -> str:
    """The file's new text with ``session``'s block holding ``wanted`` (profile name ->
    credential_process command), and what changed in ``outcome``."""
    lines = ini.split_lines(text)
    kinds = ini.classify(lines)
    found = blocks(lines, kinds, where)
    old = found.get(session)
    before = old.profiles if old is not None else {}
    profiles: dict[str, tuple[str, list[str]]] = {}
    for name, command in wanted.items():
        ini.check_value(f"the credential_process of [profile {name}]", command)
        body = before.get(name)
        if body is None:
            outcome.added.append(name)
        elif ini.section_values(body).get("credential_process") != command:
            outcome.updated.append(name)
        else:
            outcome.kept.append(name)
        profiles[name] = (command, _kept(body or []))
    for name, body in before.items():
        if name in wanted:
            continue
        if prune:
            outcome.removed.append(name)
        else:
            outcome.unlisted.append(name)
            profiles[name] = (ini.section_values(body).get("credential_process", ""),
                              _kept(body))
    eol = ini.dominant_eol(text)
    new = _block(session, profiles, eol) if profiles else []
    if old is not None:
        return "".join(lines[:old.start] + new + lines[old.end:])
    if not new:
        return text
    head = lines[:]
    if head and not ini.eol(head[-1]):
        head[-1] += eol
    if head and head[-1].strip():
        head.append(eol)
    return "".join(head + new)


def _verify(tmp: Path, old: str, new: str, session: str, where: Path) -> None:
    """Refuse unless botocore's loader reads from ``tmp`` the old file's sections (the
    session's block aside) unchanged, and the block's profiles as written."""
    # lazy: botocore's parser only when a file is written
    from botocore.configloader import raw_config_parse
    from botocore.exceptions import BotoCoreError

    lines = ini.split_lines(new)
    block = blocks(lines, ini.classify(lines), where).get(session)
    try:
        expected, defaults = ini.parse_with_defaults(old, str(where))
        got = raw_config_parse(str(tmp), parse_subsections=False)
    except (configparser.Error, BotoCoreError):
        got, expected, defaults = {"?": {}}, {}, {}
    old_lines = ini.split_lines(old)
    previous = blocks(old_lines, ini.classify(old_lines), where).get(session)
    for name in previous.profiles if previous else ():
        expected.pop(f"profile {name}", None)
    for name, body in block.profiles.items() if block else ():
        expected[f"profile {name}"] = {**defaults, **ini.section_values(body)}
    if got != expected:
        odd = sorted(set(got) ^ set(expected)) or sorted(
            s for s in expected if got.get(s) != expected[s])
        shown = ", ".join(repr(s) for s in odd[:3])
        raise UsageError(f"the edit would change how botocore reads {where} ({shown}), so "
                         "rolecall left it unchanged",
                         fix="check the indentation and sections around rolecall's block")


def _masked(line: str) -> str:
    """A diff line with any secret value the user's file holds masked."""
    sign, rest = line[:1], line[1:]
    match = _SECRET.match(rest)
    return sign + (match.group(1) + "****" + match.group(3) if match else rest)


def populate(path: Path, session: str, wanted: dict[str, str], *, prune: bool = False,
             dry_run: bool = False) -> Outcome:
    """Write ``session``'s block into the AWS config file at ``path`` (or, ``dry_run``,
    only say what would change: ``outcome.diff``, secrets masked)."""
    outcome = Outcome(path=path)
    where = target.resolve(path)
    try:
        if not dry_run and not where.parent.is_dir():
            where.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with target.locked(where) as held:
            text = target.read(where, shown=path)
            lines = ini.split_lines(text)
            if any(kind.kind == "error" for kind in ini.classify(lines)):
                raise ConfigError(f"{where} does not parse, so rolecall will not edit it",
                                  fix="repair the file by hand, then try again")
            new = change(text, where, session, wanted, prune, outcome)
            outcome.diff = [_masked(line) for line in difflib.unified_diff(
                ini.split_lines(text), ini.split_lines(new), str(path), str(path), n=1)]
            if dry_run or new == text:
                return outcome
            if not held:
                raise OSError(errno.EROFS, "its directory is read-only")
            try:
                mode = stat.S_IMODE(os.stat(where).st_mode)  # the user's, kept
            except FileNotFoundError:
                mode = 0o600
            target.sweep(where)
            target.replace(where, new.encode(),
                           lambda tmp: _verify(tmp, text, new, session, where), mode=mode)
    except OSError as exc:
        raise FileWriteError(
            f"cannot write {where}: {exc.strerror or exc}; the file is unchanged",
            fix="check the directory is writable and the disk has space") from None
    return outcome
