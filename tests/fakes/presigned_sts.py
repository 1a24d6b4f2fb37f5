"""STS's presigned ``GetCallerIdentity``, which moto lacks (moto reads a caller only from
an ``Authorization`` header, so a presigned URL names nobody there): a loopback front for
moto that checks a presigned GET as STS does and answers who signed it.

A GET carrying SigV4 query authentication (``X-Amz-Credential`` ...) is checked: the
signature recomputed over the method, path, query and every header ``X-Amz-SignedHeaders``
names (``x-k8s-aws-id`` among them, as the request carries them now) with the secret moto
issued that access key, the security token matched, ``X-Amz-Date`` at most 15 minutes old
(STS ignores ``X-Amz-Expires`` for this: aws-iam-authenticator relies on it); then it is
answered with who moto says the key is (``GetCallerIdentity`` signed with those keys), as
JSON when ``Accept: application/json`` asks (the shape aws-iam-authenticator parses),
else XML. Any other request is forwarded to moto unchanged, so the front can be a
client's whole STS endpoint (``AWS_ENDPOINT_URL_STS``).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from calendar import timegm
from urllib.parse import parse_qs, quote, urlsplit

from tests.fake_sts import StsHandler, serve, sts_error

VALID = 15 * 60
EMPTY = hashlib.sha256(b"").hexdigest()


def moto_keys(key_id: str) -> tuple[str, str] | None:
    """``(secret, session token)`` moto issued for the temporary key ``key_id``."""
    from moto.sts.models import sts_backends

    for regions in list(sts_backends.values()):
        for backend in list(regions.values()):
            role = backend.get_assumed_role_from_access_key(key_id)
            if role is not None:
                return role.secret_access_key, role.session_token
    return None


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def signature(secret: str, method: str, path: str, query: dict[str, str],
              headers: dict[str, str]) -> str:
    """SigV4 of a presigned request (the query's own ``X-Amz-Signature`` left out), by the
    published algorithm: canonical request, string to sign, derived key."""
    credential = query["X-Amz-Credential"].split("/")
    date, region, service = credential[1], credential[2], credential[3]
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(
        query.items()) if k != "X-Amz-Signature")
    names = query["X-Amz-SignedHeaders"].split(";")
    canonical_headers = "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names)
    request = "\n".join([method, path or "/", canonical_query, canonical_headers,
                         ";".join(names), EMPTY])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope,
                         hashlib.sha256(request.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class PresignedSts:
    """The front on 127.0.0.1 (``url``) for the moto server at ``upstream``. ``verified``
    lists, for each presigned request it accepted, ``(key id, signed headers, headers)``."""

    def __init__(self, upstream: str, clock=time.time) -> None:
        self.upstream = urlsplit(upstream)
        self.clock = clock
        self.verified: list[tuple[str, list[str], dict[str, str]]] = []
        front = self

        class Handler(StsHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                pairs = parse_qs(parts.query, keep_blank_values=True)
                if "X-Amz-Credential" not in pairs:
                    return front.forward(self, b"")
                if any(len(v) != 1 for v in pairs.values()):
                    return self.send(400, sts_error("InvalidParameterValue", "repeated"))
                query = {k: v[0] for k, v in pairs.items()}
                status, body, kind = front.presigned(parts.path, query, self.headers)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return None

            def do_POST(self) -> None:  # noqa: N802
                front.forward(self, self.rfile.read(int(self.headers.get("Content-Length", 0))))

        self.server, self.url = serve(Handler)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def forward(self, handler: StsHandler, body: bytes) -> None:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port,
                                                timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        connection.request(handler.command, handler.path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        handler.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                    "server", "date"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        connection.close()

    def presigned(self, path: str, query: dict[str, str],
                  headers) -> tuple[int, bytes, str]:
        def refuse(code: str, message: str, status: int = 403) -> tuple[int, bytes, str]:
            return status, sts_error(code, message), "text/xml"

        if query.get("Action") != "GetCallerIdentity":
            return refuse("InvalidAction", "only GetCallerIdentity is presigned here", 400)
        try:
            key_id = query["X-Amz-Credential"].split("/")[0]
            names = query["X-Amz-SignedHeaders"].split(";")
            signed_at = timegm(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
            given = query["X-Amz-Signature"]
        except (KeyError, ValueError, IndexError):
            return refuse("IncompleteSignature", "the presigned query is incomplete", 400)
        keys = moto_keys(key_id)
        if keys is None:
            return refuse("InvalidClientTokenId", "The security token included in the "
                          "request is invalid.")
        secret, token = keys
        if query.get("X-Amz-Security-Token") != token:
            return refuse("InvalidClientTokenId", "The security token included in the "
                          "request is invalid.")
        now = self.clock()
        if now > signed_at + VALID or signed_at > now + 5 * 60:
            return refuse("AccessDenied", "Request has expired")
        sent = {k.lower(): v for k, v in headers.items()}
        if any(n not in sent for n in names):
            return refuse("SignatureDoesNotMatch", "a signed header is missing")
        want = signature(secret, "GET", path, query, sent)
        if not hmac.compare_digest(want, given):
            return refuse("SignatureDoesNotMatch", "The request signature we calculated "
                          "does not match the signature you provided.")
        self.verified.append((key_id, names, {n: sent[n] for n in names}))
        identity = self._identity(key_id, secret, token)
        if "application/json" in sent.get("accept", ""):
            body = json.dumps({"GetCallerIdentityResponse": {
                "GetCallerIdentityResult": identity,
                "ResponseMetadata": {"RequestId": "presigned-sts"}}}).encode()
            return 200, body, "application/json"
        fields = "".join(f"<{k}>{v}</{k}>" for k, v in identity.items())
        return 200, (f'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/'
                     f'2011-06-15/"><GetCallerIdentityResult>{fields}'
                     "</GetCallerIdentityResult></GetCallerIdentityResponse>").encode(), \
            "text/xml"

    def _identity(self, key_id: str, secret: str, token: str) -> dict[str, str]:
        import boto3

        sts = boto3.client("sts", endpoint_url=self.upstream.geturl(), region_name="us-east-1",
                           aws_access_key_id=key_id, aws_secret_access_key=secret,
                           aws_session_token=token)
        found = sts.get_caller_identity()
        return {"Arn": found["Arn"], "Account": found["Account"], "UserId": found["UserId"]}
