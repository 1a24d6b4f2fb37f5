"""``sso`` (the IAM Identity Center portal, REST-JSON): ListAccounts, ListAccountRoles,
GetRoleCredentials and Logout, each authorised by the ``x-amz-sso_bearer_token`` header.

Errors are the portal's own: ``{"message": ..., "__type":
"com.amazonaws.switchboard.portal#UnauthorizedException"}`` with HTTP 401 for a token
it did not issue (or that expired or logged out), 403 ``ForbiddenException: No access``
for a role not assigned, 429 ``TooManyRequestsException: HTTP 429 Unknown Code`` when
throttled. A role not assigned in ``ListAccountRoles`` is simply absent.
"""

from __future__ import annotations

from typing import Any

from tests.fakes import paging
from tests.fakes.base import FakeService, Reply, Request, Route, ServiceError
from tests.fakes.identity_center import IdentityCenter, Token

CORAL = ":http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/"
ROUTES = {("GET", "/assignment/accounts"): "ListAccounts",
          ("GET", "/assignment/roles"): "ListAccountRoles",
          ("GET", "/federation/credentials"): "GetRoleCredentials",
          ("POST", "/logout"): "Logout"}
QUERY = {"max_result": "maxResults", "next_token": "nextToken", "account_id": "accountId",
         "role_name": "roleName"}


def unauthorized() -> ServiceError:
    return ServiceError("UnauthorizedException", "Session token not found or invalid", 401)


class SsoPortal(FakeService):
    """The portal half of a fake IAM Identity Center."""

    name = "sso"
    env_var = "AWS_ENDPOINT_URL_SSO"

    def __init__(self, center: IdentityCenter, *, page_size: int = 20, **kwargs: Any) -> None:
        super().__init__(center.clock, **kwargs)
        self.center = center
        self.page_size = page_size  # when max_result is not given

    def route(self, request: Request) -> Route:
        operation = ROUTES.get((request.method, request.path))
        if operation is None:
            raise ServiceError("UnknownOperationException", "", 404)
        params = {QUERY.get(k, k): v for k, v in request.query.items()}
        return operation, params, request.headers.get("x-amz-sso_bearer_token")

    def throttled(self) -> ServiceError:
        return ServiceError("TooManyRequestsException", "HTTP 429 Unknown Code", 429)

    def error_reply(self, error: ServiceError) -> Reply:
        body = {"message": error.message,
                "__type": f"com.amazonaws.switchboard.portal#{error.code}"}
        return Reply(error.status, body, {"x-amzn-ErrorType": error.code + CORAL})

    def serve(self, operation: str, params: dict[str, Any], credential: str | None,
              request: Request) -> Reply:
        token = self.center.token(credential)
        if token is None:
            raise unauthorized()
        if operation == "Logout":
            self.center.revoke(token.access_token)
            return Reply(200, b"")
        return Reply(200, getattr(self, "_" + operation)(token, params))

    def _page(self, items: list[Any], params: dict[str, Any], scope: Any) -> tuple[list, Any]:
        try:
            size = int(params.get("maxResults") or self.page_size)
        except ValueError:
            raise ServiceError("InvalidRequestException", "Invalid max_result") from None
        if not 1 <= size <= 100:
            raise ServiceError("InvalidRequestException",
                               "max_result must be between 1 and 100")
        try:
            return paging.page(items, params.get("nextToken"), size, scope)
        except paging.BadToken:
            raise ServiceError("InvalidRequestException", "Invalid next_token") from None

    def _ListAccounts(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        accounts = self.center.accounts_of(token)
        chunk, nxt = self._page(accounts, params, ["accounts", token.user, token.start_url])
        body: dict[str, Any] = {"accountList": [
            {"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email}
            for a in chunk]}
        return body | ({"nextToken": nxt} if nxt else {})

    def _ListAccountRoles(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        account_id = params.get("accountId") or ""
        if not account_id:
            raise ServiceError("InvalidRequestException", "account_id is required")
        roles = self.center.roles_of(token, account_id)
        chunk, nxt = self._page(roles, params, ["roles", token.user, account_id])
        body: dict[str, Any] = {"roleList": [{"roleName": r, "accountId": account_id}
                                             for r in chunk]}
        return body | ({"nextToken": nxt} if nxt else {})

    def _GetRoleCredentials(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if not params.get("accountId") or not params.get("roleName"):
            raise ServiceError("InvalidRequestException", "account_id and role_name are required")
        issued = self.center.credentials(token, params["accountId"], params["roleName"])
        if issued is None:
            raise ServiceError("ForbiddenException", "No access", 403)
        keys, expiration = issued
        return {"roleCredentials": {
            "accessKeyId": keys.access_key_id, "secretAccessKey": keys.secret_access_key,
            "sessionToken": keys.session_token, "expiration": expiration}}
