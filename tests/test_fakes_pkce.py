"""The sso-oidc fake's authorization code with PKCE against real clients: botocore's own
``sso-oidc`` client for RegisterClient and CreateToken, and a browser's GET of
``/authorize`` built exactly as the AWS CLI v2 builds it (``SSOTokenFetcherAuth``:
``percent_encode_sequence`` of the query, the challenge without its ``=``)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.utils import percent_encode_sequence

from tests.fakes import FakeClock, IdentityCenter, SsoFakes
from tests.fakes.drive import boto_client as client
from tests.fakes.drive import error_of as code
from tests.fakes.drive import http

GRANTS = ["authorization_code", "refresh_token"]
REGISTERED = "http://127.0.0.1/oauth/callback"  # as the AWS CLI registers it: no port
REDIRECT = "http://127.0.0.1:49152/oauth/callback"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def sso(clock):
    center = IdentityCenter(clock)
    center.add_account("111111111111", "prod", roles=("Admin",))
    with SsoFakes.of(center) as fakes:
        yield fakes
    assert not fakes.crashes, fakes.crashes[0]


def pkce() -> tuple[str, str]:
    """The AWS CLI's verifier (64 characters) and S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode()


def register(oidc, center, **overrides) -> dict:
    params = {"clientName": "botocore-client-corp", "clientType": "public",
              "grantTypes": GRANTS, "redirectUris": [REGISTERED],
              "issuerUrl": center.start_url, "scopes": ["sso:account:access"], **overrides}
    return oidc.register_client(**params)


def authorize(sso, reg: dict, challenge: str, state: str = "st-1", redirect: str = REDIRECT,
              method: str = "S256", scopes: str = "sso:account:access") -> dict[str, str]:
    """The browser opens the authorize URL: the query of the redirect it gets back."""
    query = {"response_type": "code", "client_id": reg["clientId"], "redirect_uri": redirect,
             "state": state, "code_challenge_method": method, "scopes": scopes}
    url = (f"{sso.oidc.endpoint}/authorize?{percent_encode_sequence(query)}"
           f"&code_challenge={challenge[:-1]}")  # the CLI trims the final '='
    status, headers, _ = http(url)
    assert status == 302, status
    location = urlsplit(headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def test_code_with_pkce_then_refresh_as_the_aws_cli_does_it(sso, clock):
    oidc, portal = client("sso-oidc", sso.oidc), client("sso", sso.portal)
    reg = register(oidc, sso.center)
    verifier, challenge = pkce()
    answer = authorize(sso, reg, challenge)
    assert set(answer) == {"code", "state"} and answer["state"] == "st-1"
    token = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                              grantType="authorization_code", code=answer["code"],
                              codeVerifier=verifier, redirectUri=REDIRECT)
    assert token["tokenType"] == "Bearer" and token["refreshToken"]
    assert portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):  # a code is used once
        oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                          grantType="authorization_code", code=answer["code"],
                          codeVerifier=verifier, redirectUri=REDIRECT)
    clock.advance(sso.center.token_ttl)
    fresh = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                              grantType="refresh_token", refreshToken=token["refreshToken"])
    assert portal.list_accounts(accessToken=fresh["accessToken"])["accountList"]
    assert sso.oidc.calls.ops() == ["RegisterClient", "Authorize"] + ["CreateToken"] * 3


@pytest.mark.parametrize("tamper", ["verifier", "redirect", "client", "late"])
def test_the_exchange_checks_verifier_redirect_client_and_age(sso, clock, tamper):
    oidc = client("sso-oidc", sso.oidc)
    reg = register(oidc, sso.center)
    verifier, challenge = pkce()
    got = authorize(sso, reg, challenge)["code"]
    params = {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"],
              "grantType": "authorization_code", "code": got, "codeVerifier": verifier,
              "redirectUri": REDIRECT}
    if tamper == "verifier":
        params["codeVerifier"] = pkce()[0]
    elif tamper == "redirect":
        params["redirectUri"] = "http://127.0.0.1:49153/oauth/callback"
    elif tamper == "client":
        other = register(oidc, sso.center)
        params.update(clientId=other["clientId"], clientSecret=other["clientSecret"])
    else:
        clock.advance(sso.center.code_ttl)
    with pytest.raises(oidc.exceptions.ClientError) as exc:
        oidc.create_token(**params)
    assert code(exc) == ("ExpiredTokenException" if tamper == "late"
                         else "InvalidGrantException", 400)


def test_authorize_refuses_what_the_real_service_refuses(sso):
    oidc = client("sso-oidc", sso.oidc)
    reg = register(oidc, sso.center)
    _, challenge = pkce()
    assert authorize(sso, reg, challenge, method="plain")["error"] == "invalid_request"
    missing = authorize(sso, reg, challenge, state="")
    assert missing["error"] == "invalid_request" and "state" not in missing
    assert authorize(sso, reg, challenge, scopes="sso:admin")["error"] == "invalid_scope"
    sso.center.consent = "deny"
    denied = authorize(sso, reg, challenge, state="st-9")
    assert (denied["error"], denied["state"]) == ("access_denied", "st-9")
    device = oidc.register_client(clientName="x", clientType="public")  # no redirect URIs
    for cid, redirect in ((reg["clientId"], "http://127.0.0.1:1/elsewhere"),
                          (reg["clientId"], "http://evil.example/oauth/callback"),
                          (reg["clientId"], "http://127.0.0.1:1/oauth/callback?x=1"),
                          (device["clientId"], REDIRECT), ("nope", REDIRECT)):
        query = {"response_type": "code", "client_id": cid, "redirect_uri": redirect,
                 "state": "s", "code_challenge_method": "S256",
                 "code_challenge": challenge.rstrip("=")}
        status, headers, body = http(f"{sso.oidc.endpoint}/authorize?"
                                     f"{percent_encode_sequence(query)}")
        assert status == 400 and "Location" not in headers, (cid, redirect)
        assert b"Invalid" in body


def test_registration_checks_grants_and_redirects(sso):
    oidc = client("sso-oidc", sso.oidc)
    for bad, error in (({"redirectUris": ["http://evil.example/cb"]},
                        "InvalidRedirectUriException"),
                       ({"redirectUris": []}, "InvalidRequestException"),
                       ({"grantTypes": ["password"]}, "UnsupportedGrantTypeException"),
                       ({"issuerUrl": "https://other.awsapps.com/start"},
                        "InvalidRequestException")):
        with pytest.raises(oidc.exceptions.ClientError) as exc:
            register(oidc, sso.center, **bad)
        assert code(exc)[0] == error, bad
    reg = register(oidc, sso.center)
    with pytest.raises(oidc.exceptions.UnauthorizedClientException):  # no device grant
        oidc.start_device_authorization(clientId=reg["clientId"],
                                        clientSecret=reg["clientSecret"],
                                        startUrl=sso.center.start_url)
