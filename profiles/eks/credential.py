"""The ``ExecCredential`` kubectl reads, and a cached token served from the session index
and the keyring alone.

Standard library only (and jeepney for the Secret Service, as ``process`` on a cache hit):
no botocore, no keyring module, no config parsing, so a cached token costs about what
starting Python does. A token is served while more than a minute of it remains, only
if the files that define roles are unchanged since it was made (the same stamp a cached
session needs), and only if its keyring item names its own cache key.
"""

import json
import os
import time
from collections.abc import Mapping

from profiles.countdown import epoch
from profiles.doors import statefiles
from profiles.sessions import fastpath

KIND = "eks"  # the session index's kind for a cached token
API = "client.authentication.k8s.io/v1beta1"
APIS = (API, "client.authentication.k8s.io/v1")
# aws-iam-authenticator (EKS's) accepts a token until 15 minutes after its X-Amz-Date,
# whatever X-Amz-Expires says; kubectl is told it ends a minute before (as `aws eks
# get-token` and aws-iam-authenticator do), and the cache serves it until then.
VALID = 15 * 60
MARGIN = 60


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def api_version(env: Mapping[str, str] = os.environ) -> str:
    """The version kubectl asks for in ``KUBERNETES_EXEC_INFO`` (v1 or v1beta1), else
    v1beta1 (what rolecall's kubeconfig entries name)."""
    raw = env.get("KUBERNETES_EXEC_INFO")
    if raw:
        try:
            version = json.loads(raw).get("apiVersion")
        except (ValueError, AttributeError, RecursionError):
            version = None
        if version in APIS:
            return version
    return API


def document(token: str, expires: float, api: str) -> str:
    """The ``ExecCredential`` for ``token`` (the server accepts it until ``expires``)."""
    return json.dumps({
        "kind": "ExecCredential", "apiVersion": api, "spec": {},
        "status": {"expirationTimestamp": iso(expires - MARGIN), "token": token},
    }) + "\n"


def matches(entry: object, role: str, cluster: str, region: str | None) -> bool:
    """Whether index ``entry`` is a token of ``role`` for ``cluster`` as asked (the same
    ``--region``, or none)."""
    if not isinstance(entry, dict) or entry.get("kind") != KIND or entry.get("role") != role:
        return False
    params = entry.get("params")
    return isinstance(params, dict) and (params.get("cluster"), params.get("region")) == (
        cluster, region)


def cached(role: str, cluster: str, region: str | None,
           now: float | None = None) -> tuple[str, float] | None:
    """``(token, expires)`` of a cached token with more than a minute left by the local
    clock, or None (then the full path decides, and says why if something is wrong)."""
    try:
        return _cached(role, cluster, region, time.time() if now is None else now)
    except Exception:  # noqa: BLE001 - any doubt sends us down the full path
        return None


def _cached(role: str, cluster: str, region: str | None,
            now: float) -> tuple[str, float] | None:
    index = statefiles.read_json(os.path.join(fastpath._state_dir(), "sessions.json"))
    sessions = index.get("sessions") if isinstance(index, dict) else None
    if not isinstance(sessions, dict):
        return None
    current = None
    for key, entry in sessions.items():
        if not matches(entry, role, cluster, region) or not entry.get("backend"):
            continue
        expires = epoch(entry["expires_at"])
        if expires - now <= MARGIN:
            continue
        if current is None:
            current = fastpath.stamp()
        if entry.get("stamp") != current:
            continue
        secret = fastpath.read_secret(
            entry["backend"], os.environ.get("ROLECALL_KEYRING_SERVICE") or "rolecall", key,
            entry.get("item"))
        payload = json.loads(secret or "null")
        if isinstance(payload, dict) and payload.get("Key") == key \
                and isinstance(token := payload.get("Token"), str) and token:
            return token, expires
    return None
