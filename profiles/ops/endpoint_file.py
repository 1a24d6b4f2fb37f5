"""Where a running ``rolecall serve`` (or the board's endpoint) is: ``endpoint.json`` in
the runtime dir, 0600, holding its port, token and process id. ``rolecall env ROLE
--server`` reads it. The file outlives the server (with no pid), so a restart keeps the
port and the token, and shells set up for the old one keep working.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from profiles import paths
from profiles.errors import RolecallError, UsageError
from profiles.ops.renewal import Renewer
from profiles.ops.server import CredentialServer, EndpointError, new_token, reachable
from profiles.sessions.cache import write_private

NAME = "endpoint.json"
MAX_SIZE = 4096


@dataclass(frozen=True)
class Endpoint:
    port: int
    token: str
    pid: int = 0  # 0: not running

    def running(self) -> bool:
        """Its process lives and its port answers."""
        if self.pid <= 0:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # someone else's process: the port decides
        return reachable(self.port)


def path() -> Path:
    return paths.runtime_dir() / NAME


def read(where: Path | None = None) -> Endpoint | None:
    """The endpoint recorded in ``where`` (default :func:`path`); None when there is none
    or the file is not a small regular file of this user holding what rolecall writes."""
    target = where or path()
    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()  # Windows: no uids
        if not stat.S_ISREG(info.st_mode) or not mine or \
                info.st_size > MAX_SIZE:
            return None
        data = json.loads(os.read(fd, MAX_SIZE))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not isinstance(data, dict):
        return None
    port, token, pid = data.get("port"), data.get("token"), data.get("pid", 0)
    if not (isinstance(port, int) and 0 < port < 65536 and isinstance(token, str)
            and token.isascii() and token.isprintable() and 16 <= len(token) <= 256
            and isinstance(pid, int)):
        return None
    return Endpoint(port, token, pid)


def write(endpoint: Endpoint, where: Path | None = None) -> Path:
    target = where or path()
    paths.ensure_private_dir(target.parent)
    data = {"port": endpoint.port, "token": endpoint.token, "pid": endpoint.pid}
    write_private(target, json.dumps(data).encode() + b"\n", durable=False)
    return target


def open_shared(renewer: Renewer, port: int | None = None) -> CredentialServer:
    """The long-lived endpoint (``serve``, the board): on ``port``, else the one used
    last if it is free, else any; with the token used last; recorded in the runtime dir.
    Refused when another one runs."""
    known = read()
    if known is not None and known.running():
        raise EndpointError(f"an endpoint already runs on http://127.0.0.1:{known.port} "
                            f"(pid {known.pid})",
                            fix="use it (rolecall env ROLE --server), or stop it first")
    token = known.token if known else new_token()
    try:
        server = CredentialServer(renewer, token=token,
                                  port=port if port is not None else known.port if known else 0)
    except EndpointError:
        if port is not None or known is None:
            raise
        server = CredentialServer(renewer, token=token)  # the last port is taken: any
    try:
        write(Endpoint(server.port, token, os.getpid()))
    except OSError as exc:
        server.server_close()
        raise RolecallError(f"cannot record the endpoint in {path()}: {exc.strerror or exc}",
                            fix="set ROLECALL_RUNTIME_DIR to a writable directory") from None
    return server


def close_shared(server: CredentialServer) -> None:
    """Stop ``server`` and record that it no longer runs (port and token kept)."""
    server.stop()
    known = read()
    if known is not None and known.pid == os.getpid():
        with contextlib.suppress(OSError):
            write(Endpoint(known.port, known.token, 0))


def running() -> Endpoint:
    """The running endpoint, or a clear error saying how to start one."""
    known = read()
    if known is None or not known.running():
        where = f" (last on port {known.port})" if known else ""
        raise RolecallError(f"no credential endpoint is running{where}",
                            fix="start one with `rolecall serve` (or press e in the board)")
    return known


def check_port(text: str) -> int:
    """``--port``: 0 (any free port) to 65535."""
    if text.isdigit() and text.isascii() and int(text) < 65536:
        return int(text)
    raise UsageError(f"invalid port {text!r}", fix="give a number from 1 to 65535 (0: any)")
