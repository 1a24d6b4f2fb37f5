"""What the EKS tests share: the cluster's side of a token (aws-iam-authenticator's
``Verify``, replayed step by step against the sandbox's STS), and a world whose STS
endpoint understands presigned URLs (:mod:`tests.fakes.presigned_sts`)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from calendar import timegm
from urllib.parse import parse_qs, urlsplit

from tests.fakes.presigned_sts import PresignedSts

PREFIX = "k8s-aws-v1."
# aws-iam-authenticator's parameterWhitelist: anything else in the URL is refused
ALLOWED = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
           "x-amz-expires", "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"}
VALID = 15 * 60


class Refused(AssertionError):
    """What the authenticator would answer with 401."""


def verify(token: str, cluster: str, hosts: set[str], now: float | None = None) -> dict:
    """aws-iam-authenticator's ``tokenVerifier.Verify`` for ``cluster``: the token's form,
    the URL's host (one of ``hosts``: the sandbox's, where EKS allows the partition's STS
    hosts), path, parameters, action, signed ``x-k8s-aws-id``, ``X-Amz-Expires`` and
    ``X-Amz-Date``; then a GET of the URL with the cluster's header, read as JSON. Its
    https-only check is the one step relaxed: the sandbox speaks http."""
    now = time.time() if now is None else now
    if len(token) > 4096:
        raise Refused("token is too large")
    if not token.startswith(PREFIX):
        raise Refused(f"token is missing expected {PREFIX!r} prefix")
    raw = token[len(PREFIX):]
    if "=" in raw or "+" in raw or "/" in raw:
        raise Refused("not base64url without padding (Go's RawURLEncoding)")
    url = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise Refused(f"unexpected scheme {parts.scheme!r}")
    if parts.netloc not in hosts:
        raise Refused(f"unexpected hostname {parts.netloc!r} in pre-signed URL")
    if parts.path != "/":
        raise Refused("unexpected path in pre-signed URL")
    query: dict[str, str] = {}
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        if key.lower() not in ALLOWED:
            raise Refused(f"non-whitelisted query parameter {key!r}")
        if len(values) != 1:
            raise Refused("query parameter with multiple values not supported")
        query[key.lower()] = values[0]
    if query.get("action") != "GetCallerIdentity":
        raise Refused("unexpected action parameter in pre-signed URL")
    signed = [h.lower() for h in query.get("x-amz-signedheaders", "").split(";")]
    if "x-k8s-aws-id" not in signed:
        raise Refused("client did not sign the x-k8s-aws-id header in the pre-signed URL")
    expires = int(query.get("x-amz-expires", "x") or "x") \
        if query.get("x-amz-expires", "").isdigit() else -1
    if not 0 <= expires <= 900:
        raise Refused(f"invalid X-Amz-Expires parameter in pre-signed URL: {expires}")
    signed_at = timegm(time.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ"))
    if now > signed_at + VALID:
        raise Refused("X-Amz-Date parameter is expired (15 minute expiration)")
    request = urllib.request.Request(url, headers={"x-k8s-aws-id": cluster,
                                                   "accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise Refused(f"error from AWS (expected 200, got {exc.code}). Body: "
                      f"{exc.read().decode()}") from None
    result = body["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
    return {"arn": result["Arn"], "account": result["Account"], "signed_at": signed_at,
            "x_amz_expires": expires, "signed_headers": signed, "url": url}


def presigned_front(world) -> PresignedSts:
    """STS for ``world`` through the presigned-URL front (every client's STS endpoint)."""
    front = PresignedSts(world.moto.url)
    world.env["AWS_ENDPOINT_URL_STS"] = front.url
    return front


def exec_credential(text: str) -> dict:
    """An ``ExecCredential`` as client-go reads it: the fields it needs, and no others."""
    doc = json.loads(text)
    assert set(doc) == {"kind", "apiVersion", "spec", "status"}, doc.keys()
    assert doc["kind"] == "ExecCredential" and doc["spec"] == {}
    assert set(doc["status"]) == {"expirationTimestamp", "token"}
    return doc


def self_signed(where) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 and its key, as PEM files in ``where``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = f"{where}/api-cert.pem", f"{where}/api-key.pem"
    with open(cert_file, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return cert_file, key_file


class ApiServer:
    """A Kubernetes API server's door on loopback, over TLS (client-go sends exec
    credentials to https servers only; ``ca`` is its certificate): the bearer token of
    each request is verified as EKS's authenticator verifies it (:func:`verify`, for
    ``cluster``); ``GET /rolecall/whoami`` answers ``{"arn": ...}``, 401 for a refused
    token."""

    def __init__(self, cluster: str, hosts: set[str], where) -> None:
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        api = self
        self.seen: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                auth = self.headers.get("Authorization", "")
                try:
                    if not auth.startswith("Bearer "):
                        raise Refused("no bearer token")
                    token = auth[len("Bearer "):]
                    api.seen.append(token)
                    found = verify(token, cluster, hosts)
                    status, body = 200, {"arn": found["arn"]}
                except Refused as exc:
                    status, body = 401, {"kind": "Status", "apiVersion": "v1",
                                         "status": "Failure", "message": str(exc),
                                         "reason": "Unauthorized", "code": 401}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.ca, key = self_signed(where)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca, key)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
