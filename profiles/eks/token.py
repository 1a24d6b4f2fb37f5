"""The EKS token for a role and a cluster, as ``aws eks get-token`` and
aws-iam-authenticator make it: ``k8s-aws-v1.`` and the base64url (unpadded) of a
presigned STS ``GetCallerIdentity`` URL whose signature covers the ``x-k8s-aws-id:
CLUSTER`` header (so a token for one cluster is no token for another).

The cluster's authenticator GETs that URL with the header and learns from STS who signed
it. The URL says ``X-Amz-Expires=60`` (aws-iam-authenticator ignores it and accepts 0 to
900); it is good for 15 minutes after its ``X-Amz-Date``, and never after the session that
signed it ends. Signing is local (no STS call): the call is the role's session, cached or
assumed as ``process`` would (more than 15 minutes left whenever a new one lasts longer,
so a token lasts its full 15 minutes). The token is cached in the keyring like a session
(:meth:`SessionCache.put_token`) and served, here or by :mod:`profiles.eks.credential`
without botocore, until a minute before its end. It is a bearer secret: it goes to stdout
for kubectl and to the keyring, never to an argv, the index or a log.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from profiles.eks import credential
from profiles.eks.clusters import check_cluster, check_region_arg
from profiles.model import Session, iso
from profiles.sessions.fastpath import PROCESS_MIN_LEFT
from profiles.sessions.plan import _key

PREFIX = "k8s-aws-v1."
HEADER = "x-k8s-aws-id"
URL_EXPIRES = 60  # what `aws eks get-token` asks (aws-iam-authenticator 0.3 wanted <= 60)


@dataclass(frozen=True)
class Token:
    value: str  # the bearer token (a secret)
    expires: float  # when the authenticator stops accepting it (epoch seconds)
    cached: bool


def encode(url: str) -> str:
    """``k8s-aws-v1.`` + base64url of the URL without padding."""
    return PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def presigned_url(client, cluster: str) -> str:
    """A GET URL for ``GetCallerIdentity`` signed by ``client`` with ``x-k8s-aws-id``
    among the signed headers (botocore passes no header as a parameter: it is moved to
    the request context, then onto the request before signing, as the AWS CLI does)."""
    def keep(params: dict, context: dict, **_) -> None:
        if HEADER in params:
            context[HEADER] = params.pop(HEADER)

    def add(request, **_) -> None:
        if HEADER in request.context:
            request.headers[HEADER] = request.context[HEADER]

    client.meta.events.register("provide-client-params.sts.GetCallerIdentity", keep)
    client.meta.events.register("before-sign.sts.GetCallerIdentity", add)
    return client.generate_presigned_url("get_caller_identity", Params={HEADER: cluster},
                                         ExpiresIn=URL_EXPIRES, HttpMethod="GET")


def cache_key(ws, role: str, cluster: str, region: str | None) -> str:
    """The token's cache key: the role's session key (its config, as planned now), the
    cluster and the region asked for."""
    return _key(credential.KIND, ws.engine.plan(role).steps[-1].key, cluster, region or "")


def token(ws, role: str, cluster: str, region: str | None = None) -> Token:
    """A token for ``role`` on ``cluster``: cached while more than a minute of it
    remains, else signed with the role's session. ``region``: the STS endpoint's (default
    the role's, as botocore resolves it for the profile)."""
    check_cluster(cluster)
    check_region_arg(region)
    key = cache_key(ws, role, cluster, region)
    index = ws.cache.read_index()
    entry = index["sessions"].get(key)
    now = ws.clock()
    if entry is not None and credential.matches(entry, role, cluster, region):
        found = ws.cache.indexed(key, index)
        payload = ws.cache.payload(key, index) if found else None
        if found and payload and found.seconds_left(now) > credential.MARGIN \
                and isinstance(payload.get("Token"), str):
            if entry.get("stamp") != ws.engine.stamp:  # the files changed, not this role
                ws.cache.restamp(key, ws.engine.stamp, entry.get("refresh_window", 0),
                                 entry.get("region"))  # so the fast path serves it again
            return Token(payload["Token"], found.expires_at.timestamp(), True)
    session = ws.assume(role, min_left=PROCESS_MIN_LEFT).session
    made = sign(ws, role, session, cluster, region)
    ws.cache.put_token(Session(
        key=key, role=role, kind=credential.KIND, arn=session.arn,
        expires_at=datetime.fromtimestamp(made.expires, UTC),
        issued_at=datetime.fromtimestamp(ws.clock(), UTC), session_name=session.session_name,
        role_arn=session.role_arn, parent=session.key, region=made.region,
        params={"cluster": cluster, "region": region},
    ), {"Token": made.value, "Expiration": iso(datetime.fromtimestamp(made.expires, UTC))},
        stamp=ws.engine.stamp)
    return Token(made.value, made.expires, False)


@dataclass(frozen=True)
class Signed:
    value: str
    expires: float
    region: str | None


def sign(ws, role: str, session: Session, cluster: str, region: str | None) -> Signed:
    """Presign with ``session``'s keys at the STS endpoint botocore picks for the role's
    profile (its region, endpoint_url, sts_regional_endpoints), or ``region``'s."""
    # lazy: botocore only when a token is made (a cached one is served without it)
    from profiles.sessions import sts

    assert session.credentials is not None
    where = region or ws.inventory.role(role).region
    client = sts.client(ws.inventory, role, where, credentials=session.credentials)
    signed_at = ws.clock()
    try:
        url = presigned_url(client, cluster)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        raise sts.explain(exc, f"signing an EKS token for {cluster}") from None
    expires = min(signed_at + credential.VALID, session.expires_at.timestamp())
    return Signed(encode(url), expires, client.meta.region_name)
