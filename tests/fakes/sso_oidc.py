"""``sso-oidc`` (REST-JSON): RegisterClient, StartDeviceAuthorization, CreateToken, and
the browser's ``GET /authorize`` (authorization code with PKCE, RFC 6749 and 7636).

Errors are what the real service sends: the code in ``x-amzn-ErrorType`` and an OAuth
body, e.g. HTTP 400 ``{"error": "authorization_pending", "error_description": ...}``, so
botocore raises ``AuthorizationPendingException`` with ``e.response["error"]`` set.

``/authorize`` answers a browser: an unknown client or a redirect URI the client did not
register is an error page (never a redirect, RFC 6749 §4.1.2.1); any other problem, or
the person's refusal (``center.consent = "deny"``), redirects to the client with
``error`` and its ``state``; consent redirects with ``code`` and ``state``. A loopback
redirect URI registered without a port matches it on any port (RFC 8252 §7.3), as the
AWS CLI registers ``http://127.0.0.1/oauth/callback``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.fakes.base import FakeService, Reply, Request, Route, ServiceError
from tests.fakes.identity_center import DEVICE_GRANT, Client, IdentityCenter, s256

CODE_GRANT = "authorization_code"
LOOPBACK = ("127.0.0.1", "[::1]", "localhost")
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256, no padding

CORAL = ":http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/"
OAUTH_CODES = {
    "AccessDeniedException": "access_denied",
    "AuthorizationPendingException": "authorization_pending",
    "ExpiredTokenException": "expired_token",
    "InternalServerException": "server_error",
    "InvalidClientException": "invalid_client",
    "InvalidClientMetadataException": "invalid_client_metadata",
    "InvalidGrantException": "invalid_grant",
    "InvalidRedirectUriException": "invalid_redirect_uri",
    "InvalidRequestException": "invalid_request",
    "InvalidScopeException": "invalid_scope",
    "SlowDownException": "slow_down",
    "UnauthorizedClientException": "unauthorized_client",
    "UnsupportedGrantTypeException": "unsupported_grant_type",
}
ROUTES = {("POST", "/client/register"): "RegisterClient",
          ("POST", "/device_authorization"): "StartDeviceAuthorization",
          ("POST", "/token"): "CreateToken",
          ("GET", "/authorize"): "Authorize"}


def oidc_error(code: str, description: str = "", status: int = 400) -> ServiceError:
    return ServiceError(code, description, status)


def redirect_matches(registered: str, given: str) -> bool:
    """``given`` is ``registered``, or (a loopback URI registered without a port) the
    same URI on any port."""
    if given == registered:
        return True
    want, got = urlsplit(registered), urlsplit(given)
    return (want.scheme == got.scheme == "http" and want.hostname in LOOPBACK
            and want.port is None and got.hostname == want.hostname
            and got.port is not None and got.path == want.path and not got.query
            and not got.fragment and not got.username and not got.password)


class Page(Exception):
    """``/authorize`` cannot redirect: an error page for the browser."""


class SsoOidc(FakeService):
    """The OIDC half of a fake IAM Identity Center."""

    name = "sso-oidc"
    env_var = "AWS_ENDPOINT_URL_SSO_OIDC"

    def __init__(self, center: IdentityCenter, **kwargs: Any) -> None:
        super().__init__(center.clock, **kwargs)
        self.center = center

    def route(self, request: Request) -> Route:
        operation = ROUTES.get((request.method, request.path))
        if operation is None or (operation == "CreateToken" and "aws_iam" in request.query):
            raise ServiceError("UnknownOperationException", "", 404)
        if operation == "Authorize":
            return operation, dict(request.query), request.query.get("client_id")
        params = request.json()
        return operation, params, params.get("clientId")

    def throttled(self) -> ServiceError:
        return oidc_error("SlowDownException", "Rate exceeded")

    def internal_error(self) -> ServiceError:
        return oidc_error("InternalServerException", "Internal error", 500)

    def error_reply(self, error: ServiceError) -> Reply:
        body: dict[str, Any] = {"error": OAUTH_CODES.get(error.code, error.code),
                                "error_description": error.message, **error.fields}
        return Reply(error.status, body, {"x-amzn-ErrorType": error.code + CORAL})

    def serve(self, operation: str, params: dict[str, Any], credential: str | None,
              request: Request) -> Reply:
        if operation == "Authorize":
            return self._authorize(params)
        return Reply(200, getattr(self, "_" + operation)(params))

    # operations
    def _RegisterClient(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if not p.get("clientName") or not p.get("clientType"):
            raise oidc_error("InvalidRequestException", "clientName and clientType are required")
        if p["clientType"] != "public":
            raise oidc_error("InvalidClientMetadataException", "Invalid client type")
        if any(not isinstance(s, str) or not s for s in p.get("scopes") or []):
            raise oidc_error("InvalidScopeException", "Invalid scope requested")
        grants, uris = p.get("grantTypes") or [], p.get("redirectUris") or []
        if any(g not in (DEVICE_GRANT, CODE_GRANT, "refresh_token") for g in grants):
            raise oidc_error("UnsupportedGrantTypeException", "Unsupported grant type")
        for uri in uris:
            parts = urlsplit(uri) if isinstance(uri, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
                    or (parts.scheme == "http" and parts.hostname not in LOOPBACK):
                raise oidc_error("InvalidRedirectUriException", "Invalid redirect URI")
        if CODE_GRANT in grants and not (uris and p.get("issuerUrl")):
            raise oidc_error("InvalidRequestException",
                             "redirectUris and issuerUrl are required for authorization_code")
        if p.get("issuerUrl") is not None and p["issuerUrl"] not in self.center.instances:
            raise oidc_error("InvalidRequestException", "Invalid issuer URL")
        c = self.center.register_client(p["clientName"], p.get("scopes"), grants, uris,
                                        p.get("issuerUrl"))
        return {"clientId": c.client_id, "clientSecret": c.client_secret,
                "clientIdIssuedAt": c.issued_at, "clientSecretExpiresAt": c.expires_at}

    def _client(self, p: dict[str, Any]) -> Client:
        if not p.get("clientId") or not p.get("clientSecret"):
            raise oidc_error("InvalidRequestException", "clientId and clientSecret are required")
        client = self.center.client(p["clientId"], p["clientSecret"])
        if client is None:
            raise oidc_error("InvalidClientException", "Invalid client provided", 401)
        return client

    def _StartDeviceAuthorization(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        client = self._client(p)
        if client.grant_types and DEVICE_GRANT not in client.grant_types:
            raise oidc_error("UnauthorizedClientException", "Invalid grant type for client")
        if p.get("startUrl") not in self.center.instances:
            raise oidc_error("InvalidRequestException", "Invalid start URL")
        device = self.center.start_device(client, p["startUrl"])
        uri = f"https://device.sso.{self.center.region}.amazonaws.com/"
        return {"deviceCode": device.device_code, "userCode": device.user_code,
                "verificationUri": uri,
                "verificationUriComplete": f"{uri}?user_code={device.user_code}",
                "expiresIn": self.center.device_ttl, "interval": device.interval}

    def _CreateToken(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        client = self._client(p)
        grant = p.get("grantType")
        if grant == DEVICE_GRANT:
            return self._device_token(client, p.get("deviceCode") or "")
        if grant == "refresh_token":
            return self._refresh(client, p.get("refreshToken") or "")
        if grant == CODE_GRANT:
            return self._code_token(client, p)
        raise oidc_error("UnsupportedGrantTypeException", "Unsupported grant type")

    def _device_token(self, client: Client, device_code: str) -> dict[str, Any]:
        center, now = self.center, self.clock()
        with center.lock:
            device = center.devices.get(device_code)
            if device is None or device.client_id != client.client_id or device.state == "used":
                raise oidc_error("InvalidGrantException", "Invalid grant provided")
            if now >= device.expires_at:
                raise oidc_error("ExpiredTokenException", "Device code has expired")
            last, device.last_poll = device.last_poll, now
            if center.enforce_interval and last is not None and now - last < device.interval:
                device.interval += center.slow_down_penalty
                raise oidc_error("SlowDownException", "Client is polling too fast")
            if device.state == "denied":
                raise oidc_error("AccessDeniedException", "Access denied")
            if device.state == "pending":
                raise oidc_error("AuthorizationPendingException", "Authorization is still pending")
            device.state = "used"
        refresh = bool(client.scopes) or "refresh_token" in client.grant_types
        token = center.issue_token(device.user, start_url=device.start_url,
                                   client_id=client.client_id, refresh=refresh)
        return self._token_body(token.access_token, token.refresh_token)

    # authorization code with PKCE
    def _authorize(self, q: dict[str, str]) -> Reply:
        try:
            client, redirect = self._authorize_target(q)
        except Page as page:
            return Reply(400, f"<h1>Something went wrong</h1><p>{page}</p>",
                         {"Content-Type": "text/html; charset=utf-8"})
        answer = {"state": q["state"]} if q.get("state") else {}
        error = self._authorize_error(client, q)
        if error is None and self.center.consent != "allow":
            error = ("access_denied", "The user denied the request")
        if error is not None:
            answer = {"error": error[0], "error_description": error[1], **answer}
        else:
            scopes = (q.get("scopes") or "").split() or client.scopes
            code = self.center.grant_code(client, redirect, q["code_challenge"], scopes)
            answer = {"code": code.code, **answer}
        return Reply(302, b"", {"Location": f"{redirect}?{urlencode(answer)}",
                                "Cache-Control": "no-store"})

    def _authorize_target(self, q: dict[str, str]) -> tuple[Client, str]:
        """The client and the redirect URI to answer at, or :class:`Page`."""
        client = self.center.client(q.get("client_id") or "", None)
        if client is None:
            raise Page("Invalid client")
        redirect = q.get("redirect_uri") or ""
        if not any(redirect_matches(uri, redirect) for uri in client.redirect_uris):
            raise Page("Invalid redirect URI")
        return client, redirect

    def _authorize_error(self, client: Client, q: dict[str, str]) -> tuple[str, str] | None:
        if q.get("response_type") != "code":
            return "unsupported_response_type", "response_type must be code"
        if CODE_GRANT not in client.grant_types:
            return "unauthorized_client", "Invalid grant type for client"
        if q.get("code_challenge_method") != "S256":
            return "invalid_request", "code_challenge_method must be S256"
        if not CHALLENGE.fullmatch(q.get("code_challenge") or ""):
            return "invalid_request", "Invalid code_challenge"
        if not q.get("state"):
            return "invalid_request", "state is required"
        if any(s not in client.scopes for s in (q.get("scopes") or "").split()):
            return "invalid_scope", "Invalid scope requested"
        return None

    def _code_token(self, client: Client, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("code") or not p.get("codeVerifier") or not p.get("redirectUri"):
            raise oidc_error("InvalidRequestException",
                             "code, codeVerifier and redirectUri are required")
        center, now = self.center, self.clock()
        with center.lock:
            code = center.codes.get(p["code"])
            if code is None or code.used or code.client_id != client.client_id:
                raise oidc_error("InvalidGrantException", "Invalid grant provided")
            code.used = True  # one exchange, right or wrong (RFC 6749 §4.1.2)
        if now >= code.expires_at:
            raise oidc_error("ExpiredTokenException", "Authorization code has expired")
        if p["redirectUri"] != code.redirect_uri or s256(p["codeVerifier"]) != code.challenge:
            raise oidc_error("InvalidGrantException", "Invalid grant provided")
        refresh = "refresh_token" in client.grant_types
        token = center.issue_token(code.user, start_url=code.start_url,
                                   client_id=client.client_id, refresh=refresh)
        return self._token_body(token.access_token, token.refresh_token)

    def _refresh(self, client: Client, refresh_token: str) -> dict[str, Any]:
        center = self.center
        with center.lock:
            old = center.refresh_tokens.get(refresh_token)
            if old is None or old.client_id != client.client_id:
                raise oidc_error("InvalidGrantException", "Invalid grant provided")
            token = center.issue_token(old.user, start_url=old.start_url,
                                       client_id=client.client_id)
            token.refresh_token = refresh_token
            center.refresh_tokens[refresh_token] = token
        return self._token_body(token.access_token, refresh_token)

    def _token_body(self, access_token: str, refresh_token: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"accessToken": access_token, "tokenType": "Bearer",
                                "expiresIn": self.center.token_ttl}
        if refresh_token:
            body["refreshToken"] = refresh_token
        return body
