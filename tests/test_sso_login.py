"""`rolecall sso login/logout` (see docs/architecture.md, IAM Identity Center): the device
authorization flow against the
sso-oidc fake with an injected clock, the token in the keyring, the AWS CLI's cache
file for --share, refresh, and the message a missing or expired login gives."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from profiles.errors import AwsError
from profiles.estate import sso, tokens
from profiles.estate.tokens import LoginRequired, TokenStore
from profiles.sessions.cache import SessionCache
from tests.fakes.sso_oidc import oidc_error
from tests.sso_world import corp, identity  # noqa: F401


class Person:
    """The operator: sees the prompt, and approves after ``approve_after`` waits."""

    def __init__(self, center, approve_after: int | None = 1, deny: bool = False) -> None:
        self.identity, self.approve_after, self.deny = center, approve_after, deny
        self.prompts: list[sso.Prompt] = []
        self.waits: list[float] = []

    def show(self, prompt: sso.Prompt) -> None:
        self.prompts.append(prompt)

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.identity.clock.advance(seconds)
        if len(self.waits) == self.approve_after:
            center = self.identity.center
            center.deny() if self.deny else center.approve()
        return False


def login(corp, person: Person, store: TokenStore | None = None) -> tokens.Token:  # noqa: F811
    return sso.login(corp.session(), store or TokenStore.of(SessionCache()), show=person.show,
                     wait=person.wait, clock=corp.identity.clock)


def test_login_waits_out_pending_and_slow_down_then_keeps_the_token_in_the_keyring(
        corp, identity):  # noqa: F811
    oidc = identity.fakes.oidc
    person = Person(identity, approve_after=2)
    original = oidc.dispatch

    def slow_down_second(request):  # the service asks us to slow down on the 2nd poll
        if len(oidc.calls.of("CreateToken")) == 1:
            oidc.fail_next("CreateToken", oidc_error("SlowDownException", "slow down"))
        return original(request)

    oidc.dispatch = slow_down_second
    token = login(corp, person)
    created = oidc.calls.of("CreateToken")
    assert [c.error for c in created] == ["AuthorizationPendingException",
                                          "SlowDownException", None]
    assert person.waits == [1, 6]  # the interval, then the interval + 5 s (RFC 8628 §3.5)
    assert created[2].time - created[1].time == 6  # polled no sooner than asked
    prompt, = person.prompts
    assert prompt.code == identity.center.device().user_code and prompt.code in prompt.url
    assert oidc.calls.of("RegisterClient")[0].params["scopes"] == ["sso:account:access"]
    stored = TokenStore.of(SessionCache()).token("corp")
    assert stored is not None and stored.access_token == token.access_token
    assert stored.refresh_token and identity.center.token(stored.access_token)
    for path in corp.world.home.rglob("*"):  # the token is in no file (no --share)
        if path.is_file():
            assert token.access_token.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("how", ["service", "local"])
def test_an_expired_device_code_ends_the_login(corp, identity, how):  # noqa: F811
    """The service says the code expired (ExpiredTokenException), or the code's own
    expiry comes before the next poll: one message, no more polling."""
    person = Person(identity, approve_after=None)
    if how == "service":
        person.wait = lambda seconds: bool(identity.clock.advance(601)) and False
    else:  # at 4 s, the next poll (at 8 s) would come after the code's expiry (6 s)
        identity.center.device_ttl, identity.center.interval = 6, 4
    with pytest.raises(AwsError) as exc:
        login(corp, person)
    assert exc.value.message == "the sign-in code expired before it was approved"
    assert "rolecall sso login corp" in exc.value.fix and exc.value.exit_code == 1
    errors = [c.error for c in identity.fakes.oidc.calls.of("CreateToken")]
    assert errors == ["AuthorizationPendingException", "ExpiredTokenException"
                      if how == "service" else "AuthorizationPendingException"]
    assert TokenStore.of(SessionCache()).token("corp") is None


def test_a_denied_sign_in_says_so(corp, identity):  # noqa: F811
    with pytest.raises(AwsError, match="denied in the browser"):
        login(corp, Person(identity, approve_after=1, deny=True))


def test_the_client_registration_is_reused_until_it_expires(corp, identity):  # noqa: F811
    login(corp, Person(identity, approve_after=1))
    login(corp, Person(identity, approve_after=1))
    oidc = identity.fakes.oidc
    assert oidc.calls.count("RegisterClient") == 1
    identity.clock.advance(identity.center.registration_ttl)  # expired: registered again
    login(corp, Person(identity, approve_after=1))
    assert oidc.calls.count("RegisterClient") == 2


def test_a_revoked_registration_is_replaced(corp, identity):  # noqa: F811
    login(corp, Person(identity, approve_after=1))
    identity.center.clients.clear()  # the service no longer knows the client
    login(corp, Person(identity, approve_after=1))
    oidc = identity.fakes.oidc
    assert oidc.calls.count("RegisterClient") == 2
    assert [c.error for c in oidc.calls.of("StartDeviceAuthorization")] == [
        None, "InvalidClientException", None]


def test_the_portal_s_url_and_code_are_shown_without_control_characters(corp, identity):  # noqa: F811
    start = identity.center.start_device

    def hostile(client, start_url):
        device = start(client, start_url)
        device.user_code = "AB\x1b]0;owned\x07CD\u2028EF"
        return device

    identity.center.start_device = hostile
    person = Person(identity)
    login(corp, person)
    prompt, = person.prompts
    assert prompt.code == "AB ]0;owned CD EF"
    assert "\x1b" not in prompt.url and "\x07" not in prompt.url and "\u2028" not in prompt.url


def _cli_cache(home, key: str):
    return home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(key.encode()).hexdigest()}.json"


def test_share_writes_the_file_botocore_reads(corp, identity):  # noqa: F811
    from botocore.utils import JSONFileCache, SSOTokenLoader

    token = login(corp, Person(identity, approve_after=1))
    written = sso.share(corp.session(), token)
    path = _cli_cache(corp.world.home, "corp")  # sha1 of the sso-session's name
    assert written == str(path) and stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert set(data) == {"startUrl", "region", "accessToken", "expiresAt", "clientId",
                         "clientSecret", "registrationExpiresAt", "refreshToken"}
    loader = SSOTokenLoader(JSONFileCache(str(path.parent)))
    assert loader(identity.center.start_url, session_name="corp")["accessToken"] == \
        token.access_token


def test_a_legacy_profile_logs_in_by_its_start_url(corp, identity):  # noqa: F811
    corp.world.write_config(
        f"[profile old]\nsso_start_url = {identity.center.start_url}\nsso_region = us-east-1\n"
        "sso_account_id = 111111111111\nsso_role_name = ReadOnly\n")
    inv = corp.inventory()
    session = sso.resolve(inv, "old")  # the profile's name finds its start URL
    assert session.legacy and session.name == identity.center.start_url
    assert inv.roles["old"].sso_session == session.name
    person = Person(identity, approve_after=1)
    token = sso.login(session, TokenStore.of(SessionCache()), show=person.show,
                      wait=person.wait, clock=identity.clock)
    assert "scopes" not in identity.fakes.oidc.calls.of("RegisterClient")[0].params
    sso.share(session, token)
    data = json.loads(_cli_cache(corp.world.home, identity.center.start_url).read_text())
    assert set(data) == {"startUrl", "region", "accessToken", "expiresAt"}


def test_logout_drops_the_token_and_the_file_it_shared(corp, identity):  # noqa: F811
    store = TokenStore.of(SessionCache())
    token = login(corp, Person(identity, approve_after=1), store)
    sso.share(corp.session(), token)
    removed = sso.logout(corp.session(), store)
    assert len(removed) == 2 and not _cli_cache(corp.world.home, "corp").exists()
    assert store.token("corp") is None and store.registration("corp") is not None
    assert identity.center.token(token.access_token) is None  # the portal's Logout
    assert sso.logout(corp.session(), store) == []


def test_a_token_near_expiry_is_refreshed_and_an_expired_one_needs_a_login(
        corp, identity):  # noqa: F811
    store = TokenStore.of(SessionCache())
    first = login(corp, Person(identity, approve_after=1), store)
    clock = identity.clock
    clock.set(first.expires_at - 600)  # inside botocore's 15-minute window
    fresh = tokens.usable(corp.session(), store, clock())
    assert fresh.access_token != first.access_token and identity.center.token(
        fresh.access_token)
    assert identity.fakes.oidc.calls.of("CreateToken")[-1].params["grantType"] == \
        "refresh_token"
    assert store.token("corp").access_token == fresh.access_token
    corp.log_in(expires_in=30)  # a token with no refresh token, nearly gone
    clock.advance(31)
    with pytest.raises(LoginRequired) as exc:
        tokens.usable(corp.session(), store, clock())
    assert exc.value.exit_code == 1 and "has expired" in exc.value.message
    assert exc.value.fix == "run `rolecall sso login corp`"


def test_no_login_anywhere_says_how_to_log_in(corp):  # noqa: F811
    with pytest.raises(LoginRequired, match="'corp' is not logged in"):
        tokens.usable(corp.session(), TokenStore.of(SessionCache()))


def test_the_aws_cli_login_is_used_when_rolecall_has_none(corp, identity):  # noqa: F811
    issued = identity.center.issue_token()
    path = _cli_cache(corp.world.home, "corp")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"startUrl": identity.center.start_url, "region": "us-east-1",
                                "accessToken": issued.access_token,
                                "expiresAt": tokens.stamp(issued.expires_at)}))
    token = tokens.usable(corp.session(), TokenStore.of(SessionCache()), identity.clock())
    assert token.access_token == issued.access_token and token.source == str(path)
    os.chmod(path, 0)  # an unreadable file is no login (root reads it anyway)
    if os.geteuid() != 0:
        with pytest.raises(LoginRequired):
            tokens.usable(corp.session(), TokenStore.of(SessionCache()), identity.clock())
