"""The one place rolecall runs ``git``: the user's own, so every transport and
credential helper they have set up works, but on rolecall's terms.

- Bounded: a fetch that has not finished after ``timeout`` seconds is killed (with its
  helpers, ssh and git-remote-https, where it runs in a session of its own).
- Quiet where it must be: with no terminal to ask on (the board, the sync on use), git
  runs in a new session (no controlling terminal), with ``GIT_TERMINAL_PROMPT=0`` and no
  askpass program, so a remote that wants a password fails at once instead of waiting.
- Nothing git prints reaches the terminal as it is: its output is kept (the last 64 KiB)
  and only the line that says why it failed is shown, escaped by the terminal door.
- The environment is the children's door's (no AWS credentials), minus git's own
  repository variables (``GIT_DIR`` and friends would point it at another repository),
  with the ``ext::`` and ``fd::`` transports off whatever the user's config says.
- Files come from git's object store, never a checkout: a symlink, submodule or
  directory where a file should be is refused, and nothing is read past its size limit.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from profiles.doors import children
from profiles.doors.terminal import shown
from profiles.errors import RolecallError

TIMEOUT = 120.0  # seconds a fetch may take (a shallow fetch of a catalog takes a few)
LOCAL_TIMEOUT = 60.0  # git commands on the local copy
FETCHED = "refs/rolecall/fetched"
KEPT_OUTPUT = 64 * 1024
FORCED = ("-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never")
QUIET = ("-c", "core.askPass=", "-c", "credential.interactive=false")
# `git rev-parse --local-env-vars`: what points git at a repository other than ours
LOCAL_VARIABLES = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_OBJECT_DIRECTORY", "GIT_DIR",
    "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE", "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX", "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)
PROMPTING = ("GIT_ASKPASS", "SSH_ASKPASS")
_COMMIT = re.compile(rb"[0-9a-f]{40}([0-9a-f]{24})?")
_MODES = {b"120000": "a symbolic link", b"160000": "a submodule", b"040000": "a directory"}


class GitError(RolecallError):
    """git failed, timed out or is missing (exit 1: like an unreachable service)."""


def quiet(interactive: bool) -> dict[str, str]:
    """What a git that must not ask (no terminal) is told, for the children's door."""
    return {} if interactive else {
        "GIT_TERMINAL_PROMPT": "0", "SSH_ASKPASS_REQUIRE": "never", "GCM_INTERACTIVE": "never"}


def dropped(interactive: bool) -> tuple[str, ...]:
    """What git must not inherit: another repository's variables, and (with no
    terminal) the programs that would ask for a password."""
    return LOCAL_VARIABLES + (() if interactive else PROMPTING)


def _argv(args: list[str], interactive: bool) -> list[str]:
    return ["git", *FORCED, *(() if interactive else QUIET), *args]


def cause(output: bytes, fallback: str) -> str:
    """The line of git's output that says why it failed, escaped for a terminal."""
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    said = [line for line in lines if line.startswith(("fatal:", "error:"))]
    line = (said or lines or [fallback])[-1]
    for prefix in ("fatal: ", "error: "):
        line = line.removeprefix(prefix)
    return shown(line, 300)


def _missing() -> GitError:
    return GitError("git is not installed (rolecall fetches registries with it)",
                    fix="install git, then run `rolecall registry sync`")


def fetch(repo: Path, url: str, ref: str | None, *, interactive: bool = False,
          timeout: float = TIMEOUT) -> str:
    """Fetch ``ref`` (default: the remote's HEAD) of ``url`` into the bare repository
    ``repo`` (made if missing), one commit deep; the commit id. GitError on failure."""
    if shutil.which("git") is None:
        raise _missing()
    if not (repo / "HEAD").is_file():
        _init(repo)
    spec = f"+{ref or 'HEAD'}:{FETCHED}"
    args = ["fetch", "--depth", "1", "--no-tags", "--no-write-fetch-head",
            "--no-recurse-submodules", "--", url, spec]
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                _argv(args, interactive), cwd=repo, stdin=subprocess.DEVNULL, stdout=out,
                stderr=out, env=children.environ(quiet(interactive), drop=dropped(interactive)),
                start_new_session=not interactive)
        except FileNotFoundError:
            raise _missing() from None
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill(proc, group=not interactive)
            raise GitError(f"git did not finish within {int(timeout)}s",
                           fix="check the network (VPN?) and the URL, then run "
                           "`rolecall registry sync`") from None
        except BaseException:
            _kill(proc, group=not interactive)
            raise
        out.seek(max(0, out.seek(0, os.SEEK_END) - KEPT_OUTPUT))
        output = out.read()
    if code != 0:
        raise GitError(cause(output, f"git fetch failed (exit {code})"),
                       fix="check the URL and ref, and that `git ls-remote` works for you")
    return commit_of(repo, FETCHED)


def _kill(proc: subprocess.Popen, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group and hasattr(os, "killpg"):  # a feature test: POSIX's process groups
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    proc.wait()


def _init(repo: Path) -> None:
    """A new bare repository, made beside ``repo`` and renamed into place (never half)."""
    repo.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.rmtree(repo, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{repo.name}.", dir=repo.parent))
    try:
        local(tmp.parent, ["init", "--quiet", "--bare", tmp.name])
        os.replace(tmp, repo)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def local(repo: Path, args: list[str], *, limit: int | None = None) -> bytes:
    """A git command on the local repository ``repo`` (no network); its stdout."""
    try:
        proc = subprocess.run(_argv(args, False), cwd=repo, stdin=subprocess.DEVNULL,
                              capture_output=True,
                              env=children.environ(quiet(False), drop=dropped(False)),
                              timeout=LOCAL_TIMEOUT, start_new_session=True)
    except FileNotFoundError:
        raise _missing() from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish within {int(LOCAL_TIMEOUT)}s") from None
    if proc.returncode != 0:
        raise GitError(cause(proc.stderr, f"git {args[0]} failed (exit {proc.returncode})"))
    return proc.stdout


def commit_of(repo: Path, ref: str) -> str:
    out = local(repo, ["rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}"])
    commit = out.strip()
    if not _COMMIT.fullmatch(commit):
        raise GitError("git gave no commit for what it fetched")
    return commit.decode()


class NotAFile(RolecallError):
    """A path in the repository that is missing, or not a regular file."""

    exit_code = 2


def read_file(repo: Path, commit: str, path: str, limit: int) -> bytes:
    """The bytes of ``path`` at ``commit``: a regular file (not a symlink, submodule or
    directory) of at most ``limit`` bytes, or NotAFile saying what it is."""
    listing = local(repo, ["--literal-pathspecs", "ls-tree", "-z", "--full-tree", commit,
                           "--", path])
    wanted = path.encode()
    for entry in listing.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        if name != wanted:
            continue
        mode, kind, obj = (meta.split(b" ") + [b"", b""])[:3]
        if kind != b"blob" or mode not in (b"100644", b"100755"):
            what = _MODES.get(mode) or "not a regular file"
            raise NotAFile(f"{shown(path)} is {what} in the repository",
                           fix="point --path (or trust_policy) at a regular file")
        size = int(local(repo, ["cat-file", "-s", obj.decode()]).strip() or 0)
        if size > limit:
            raise NotAFile(f"{shown(path)} is {size} bytes; rolecall reads at most {limit}",
                           fix="keep the catalog and its policies small (one per team)")
        return local(repo, ["cat-file", "blob", obj.decode()])[:limit]
    raise NotAFile(f"{shown(path)} is not in the repository at {commit[:12]}",
                   fix="check --path (default catalog.toml) and the ref")
