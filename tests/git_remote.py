"""Real git remotes for the registry tests: a repository to commit to, its bare clone
served at ``file://`` and by ``git daemon`` (in inetd mode, one per connection) on
127.0.0.1, and a remote that accepts a connection and never answers."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import threading
from pathlib import Path

IDENTITY = ["-c", "user.email=team@example.com", "-c", "user.name=Team",
            "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL).stdout


class Remote:
    """A work tree (``work``) whose commits are pushed to a bare repository (``bare``)."""

    def __init__(self, root: Path, name: str = "team") -> None:
        self.root = root
        self.work = root / f"{name}-work"
        self.bare = root / f"{name}.git"
        git("init", "-q", "-b", "main", str(self.work))
        git("init", "-q", "--bare", "-b", "main", str(self.bare))

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str | bytes], *, symlinks: dict[str, str] | None = None,
               message: str = "catalog", remove: tuple[str, ...] = ()) -> str:
        """Write ``files`` (and ``symlinks``: path -> target), commit, push; the commit."""
        for path, content in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        for path, pointee in (symlinks or {}).items():
            link = self.work / path
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            os.symlink(pointee, link)
        for path in remove:
            (self.work / path).unlink()
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "-q", "-f", str(self.bare), "HEAD:main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work).strip()


class Daemon:
    """``git daemon --inetd`` behind a listener on 127.0.0.1 (port 0): serves every bare
    repository under ``base`` as ``git://127.0.0.1:PORT/NAME.git``. ``silent``: accept
    and never answer (a remote that hangs)."""

    def __init__(self, base: Path, silent: bool = False) -> None:
        self.base = base
        self.silent = silent
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, name: str = "team") -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.silent:
                self.held.append(conn)
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            subprocess.run(["git", "daemon", "--inetd", "--export-all",
                            f"--base-path={self.base}", str(self.base)],
                           stdin=conn, stdout=conn, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        """Stop listening (a connection after this is refused)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self.sock.close()
        self.thread.join(10)
        for conn in self.held:
            conn.close()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def role(name: str, account: str = "111111111111", source: str = "base", **extra: str) -> str:
    """A ``[roles.NAME]`` table; ``extra`` values are TOML as written."""
    short = re.sub(r"[^A-Za-z0-9+=,.@_-]", "-", name).title()
    lines = [f"[roles.{json.dumps(name, ensure_ascii=False)}]",
             f'role_arn = "arn:aws:iam::{account}:role/{short}"', f'source = "{source}"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n\n"
