"""The browser's sign-in to IAM Identity Center (authorization code with PKCE) in one
process: the AWS CLI's registration and authorize URL at the endpoint botocore resolves,
the one-shot loopback callback and what it refuses, the exchange, and the ends a
sign-in can come to (denied, refused state, closed browser, timeout, cancelled)."""

from __future__ import annotations

import base64
import hashlib
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from profiles.errors import AwsError
from profiles.estate import callback, pkce, sso
from profiles.estate.tokens import TokenStore
from profiles.sessions.cache import SessionCache
from tests.browser import browse
from tests.fakes.drive import http
from tests.sso_world import corp, identity  # noqa: F401


class Browser:
    """The person's browser: records what it was asked to open; ``mode`` as the
    stand-in's (``follow``, ``tamper``, ``close``)."""

    def __init__(self, mode: str = "follow") -> None:
        self.mode, self.opened = mode, []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        return browse(url, self.mode)


def sign_in(corp, browser=None, **kwargs):  # noqa: F811
    prompts: list[sso.Prompt] = []
    kwargs.setdefault("clock", corp.identity.clock)
    token = pkce.login(corp.session(), TokenStore.of(SessionCache()), show=prompts.append,
                       opener=browser or Browser(), **kwargs)
    return token, prompts


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_sign_in_registers_authorizes_and_exchanges_as_the_aws_cli_does(corp, identity):  # noqa: F811
    browser = Browser()
    token, prompts = sign_in(corp, browser)
    oidc = identity.fakes.oidc
    assert oidc.calls.ops() == ["RegisterClient", "Authorize", "CreateToken"]
    register = oidc.calls.of("RegisterClient")[0].params
    assert register == {"clientName": "rolecall", "clientType": "public",
                        "scopes": ["sso:account:access"],
                        "grantTypes": ["authorization_code", "refresh_token"],
                        "redirectUris": ["http://127.0.0.1/oauth/callback"],
                        "issuerUrl": identity.center.start_url}
    url, = browser.opened
    assert url.startswith(identity.fakes.oidc.endpoint + "/authorize?")  # AWS_ENDPOINT_URL_*
    asked = query(url)
    assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
    assert asked["scopes"] == "sso:account:access"
    redirect = urlsplit(asked["redirect_uri"])
    assert (redirect.scheme, redirect.hostname, redirect.path) == \
        ("http", "127.0.0.1", "/oauth/callback") and redirect.port
    exchange = oidc.calls.of("CreateToken")[0].params
    assert exchange["grantType"] == "authorization_code"
    assert exchange["redirectUri"] == asked["redirect_uri"]
    digest = hashlib.sha256(exchange["codeVerifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == asked["code_challenge"]
    assert len(exchange["codeVerifier"]) >= 43 and len(asked["state"]) >= 32
    stored = TokenStore.of(SessionCache()).token("corp")
    assert stored.access_token == token.access_token and stored.refresh_token
    assert (stored.client_id, stored.registration_expires_at) == (
        asked["client_id"], token.registration_expires_at)
    assert identity.center.token(token.access_token)
    assert [p.opened for p in prompts] == [None]  # the URL is shown only if none opened
    again, _ = sign_in(corp)
    assert oidc.calls.count("RegisterClient") == 1  # the registration is kept
    assert again.access_token != token.access_token


def test_the_authorize_url_is_botocore_s_endpoint(monkeypatch):
    """The region's endpoint, or AWS_ENDPOINT_URL_SSO_OIDC (its path kept); no request."""
    from profiles.estate import clients

    monkeypatch.delenv("AWS_ENDPOINT_URL_SSO_OIDC", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert pkce.endpoint(clients.bearer("sso-oidc", "eu-west-1")) == \
        "https://oidc.eu-west-1.amazonaws.com"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9/oidc")
    assert pkce.endpoint(clients.bearer("sso-oidc", "eu-west-1")) == "http://127.0.0.1:9/oidc"


@pytest.mark.parametrize("end", ["tamper", "deny"])
def test_a_tampered_state_or_a_denial_ends_the_sign_in(corp, identity, end):  # noqa: F811
    if end == "deny":
        identity.center.consent = "deny"
    with pytest.raises(AwsError) as exc:
        sign_in(corp, Browser("tamper" if end == "tamper" else "follow"))
    message = exc.value.message
    assert ("did not carry this sign-in's state" in message) if end == "tamper" \
        else message == "the sign-in was denied in the browser"
    assert "rolecall sso login corp" in exc.value.fix and exc.value.exit_code == 1
    assert identity.fakes.oidc.calls.count("CreateToken") == 0
    assert TokenStore.of(SessionCache()).token("corp") is None


@pytest.mark.parametrize("browser", ["closed", "none"])
def test_no_answer_ends_with_the_timeout(corp, identity, browser):  # noqa: F811
    """A browser closed before signing in (it opened, nothing came back), or none at all
    (the URL is shown to open by hand): the wait ends at its deadline."""
    clock = identity.clock
    opener = (lambda url: True) if browser == "closed" else Browser("close")
    with pytest.raises(AwsError) as exc:
        sign_in(corp, opener, pause=clock.advance)
    assert exc.value.message == "no answer from the browser within 5 minutes (was it closed?)"
    assert "--device-code" in exc.value.fix
    assert identity.fakes.oidc.calls.ops() == ["RegisterClient"]


def test_no_browser_shows_the_url_and_cancel_ends_the_wait(corp, identity):  # noqa: F811
    cancelled, prompts = threading.Event(), []

    def show(prompt):
        prompts.append(prompt)
        cancelled.set()

    with pytest.raises(sso.Cancelled):
        pkce.login(corp.session(), TokenStore.of(SessionCache()), show=show, browser=False,
                   cancelled=cancelled, clock=identity.clock)
    prompt, = prompts
    assert prompt.opened is False and "/authorize?" in prompt.url and prompt.code == ""


def get(url: str, host: str | None = None) -> tuple[int, bytes]:
    """GET ``url`` (with another ``Host`` header, as a DNS-rebinding page would send)."""
    status, _, body = http(url, headers={"Host": host} if host else None)
    return status, body


def test_the_callback_answers_only_its_path_host_and_state_once():
    with callback.Callback("the-state") as cb:
        base = f"http://127.0.0.1:{cb.port}"
        assert get(f"{base}/elsewhere?code=c&state=the-state")[0] == 404
        assert get(f"{base}/oauth/callback?code=c&state=the-state",
                   host=f"evil.example:{cb.port}")[0] == 400  # DNS rebinding
        assert get(f"{base}/oauth/callback")[0] == 400  # neither code nor error: no answer
        assert get(f"{base}/oauth/callback?code=a&code=b&state=the-state")[0] == 400
        assert not cb.done.is_set()
        status, body = get(f"{base}/oauth/callback?code=%3Cscript%3E&state=the-state")
        assert status == 200 and b"<script>" not in body and b"Signed in" in body
        assert cb.answer == callback.Answer(code="<script>")
        assert get(f"{base}/oauth/callback?code=other&state=the-state")[0] == 410
    with callback.Callback("the-state") as cb:
        base = f"http://127.0.0.1:{cb.port}"
        status, body = get(f"{base}/oauth/callback?error=%3Cb%3Eno%3C%2Fb%3E&state=the-state")
        assert status == 200 and b"<b>" not in body
        assert cb.answer == callback.Answer(error="error")  # not an OAuth code: not kept
    with callback.Callback("the-state") as cb:
        status, body = get(f"http://127.0.0.1:{cb.port}/oauth/callback?code=c&state=forged")
        assert status == 400 and cb.answer == callback.Answer(refused=True)
        assert b"forged" not in body
