"""Logging in to IAM Identity Center: the OAuth device authorization flow (RFC 8628) as
the AWS CLI runs it, the client registrations both sign-ins use (the browser's
authorization code with PKCE is in ``pkce``), and logging out.

``RegisterClient`` once (the registration is kept in the keyring and reused until it
expires), ``StartDeviceAuthorization``, then the person opens the verification URL
and approves the code shown while ``CreateToken`` is polled at the interval the service
gave: ``authorization_pending`` waits, ``slow_down`` adds 5 seconds to the interval
(RFC 8628 §3.5), an expired device code or a denial ends the login with a message.
The caller shows the URL and code (``show``) and supplies the wait between polls
(``wait(seconds)`` returns True to cancel), so a terminal, the board and a test with an
injected clock all drive the same flow.
"""

from __future__ import annotations

import contextlib
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from profiles.config.sso_roles import DEFAULT_SCOPES, SsoSession, sessions
from profiles.errors import AwsError, ConfigError, UsageError
from profiles.estate import clients, tokens
from profiles.estate.roster import clean
from profiles.estate.tokens import Registration, Token, TokenStore

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CODE_GRANTS = ("authorization_code", "refresh_token")
REDIRECT_URI = "http://127.0.0.1/oauth/callback"  # registered without a port, as the AWS CLI
CLIENT_NAME = "rolecall"
SLOW_DOWN = 5  # RFC 8628 §3.5: add this to the interval after each slow_down
DEFAULT_INTERVAL = 5
REUSE_MARGIN = 3600  # a registration this close to expiry is replaced


@dataclass(frozen=True)
class Prompt:
    """What the person must do. The device flow: open ``url`` (it carries the code) and
    check ``code``. The browser sign-in (``code`` empty): ``opened`` is None as the
    browser is being opened, False when it did not open (then ``url`` is to be opened
    by hand, on this machine)."""

    session: str
    url: str
    code: str
    expires_at: float
    opened: bool | None = None


def _wait(seconds: float) -> bool:
    time.sleep(seconds)
    return False


class Cancelled(UsageError):
    """The login was cancelled before the code was approved."""


def again(session: SsoSession) -> str:
    return f"run `rolecall sso login {shlex.quote(session.name)}` again"


def registration(session: SsoSession, store: TokenStore, oidc, now: float,
                 kind: str = "device") -> Registration:
    """The session's client registration for ``kind`` (``device`` or ``code``): the kept
    one while it has more than an hour left and the same scopes, else a new one. A
    ``code`` registration is the AWS CLI's: grant types ``authorization_code`` and
    ``refresh_token``, the loopback redirect URI without a port (any port matches,
    RFC 8252 §7.3), the start URL as issuer, scopes ``sso:account:access`` by default."""
    known = store.registration(session.name, kind)
    if known is not None and known.expires_at - now > REUSE_MARGIN and \
            known.scopes == session.scopes:
        return known
    params: dict[str, object] = {"clientName": CLIENT_NAME, "clientType": "public"}
    if kind == "code":
        scopes = session.scopes or DEFAULT_SCOPES
        params.update(scopes=list(scopes), grantTypes=list(CODE_GRANTS),
                      redirectUris=[REDIRECT_URI], issuerUrl=session.start_url)
    elif session.scopes:  # an sso-session: refreshable tokens, as the AWS CLI registers
        params.update(scopes=list(session.scopes), grantTypes=[DEVICE_GRANT, "refresh_token"])
    answer = _call(oidc.register_client, session, "RegisterClient", **params)
    made = Registration(answer["clientId"], answer["clientSecret"],
                        float(answer.get("clientSecretExpiresAt") or now + 86400),
                        session.scopes, tuple(params.get("grantTypes", ())))  # type: ignore[arg-type]
    store.put_registration(session.name, made, kind)
    return made


def _call(method, session: SsoSession, action: str, **params):
    """One OIDC call; any failure as one line."""
    try:
        return method(**params)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        raise failure(exc, session, action) from None


def failure(exc: Exception, session: SsoSession, action: str) -> AwsError:
    code = clients.error_code(exc)
    if code is None:
        return AwsError(f"IAM Identity Center ({session.region}) unreachable during "
                        f"{action}: {exc}", fix="check the network and sso_region")
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
    error = AwsError(f"{action} for {session.name!r} failed: {code}: {message}".rstrip(": "),
                     fix="check sso_start_url and sso_region of the session")
    error.code = code
    return error


def login(session: SsoSession, store: TokenStore, *, show: Callable[[Prompt], None],
          wait: Callable[[float], bool] = _wait, clock: Callable[[], float] = time.time
          ) -> Token:
    """The device flow for ``session``; the token is kept in ``store`` and returned."""
    oidc = clients.bearer("sso-oidc", session.region)
    now = clock()
    reg = registration(session, store, oidc, now)
    try:
        device = oidc.start_device_authorization(
            clientId=reg.client_id, clientSecret=reg.client_secret,
            startUrl=session.start_url)
    except Exception as exc:  # noqa: BLE001
        if clients.error_code(exc) != "InvalidClientException":
            raise failure(exc, session, "StartDeviceAuthorization") from None
        store.drop_registration(session.name, "device")  # revoked or expired: register anew
        reg = registration(session, store, oidc, now)
        device = _call(oidc.start_device_authorization, session, "StartDeviceAuthorization",
                       clientId=reg.client_id, clientSecret=reg.client_secret,
                       startUrl=session.start_url)
    deadline = now + int(device.get("expiresIn") or 600)
    interval = max(1, int(device.get("interval") or DEFAULT_INTERVAL))
    url = device.get("verificationUriComplete") or device["verificationUri"]
    show(Prompt(session.name, clean(url), clean(device["userCode"]), deadline))  # remote text
    retry = again(session)
    while True:
        try:
            answer = oidc.create_token(grantType=DEVICE_GRANT, deviceCode=device["deviceCode"],
                                       clientId=reg.client_id, clientSecret=reg.client_secret)
            break
        except Exception as exc:  # noqa: BLE001
            code = clients.error_code(exc)
            if code == "SlowDownException":
                interval += SLOW_DOWN
            elif code == "ExpiredTokenException":
                raise AwsError("the sign-in code expired before it was approved",
                               fix=f"{retry}, and approve it within "
                               f"{int(deadline - now) // 60} minutes") from None
            elif code == "AccessDeniedException":
                raise AwsError("the sign-in was denied in the browser",
                               fix=f"{retry}, and choose Allow") from None
            elif code != "AuthorizationPendingException":
                raise failure(exc, session, "CreateToken") from None
        if clock() + interval > deadline:
            raise AwsError("the sign-in code expired before it was approved",
                           fix=f"{retry}, and approve it within "
                           f"{int(deadline - now) // 60} minutes")
        if wait(interval):
            raise Cancelled("login cancelled", fix=retry)
    issued = clock()
    token = Token(answer["accessToken"], issued + int(answer.get("expiresIn") or 3600),
                  answer.get("refreshToken"), reg.client_id, reg.client_secret,
                  reg.expires_at)
    store.put_token(session, token)
    return token


def share(session: SsoSession, token: Token) -> str:
    """Write the login where the AWS CLI and the SDKs find it; returns the file."""
    return str(tokens.write_cli_cache(session, token))


def logout(session: SsoSession, store: TokenStore) -> list[str]:
    """Log ``session`` out: the portal's ``Logout`` (best effort), the keyring's token,
    and the AWS CLI's file when it holds the same token (rolecall wrote it). Returns
    what was removed, for the message."""
    removed: list[str] = []
    token = store.token(session.name)
    if token is not None:
        with contextlib.suppress(Exception):  # dropped here whatever the portal says
            clients.bearer("sso", session.region, attempts=1).logout(
                accessToken=token.access_token)
        store.drop(session.name)
        removed.append("the keyring's token")
        shared = tokens.read_cli_cache(session)
        if shared is not None and shared.access_token == token.access_token:
            tokens.cli_cache_file(session).unlink(missing_ok=True)
            removed.append(str(tokens.cli_cache_file(session)))
    return removed


def resolve(inv, name: str | None) -> SsoSession:
    """The SSO session ``name`` names: a session, a profile using one (or a legacy
    profile's start URL), or a role discovered in one; the only one when ``name`` is
    None. Bad input raises UsageError (a malformed session: its ConfigError)."""
    found = sessions(inv.aws_config, inv.config_file)
    fix = "rolecall sso login NAME; sessions: " + (", ".join(sorted(found)) or "none")
    if name is None:
        if len(found) == 1:
            name = next(iter(found))
        elif not found:
            raise UsageError(f"no IAM Identity Center session in {inv.config_file}",
                             fix="add an [sso-session NAME] section with sso_start_url and "
                             "sso_region (or configure one with `aws configure sso`)")
        else:
            raise UsageError("which IAM Identity Center session?", fix=fix)
    if name not in found:
        values = inv.aws_config["profiles"].get(name, {})
        role = inv.roles.get(name)
        other = values.get("sso_session") or values.get("sso_start_url") or \
            (role.sso_session if role is not None else None)
        if other is None:
            raise UsageError(f"unknown IAM Identity Center session {name!r}", fix=fix)
        name = other
    session = found.get(name)
    if isinstance(session, ConfigError):
        raise session
    if session is None:
        raise UsageError(f"unknown IAM Identity Center session {name!r}", fix=fix)
    known = inv.sso_sessions.get(session.name)
    return known if known is not None else session
