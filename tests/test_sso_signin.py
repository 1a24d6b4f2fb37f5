"""One sign-in for many callers (``signin``): a token near its end renewed with the
refresh token and no browser, a refused refresh falling back to a sign-in, callers
waiting on the session's lock for another's sign-in (bounded), and where a browser can
open."""

from __future__ import annotations

import os
import threading

import pytest

from profiles.errors import UsageError
from profiles.estate import pkce, signin
from profiles.estate.tokens import LoginRequired, Token, TokenStore
from profiles.sessions.cache import SessionCache
from tests.sso_world import corp, identity  # noqa: F401


def store() -> TokenStore:
    return TokenStore.of(SessionCache())


class Person:
    """A sign-in that issues a token through the fake (no flow), counting its runs;
    ``gate`` holds it open until set."""

    def __init__(self, identity, gate: threading.Event | None = None,  # noqa: F811
                 fail: bool = False) -> None:
        self.identity, self.gate, self.fail, self.runs = identity, gate, fail, 0
        self.started = threading.Event()

    def __call__(self, session, tokens: TokenStore) -> Token:
        self.runs += 1
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(30)
        if self.fail:
            raise LoginRequired(session.name, "was not signed in (the person gave up)")
        center = self.identity.center
        client = center.register_client("rolecall", grant_types=["refresh_token"])
        issued = center.issue_token(client_id=client.client_id, refresh=True)
        token = Token(issued.access_token, issued.expires_at, issued.refresh_token,
                      client.client_id, client.client_secret, client.expires_at)
        tokens.put_token(session, token)
        return token


def never(session, tokens):  # a caller that must not sign in
    raise AssertionError("signed in")


def test_a_token_near_its_end_is_refreshed_without_a_sign_in(corp, identity):  # noqa: F811
    login = Person(identity)
    first = signin.token(corp.session(), store(), sign_in=login, clock=identity.clock)
    assert login.runs == 1
    oidc = identity.fakes.oidc
    identity.clock.set(first.expires_at - 600)  # inside the last 15 minutes
    fresh = signin.token(corp.session(), store(), sign_in=never, clock=identity.clock)
    assert fresh.access_token != first.access_token and identity.center.token(
        fresh.access_token)
    assert oidc.calls.of("CreateToken")[-1].params["grantType"] == "refresh_token"
    assert store().token("corp").access_token == fresh.access_token
    assert signin.token(corp.session(), store(), sign_in=never,
                        clock=identity.clock).access_token == fresh.access_token


def test_a_refused_refresh_falls_back_to_a_sign_in(corp, identity):  # noqa: F811
    client = identity.center.register_client("rolecall", grant_types=["refresh_token"])
    old = Token("aoa-gone", identity.clock() - 5, "aor-revoked", client.client_id,
                client.client_secret, client.expires_at)
    store().put_token(corp.session(), old)
    login = Person(identity)
    token = signin.token(corp.session(), store(), sign_in=login, clock=identity.clock)
    assert login.runs == 1 and token.access_token != old.access_token
    assert identity.fakes.oidc.calls.of("CreateToken")[-1].error == "InvalidGrantException"
    store().put_token(corp.session(), old)
    with pytest.raises(LoginRequired) as exc:  # a caller that cannot sign in says how
        signin.token(corp.session(), store(), clock=identity.clock)
    assert exc.value.fix == "run `rolecall sso login corp`" and "has expired" in \
        exc.value.message


def _in_thread(target, *args, **kwargs):
    out: dict = {}

    def run():
        try:
            out["value"] = target(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_callers_wait_for_one_sign_in_then_use_its_token(corp, identity):  # noqa: F811
    gate = threading.Event()
    first = Person(identity, gate)
    holder, held = _in_thread(signin.token, corp.session(), store(), sign_in=first,
                              clock=identity.clock)
    assert first.started.wait(30)
    said: list[str] = []
    waiters = [_in_thread(signin.token, corp.session(), store(), sign_in=never,
                          clock=identity.clock, say=said.append) for _ in range(3)]
    explicit = _in_thread(signin.sign_in, corp.session(), store(), never, say=said.append)
    while len(said) < 4:  # each has found the lock taken
        threading.Event().wait(0.01)
    gate.set()
    for thread, _ in [(holder, held), *waiters, explicit]:
        thread.join(30)
    token = held["value"]
    assert first.runs == 1
    assert all(out["value"].access_token == token.access_token for _, out in waiters)
    assert explicit[1]["value"] == (store().token("corp"), False)
    assert said[0] == "waiting for the sign-in to 'corp' that another rolecall started " \
        "(at most 5m30s)"


def test_a_waiter_gives_up_at_its_bound_and_never_starts_a_second_sign_in(
        corp, identity):  # noqa: F811
    gate = threading.Event()
    first = Person(identity, gate, fail=True)
    holder, _ = _in_thread(signin.token, corp.session(), store(), sign_in=first)
    assert first.started.wait(30)
    with pytest.raises(LoginRequired) as exc:
        signin.token(corp.session(), store(), sign_in=never, bound=0.3)
    assert exc.value.message == "IAM Identity Center session 'corp' was not signed in " \
        "within 0.3s by the sign-in another rolecall started"
    second, waiting = Person(identity), threading.Event()
    waiter, out = _in_thread(signin.token, corp.session(), store(), sign_in=second,
                             say=lambda _: waiting.set())
    assert waiting.wait(30)
    gate.set()  # the first sign-in fails: the waiter does not open another tab
    holder.join(30)
    waiter.join(30)
    assert second.runs == 0 and "did not finish" in out["error"].message
    assert out["error"].fix == "run `rolecall sso login corp`"
    assert signin.token(corp.session(), store(), sign_in=second).access_token  # asked again


def test_a_lock_that_is_not_a_file_is_refused_at_once(corp, identity):  # noqa: F811
    lock = signin.lock_path(corp.session(), store())
    lock.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(lock)
    with pytest.raises(UsageError, match="is a fifo"):
        signin.token(corp.session(), store(), sign_in=never)


def test_the_wait_outlasts_the_sign_in_it_waits_for():
    assert signin.WAIT > pkce.TIMEOUT


@pytest.mark.parametrize("env, here", [
    ({}, False), ({"DISPLAY": ":0"}, True), ({"WAYLAND_DISPLAY": "wayland-0"}, True),
    ({"BROWSER": "firefox"}, True), ({"SSH_CONNECTION": "1 2 3 4", "BROWSER": "w3m"}, False),
    ({"SSH_TTY": "/dev/pts/1"}, False), ({"SSH_CLIENT": "x", "DISPLAY": "localhost:10"}, True),
])
def test_where_a_browser_can_open(env, here, monkeypatch):
    monkeypatch.setattr("sys.platform", "linux")
    assert signin.browser_here(env) is here
