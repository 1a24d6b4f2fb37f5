"""Where a running ``rolecall serve`` (or the board's endpoint) is: ``endpoint.json`` in
the runtime dir, 0600, holding its port, token and process id. ``rolecall env ROLE
--server`` reads it.

A token never outlives the port it was issued for: whenever the endpoint binds a port
other than the one its record names (that port was taken meanwhile, perhaps by another
local user who now receives the old token from every SDK still pointed there), it gets
a new token. And a token outlives a run only in a runtime dir that the login owns and
the system empties at logout (``$XDG_RUNTIME_DIR``, or a ``ROLECALL_RUNTIME_DIR`` the user
names): there the record stays after a stop (with no pid), so a restart on the same port
keeps the token and shells set up for it keep working. Without one (the record then
lives in the state dir, on disk) every start makes a new token and a stop deletes the
record.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from profiles import paths
from profiles.doors import statefiles
from profiles.errors import RolecallError, UsageError
from profiles.ops.renewal import Renewer
from profiles.ops.server import CredentialServer, EndpointError, reachable

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
        fd, info = statefiles.open_regular(target, follow=False)
    except (OSError, ValueError, RolecallError):  # missing, a symlink, a fifo: none
        return None
    try:
        mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()  # Windows: no uids
        if not mine or info.st_size > MAX_SIZE:
            return None
        data = json.loads(statefiles.read_all(fd, info, MAX_SIZE, target))
    except (OSError, ValueError, RolecallError):
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
    statefiles.write_private(target, json.dumps(data).encode() + b"\n", durable=False)
    return target


def volatile() -> bool:
    """Whether the runtime dir lasts only as long as the login and is the user's alone:
    ``ROLECALL_RUNTIME_DIR`` (the user says so), or ``$XDG_RUNTIME_DIR`` as the XDG spec
    has it (absolute, owned by this user, mode 0700). Else the record is in the state dir."""
    if os.environ.get("ROLECALL_RUNTIME_DIR"):
        return True
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if not base.startswith("/"):
        return False
    try:
        info = os.stat(base)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and \
        not info.st_mode & 0o077


def open_shared(renewer: Renewer, port: int | None = None) -> CredentialServer:
    """The long-lived endpoint (``serve``, the board): on ``port``, else the one used
    last if it is free, else any; with the token used last only when it binds that same
    port in a :func:`volatile` runtime dir, else a new one; recorded in the runtime dir.
    Refused when another one runs."""
    known = read()
    if known is not None and known.running():
        raise EndpointError(f"an endpoint already runs on http://127.0.0.1:{known.port} "
                            f"(pid {known.pid})",
                            fix="use it (rolecall env ROLE --server), or stop it first")
    try:
        server = CredentialServer(renewer,
                                  port=port if port is not None else known.port if known else 0)
    except EndpointError:
        if port is not None or known is None:
            raise
        server = CredentialServer(renewer)  # the last port is taken: any
    if known is not None and known.port == server.port and volatile():
        server.token = known.token  # the same port, the same login: shells keep working
    token = server.token
    try:
        write(Endpoint(server.port, token, os.getpid()))
    except RolecallError:  # a fifo or directory in the record's place: said as it is
        server.server_close()
        raise
    except OSError as exc:
        server.server_close()
        raise RolecallError(f"cannot record the endpoint in {path()}: {exc.strerror or exc}",
                            fix="set ROLECALL_RUNTIME_DIR to a writable directory") from None
    return server


def close_shared(server: CredentialServer) -> None:
    """Stop ``server`` and record that it no longer runs: port and token kept in a
    :func:`volatile` runtime dir, the record deleted anywhere else."""
    server.stop()
    known = read()
    if known is not None and known.pid == os.getpid():
        with contextlib.suppress(OSError):
            if volatile():
                write(Endpoint(known.port, known.token, 0))
            else:
                path().unlink()


def running() -> Endpoint:
    """The running endpoint, or a clear error saying how to start one."""
    known = read()
    if known is not None and not known.running() and not volatile():
        with contextlib.suppress(OSError):  # a crashed endpoint's token: not kept on disk
            path().unlink()
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
