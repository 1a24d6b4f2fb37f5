"""Signing in to IAM Identity Center in the browser: the authorization code grant with
PKCE (RFC 6749, RFC 7636), as the AWS CLI v2 does by default.

The session's ``code`` registration (``sso.registration``); a one-shot loopback
callback (``callback``); the browser sent to ``<sso-oidc endpoint>/authorize`` with
``response_type=code``, the client id, the redirect URI on the callback's port, a random
``state``, the S256 challenge of a random verifier and the scopes (the endpoint is
botocore's, so ``AWS_ENDPOINT_URL_SSO_OIDC`` moves it like any endpoint); then
``CreateToken`` with the code, the verifier and the same redirect URI. The URL reaches
the browser through ``handoff`` (never in any process's argv: it carries the state);
it is shown only when no browser opened, for the person to open on this machine.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import quote, urlencode, urlsplit

from profiles.config.sso_roles import DEFAULT_SCOPES, SsoSession
from profiles.doors.terminal import shown
from profiles.errors import AwsError
from profiles.estate import clients, sso
from profiles.estate.callback import Callback
from profiles.estate.sso import Cancelled, Prompt
from profiles.estate.tokens import Token, TokenStore

TIMEOUT = 300  # seconds the person has to finish signing in in the browser
STEP = 0.2  # how often a wait looks at its cancel event


def verifier() -> str:
    """A PKCE code verifier: 64 characters of the unreserved set (RFC 7636 §4.1)."""
    return secrets.token_urlsafe(48)


def challenge(code_verifier: str) -> str:
    """Its S256 challenge: base64url of the SHA-256, without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def endpoint(oidc) -> str:
    """The base URL botocore resolves for ``oidc`` (``AWS_ENDPOINT_URL_SSO_OIDC``, the
    region, FIPS...), found by resolving a ``RegisterClient`` that is never sent."""
    # lazy: botocore is loaded with the client already
    from botocore.awsrequest import AWSResponse

    seen: list[str] = []

    def resolved(params: dict, **_: object) -> tuple[AWSResponse, dict]:
        seen.append(params["url"])
        return AWSResponse(None, 200, {}, None), {}  # answered here: nothing is sent

    oidc.meta.events.register("before-call", resolved, unique_id="rolecall-authorize")
    try:
        oidc.register_client(clientName="rolecall", clientType="public")
    finally:
        oidc.meta.events.unregister("before-call", unique_id="rolecall-authorize")
    parts = urlsplit(seen[0])
    path = parts.path.rsplit("/client/register", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{path}"


def authorize_url(base: str, client_id: str, redirect_uri: str, state: str,
                  code_challenge: str, scopes: tuple[str, ...]) -> str:
    query = urlencode({"response_type": "code", "client_id": client_id,
                       "redirect_uri": redirect_uri, "state": state,
                       "code_challenge_method": "S256",
                       "scopes": " ".join(scopes or DEFAULT_SCOPES)}, quote_via=quote)
    return f"{base}/authorize?{query}&code_challenge={code_challenge}"


def _open(url: str) -> bool:
    # lazy: the hand-off (a loopback server) only when a browser is opened
    from profiles.estate import handoff

    return handoff.open_secret(url)


def login(session: SsoSession, store: TokenStore, *, show: Callable[[Prompt], None],
          browser: bool = True, opener: Callable[[str], bool] | None = None,
          cancelled: threading.Event | None = None, clock: Callable[[], float] = time.time,
          pause: Callable[[float], object] | None = None, timeout: float = TIMEOUT) -> Token:
    """The browser sign-in for ``session``; the token is kept in ``store`` and returned.
    ``browser=False`` shows the URL instead of opening it. ``pause(seconds)`` waits
    between looks at the clock (default: until the callback arrives, at most that long)."""
    oidc = clients.bearer("sso-oidc", session.region)
    reg = sso.registration(session, store, oidc, clock(), "code")
    state, code_verifier = secrets.token_urlsafe(32), verifier()
    with Callback(state) as callback:
        url = authorize_url(endpoint(oidc), reg.client_id, callback.redirect_uri, state,
                            challenge(code_verifier), session.scopes)
        deadline = clock() + timeout
        _hand_over(url, Prompt(session.name, url, "", deadline), show,
                   (opener or _open) if browser else None, callback.done)
        wait = pause or callback.done.wait
        while not callback.done.is_set():
            if cancelled is not None and cancelled.is_set():
                raise Cancelled("sign-in cancelled", fix=sso.again(session))
            left = deadline - clock()
            if left <= 0:
                raise AwsError(f"no answer from the browser within {int(timeout) // 60} "
                               "minutes (was it closed?)",
                               fix=f"{sso.again(session)}, or with --device-code to sign in "
                               "from another device")
            wait(min(left, STEP))
        answer = callback.answer  # the server stops after the exchange: no wait for it now
        assert answer is not None
        return _finish(session, store, oidc, reg, answer, code_verifier,
                       callback.redirect_uri, clock)


def _finish(session: SsoSession, store: TokenStore, oidc, reg, answer, code_verifier: str,
            redirect_uri: str, clock: Callable[[], float]) -> Token:
    """What the browser brought back: the token, or why there is none."""
    if answer.refused:
        raise AwsError("refused an answer from the browser that did not carry this "
                       "sign-in's state (another page may have tried to slip its own "
                       "sign-in in)", fix=sso.again(session))
    if answer.error == "access_denied":
        raise AwsError("the sign-in was denied in the browser",
                       fix=f"{sso.again(session)}, and choose Allow")
    if answer.error is not None:
        raise AwsError(f"the sign-in failed in the browser: {shown(answer.error, 40)}",
                       fix=sso.again(session))
    return _exchange(session, store, oidc, reg, answer.code or "", code_verifier,
                     redirect_uri, clock)


def _hand_over(url: str, prompt: Prompt, show: Callable[[Prompt], None],
               opener: Callable[[str], bool] | None, done: threading.Event) -> None:
    """Open the browser in a thread (the hand-off waits for it to ask); show the URL
    when it cannot be opened, unless the sign-in is over by then."""
    if opener is None:
        show(replace(prompt, opened=False))
        return
    show(prompt)

    def run() -> None:
        try:
            opened = bool(opener(url))
        except Exception:  # noqa: BLE001 - the URL is shown instead
            opened = False
        if not opened and not done.is_set():
            show(replace(prompt, opened=False))

    threading.Thread(target=run, name="sso-browser", daemon=True).start()


def _exchange(session: SsoSession, store: TokenStore, oidc, reg, code: str,
              code_verifier: str, redirect_uri: str, clock: Callable[[], float]) -> Token:
    """``CreateToken`` with the code and the verifier; the token kept and returned."""
    try:
        answer = oidc.create_token(grantType="authorization_code", clientId=reg.client_id,
                                   clientSecret=reg.client_secret, code=code,
                                   codeVerifier=code_verifier, redirectUri=redirect_uri)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        error = clients.error_code(exc)
        if error == "InvalidClientException":  # revoked since: the next sign-in registers
            store.drop_registration(session.name, "code")
        if error in ("InvalidGrantException", "ExpiredTokenException", "InvalidClientException"):
            raise AwsError(f"IAM Identity Center refused the sign-in's code ({error})",
                           fix=sso.again(session)) from None
        raise sso.failure(exc, session, "CreateToken") from None
    issued = clock()
    token = Token(answer["accessToken"], issued + int(answer.get("expiresIn") or 3600),
                  answer.get("refreshToken"), reg.client_id, reg.client_secret,
                  reg.expires_at)
    store.put_token(session, token)
    return token
