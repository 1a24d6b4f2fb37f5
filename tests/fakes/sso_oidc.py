"""``sso-oidc`` (REST-JSON): RegisterClient, StartDeviceAuthorization, CreateToken.

Errors are what the real service sends: the code in ``x-amzn-ErrorType`` and an OAuth
body, e.g. HTTP 400 ``{"error": "authorization_pending", "error_description": ...}``, so
botocore raises ``AuthorizationPendingException`` with ``e.response["error"]`` set.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.base import FakeService, Reply, Request, Route, ServiceError
from tests.fakes.identity_center import DEVICE_GRANT, Client, IdentityCenter

CORAL = ":http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/"
OAUTH_CODES = {
    "AccessDeniedException": "access_denied",
    "AuthorizationPendingException": "authorization_pending",
    "ExpiredTokenException": "expired_token",
    "InternalServerException": "server_error",
    "InvalidClientException": "invalid_client",
    "InvalidClientMetadataException": "invalid_client_metadata",
    "InvalidGrantException": "invalid_grant",
    "InvalidRequestException": "invalid_request",
    "InvalidScopeException": "invalid_scope",
    "SlowDownException": "slow_down",
    "UnauthorizedClientException": "unauthorized_client",
    "UnsupportedGrantTypeException": "unsupported_grant_type",
}
ROUTES = {("POST", "/client/register"): "RegisterClient",
          ("POST", "/device_authorization"): "StartDeviceAuthorization",
          ("POST", "/token"): "CreateToken"}


def oidc_error(code: str, description: str = "", status: int = 400) -> ServiceError:
    return ServiceError(code, description, status)


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
        return Reply(200, getattr(self, "_" + operation)(params))

    # operations
    def _RegisterClient(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if not p.get("clientName") or not p.get("clientType"):
            raise oidc_error("InvalidRequestException", "clientName and clientType are required")
        if p["clientType"] != "public":
            raise oidc_error("InvalidClientMetadataException", "Invalid client type")
        if any(not isinstance(s, str) or not s for s in p.get("scopes") or []):
            raise oidc_error("InvalidScopeException", "Invalid scope requested")
        c = self.center.register_client(p["clientName"], p.get("scopes"), p.get("grantTypes"))
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
        if grant == "authorization_code":  # no authorization codes are ever issued here
            raise oidc_error("InvalidGrantException", "Invalid grant provided")
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
