"""The kubeconfig entry that asks rolecall for a cluster's token: a cluster, a user whose
``exec`` runs ``rolecall eks token ROLE --cluster NAME`` and a context joining them.

The file is the one kubectl writes: the first of ``$KUBECONFIG``'s list, else
``~/.kube/config``. It is written as the credentials file is (:mod:`profiles.output.target`):
only a regular file (a symlink is followed and kept), through a temp file of rolecall's
own naming, mode 0600, checked and renamed over it. The lock is kubectl's own (``FILE.lock``
created exclusively, removed after; beside the path as given, as kubectl takes it, and
beside the file a symlink leads to), so rolecall and kubectl never write at once and
neither leaves the other a lock it would trip on. The YAML is read and written by PyYAML,
never by hand: names (a role's is outside text) are scalars, quoted wherever any reader
(kubectl's go-yaml too) could take them for something else, the command's arguments a
list, and the new file must read back as exactly what was meant.
Every other entry and key is kept (PyYAML keeps no comments: kubectl does not either).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from profiles.config.text import UNSAFE
from profiles.doors import statefiles
from profiles.eks import credential
from profiles.errors import ConfigError, FileWriteError, UsageError
from profiles.output import target

# A string is written plain only if every YAML reader takes it for a string: kubectl's
# (go-yaml, YAML 1.1 rules) reads `1e3` as a number and `y` or `off` as a boolean where
# PyYAML's resolver does not; anything else is double-quoted.
PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._/-]*")
WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
LOCK_WAIT = 10.0  # kubectl holds its lock for milliseconds
FIX = "point KUBECONFIG at a regular file"
LISTS = ("clusters", "users", "contexts")


def path() -> Path:
    """The kubeconfig kubectl writes: ``$KUBECONFIG``'s first file, else ~/.kube/config."""
    for item in os.environ.get("KUBECONFIG", "").split(os.pathsep):
        if item:
            return Path(os.path.expanduser(item))
    return Path.home() / ".kube" / "config"


@dataclass(frozen=True)
class Entry:
    """What one role on one cluster adds: the names of its three entries and their bodies."""

    context: str
    cluster_name: str
    user_name: str
    cluster: dict
    user: dict


def check_text(value: str, what: str) -> str:
    if not value or UNSAFE.search(value):
        raise UsageError(f"invalid {what} {ascii(value)}",
                         fix=f"give a {what} of printable characters")
    return value


def check_server(url: str) -> str:
    """An http(s) URL with a host and nothing else (a kubeconfig's ``server``)."""
    check_text(url, "server URL")
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("https", "http") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        ok = False
    if not ok or parts.query or parts.fragment or parts.username or " " in url:
        raise UsageError(f"invalid server URL {ascii(url)}",
                         fix="give the cluster's API endpoint, e.g. https://ABC.gr7.us-west-2"
                         ".eks.amazonaws.com")
    return url


def ca_data(file: Path) -> str:
    """``certificate-authority-data`` from a PEM file (embedded, as ``aws eks
    update-kubeconfig`` writes it, so the kubeconfig stands alone)."""
    # lazy: the door only when a CA file is given
    from profiles.doors import statefiles

    try:
        data = statefiles.read_bytes(file)
    except ConfigError as exc:
        raise UsageError(f"--ca-file: {exc.message}", fix=exc.fix) from None
    if data is None:
        raise UsageError(f"--ca-file: {file} does not exist", fix="give the cluster's CA file")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise UsageError(f"--ca-file: {file} holds no PEM certificate",
                         fix="give the cluster's CA certificate (PEM)")
    return base64.b64encode(data).decode()


def entry(role: str, cluster: str, server: str, arn: str, *, ca: str | None = None,
          region: str | None = None, context: str | None = None,
          command: str = "rolecall") -> Entry:
    """The entries for ``role`` on ``cluster`` (named by its ARN, as the AWS CLI names it,
    so both tools update one cluster entry). ``region``: passed on to ``eks token``."""
    tail = ["--cluster", cluster, *(["--region", region] if region else [])]
    args = ["eks", "token", *([*tail, "--", role] if role.startswith("-") else [role, *tail])]
    body: dict[str, object] = {"server": check_server(server)}
    if ca:
        body["certificate-authority-data"] = ca
    name = check_text(context or f"{role}@{cluster}", "context name")
    return Entry(
        context=name, cluster_name=arn, user_name=f"{role}@{arn}", cluster=body,
        user={"exec": {"apiVersion": credential.API, "command": command, "args": args}})


@contextlib.contextmanager
def kubectl_lock(where: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """kubectl's lock on ``where``: ``where.lock``, created exclusively, removed after."""
    lock = where.with_name(where.name + ".lock")
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_NOFOLLOW", 0), 0o600)
            break
        except FileExistsError:
            if time.monotonic() >= deadline:
                raise FileWriteError(
                    f"{lock} exists: kubectl (or rolecall) is writing {where}; it is "
                    "unchanged", fix=f"try again; if nothing is writing it, remove {lock}"
                ) from None
            time.sleep(0.05)
        except OSError as exc:
            raise FileWriteError(f"cannot lock {where}: {exc.strerror}; it is unchanged",
                                 fix="check the directory is writable") from None
    os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)


def dump(data: dict) -> str:
    """``data`` as YAML by PyYAML's safe dumper, quoting every string not plainly a string
    to every reader (:data:`PLAIN`)."""
    # lazy: PyYAML only when a kubeconfig is written
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        plain = PLAIN.fullmatch(value) is not None and value.lower() not in WORDS
        return dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                       style=None if plain else '"')

    Dumper.add_representer(str, text)
    return yaml.dump(data, Dumper=Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=4096)


def _load(text: str, where: Path) -> dict:
    # lazy: PyYAML only when a kubeconfig is written
    import yaml

    try:
        data = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where} is not YAML{at}, so rolecall will not edit it",
                          fix="repair it (kubectl config view shows what kubectl reads)"
                          ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} is not a kubeconfig (not a mapping)",
                          fix="repair it, or point KUBECONFIG at another file")
    for key in LISTS:
        items = data.get(key)
        if items is not None and not (isinstance(items, list) and all(
                isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)):
            raise ConfigError(f"{where}: {key} is not a list of named entries",
                              fix="repair it (kubectl config view shows what kubectl reads)")
    return data


def _put(items: list, name: str, key: str, body: dict, merge: bool) -> bool:
    """Set entry ``name``'s ``key`` to ``body`` (merged into what it holds when
    ``merge``), in place, or append it. Whether it was new."""
    for item in items:
        if item["name"] == name:
            old = item.get(key)
            item[key] = {**old, **body} if merge and isinstance(old, dict) else body
            return False
    items.append({"name": name, key: body})
    return True


def merged(data: dict, new: Entry) -> tuple[dict, bool]:
    """``data`` with ``new``'s entries put in and its context made current: a cluster's
    other settings (proxy-url, tls-server-name) and a context's namespace are kept, a user
    entry is rolecall's own and replaced. Whether the context was new."""
    data.setdefault("apiVersion", "v1")
    data.setdefault("kind", "Config")
    data.setdefault("preferences", {})
    for key in LISTS:
        if data.get(key) is None:
            data[key] = []
    for item in data["clusters"]:
        if item["name"] == new.cluster_name and isinstance(item.get("cluster"), dict):
            for stale in ("certificate-authority", "certificate-authority-data",
                          "insecure-skip-tls-verify"):
                item["cluster"].pop(stale, None)
    _put(data["clusters"], new.cluster_name, "cluster", dict(new.cluster), merge=True)
    _put(data["users"], new.user_name, "user", new.user, merge=False)
    created = _put(data["contexts"], new.context, "context",
                   {"cluster": new.cluster_name, "user": new.user_name}, merge=True)
    data["current-context"] = new.context
    return data, created


def write(new: Entry, file: Path | None = None) -> tuple[Path, bool]:
    """Put ``new`` into the kubeconfig; returns the file written and whether the context
    was new. Nothing is written if the result would not read back as meant."""
    file = file or path()
    where = target.resolve(file, FIX)
    try:
        where.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise FileWriteError(f"cannot create {where.parent}: {exc.strerror}") from None
    given = Path(os.path.abspath(file))
    try:
        # kubectl locks the path it was given; rolecall's writers lock the file itself
        with kubectl_lock(given), kubectl_lock(where) if where != given \
                else contextlib.nullcontext():
            target.sweep(where)
            text = target.read(where, shown=file, fix=FIX)
            data, created = merged(_load(text, where), new)
            out = dump(data)

            def check(tmp: Path) -> None:
                if _load((statefiles.read_bytes(tmp) or b"").decode("utf-8"), tmp) != data:
                    raise UsageError(f"the edit would not read back as meant; {where} is "
                                     "unchanged", fix="repair the file, then try again")

            target.replace(where, out.encode(), check)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC):
            raise
        raise FileWriteError(f"cannot write {where}: {exc.strerror}; it is unchanged",
                             fix="check the directory is writable and the disk has space"
                             ) from None
    return where, created


@dataclass(frozen=True)
class Added:
    entry: Entry
    created: bool  # a new context (else an existing one updated)


def cluster_arn(role_arn: str, cluster: str, region: str) -> str:
    """The cluster's ARN as EKS spells it, in the role's partition and account."""
    parts = role_arn.split(":")
    partition, account = (parts[1], parts[4]) if len(parts) > 4 else ("aws", "")
    return f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"


def add(ws, role: str, cluster: str, *, server: str | None = None, ca: str | None = None,
        region: str | None = None, context: str | None = None,
        file: Path | None = None) -> tuple[Path, Added]:
    """Write ``role`` on ``cluster`` into the kubeconfig. ``region`` defaults to the one
    the catalog lists for that cluster (then passed on to ``eks token``); without
    ``server``, endpoint, CA and ARN come from EKS ``DescribeCluster`` as ``role``."""
    found = ws.inventory.role(role)
    region = region or next((r for name, r in found.eks_clusters if name == cluster), None)
    if server is None:
        # lazy: botocore only when the cluster is described
        from profiles.eks.describe import describe

        described = describe(ws, role, cluster, region)
        server, arn, ca = described.server, described.arn, ca or described.ca
    else:
        # lazy: botocore's region rules only for a kubeconfig entry
        from profiles.sessions.sts import default_region

        arn = cluster_arn(found.role_arn, cluster, default_region(region, found.region))
    new = entry(role, cluster, server, arn, ca=ca, region=region, context=context)
    where, created = write(new, file)
    return where, Added(new, created)
