"""The IAM Identity Center fakes (sso-oidc, sso) against real clients: boto3 and its
paginators and retries, botocore's own SSO providers through the AWS CLI, moto."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import DEVICE_GRANT, FakeClock, IdentityCenter, ServiceError, SsoFakes
from tests.fakes import reserved_role_name as reserved
from tests.fakes.drive import boto_client as client
from tests.fakes.drive import error_of as code
from tests.fakes.fixtures import sso_fakes  # noqa: F401

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))


@functools.cache
def cached_client(service: str, url: str):
    """One client per fake, for hypothesis examples (a client costs ~50 ms)."""
    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def center(clock) -> IdentityCenter:
    center = IdentityCenter(clock)
    for i in range(45):
        center.add_account(f"{100000000000 + i}", f"acct-{i}", roles=("Admin", "ReadOnly"))
    return center


@pytest.fixture
def sso(center):
    with SsoFakes.of(center) as fakes:
        yield fakes
    assert not fakes.crashes, fakes.crashes[0]


def registered(oidc, **kwargs) -> dict:
    reg = oidc.register_client(clientName="rolecall", clientType="public", **kwargs)
    return {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]}


# sso-oidc: the device authorization flow

def test_device_flow_pending_slow_down_then_token(sso, center, clock):
    oidc = client("sso-oidc", sso.oidc)
    creds = registered(oidc, scopes=["sso:account:access"])
    dev = oidc.start_device_authorization(**creds, startUrl=center.start_url)
    assert dev["verificationUriComplete"].endswith(f"?user_code={dev['userCode']}")
    assert (dev["expiresIn"], dev["interval"]) == (600, 1)
    poll = dict(creds, grantType=DEVICE_GRANT, deviceCode=dev["deviceCode"])
    with pytest.raises(oidc.exceptions.AuthorizationPendingException) as exc:
        oidc.create_token(**poll)
    assert exc.value.response["error"] == "authorization_pending"
    assert code(exc) == ("AuthorizationPendingException", 400)
    with pytest.raises(oidc.exceptions.SlowDownException) as exc:  # no time passed
        oidc.create_token(**poll)
    assert exc.value.response["error"] == "slow_down"
    clock.advance(5)  # the interval is now 1 + 5 s (RFC 8628 3.5): still too fast
    with pytest.raises(oidc.exceptions.SlowDownException):
        oidc.create_token(**poll)
    clock.advance(11)
    center.approve(dev["userCode"])
    token = oidc.create_token(**poll)
    assert token["tokenType"] == "Bearer" and token["expiresIn"] == center.token_ttl
    assert token["refreshToken"]  # registered with scopes
    accounts = client("sso", sso.portal).list_accounts(accessToken=token["accessToken"])
    assert len(accounts["accountList"]) == 20
    clock.advance(60)
    with pytest.raises(oidc.exceptions.InvalidGrantException):  # a device code is used once
        oidc.create_token(**poll)
    assert sso.oidc.calls.ops() == ["RegisterClient", "StartDeviceAuthorization"] + \
        ["CreateToken"] * 5
    assert sso.oidc.calls.errors()["SlowDownException"] == 2


@pytest.mark.parametrize("outcome, error, oauth", [
    ("expire", "ExpiredTokenException", "expired_token"),
    ("deny", "AccessDeniedException", "access_denied"),
])
def test_device_code_expired_or_denied(sso, center, clock, outcome, error, oauth):
    oidc = client("sso-oidc", sso.oidc)
    creds = registered(oidc)
    dev = oidc.start_device_authorization(**creds, startUrl=center.start_url)
    if outcome == "expire":
        clock.advance(601)
    else:
        center.deny()
    with pytest.raises(ClientError) as exc:
        oidc.create_token(**creds, grantType=DEVICE_GRANT, deviceCode=dev["deviceCode"])
    assert code(exc) == (error, 400) and exc.value.response["error"] == oauth


def test_clients_and_grants_are_checked(sso, center, clock):
    oidc = client("sso-oidc", sso.oidc)
    creds = registered(oidc)
    for bad in ({"clientId": "nope", "clientSecret": "x"},
                {"clientId": creds["clientId"], "clientSecret": "wrong"}):
        with pytest.raises(oidc.exceptions.InvalidClientException) as exc:
            oidc.start_device_authorization(**bad, startUrl=center.start_url)
        assert code(exc) == ("InvalidClientException", 401)
    with pytest.raises(oidc.exceptions.InvalidRequestException):
        oidc.start_device_authorization(**creds, startUrl="https://other.awsapps.com/start")
    with pytest.raises(oidc.exceptions.InvalidClientMetadataException):
        oidc.register_client(clientName="x", clientType="confidential")
    with pytest.raises(oidc.exceptions.UnsupportedGrantTypeException):
        oidc.create_token(**creds, grantType="password")
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**creds, grantType="refresh_token", refreshToken="forged")
    clock.advance(center.registration_ttl)
    with pytest.raises(oidc.exceptions.InvalidClientException):  # the registration expired
        oidc.start_device_authorization(**creds, startUrl=center.start_url)


def test_refresh_token_grant_gives_a_working_token(sso, center, clock):
    oidc, portal = client("sso-oidc", sso.oidc), client("sso", sso.portal)
    creds = registered(oidc, scopes=["sso:account:access"])
    dev = oidc.start_device_authorization(**creds, startUrl=center.start_url)
    center.approve()
    first = oidc.create_token(**creds, grantType=DEVICE_GRANT, deviceCode=dev["deviceCode"])
    clock.advance(center.token_ttl)  # the access token has expired
    with pytest.raises(portal.exceptions.UnauthorizedException):
        portal.list_accounts(accessToken=first["accessToken"])
    fresh = oidc.create_token(**creds, grantType="refresh_token",
                              refreshToken=first["refreshToken"])
    assert fresh["accessToken"] != first["accessToken"]
    assert portal.list_accounts(accessToken=fresh["accessToken"])["accountList"]
    other = registered(oidc, scopes=["sso:account:access"])  # another client's refresh token
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**other, grantType="refresh_token", refreshToken=first["refreshToken"])


# sso: the portal

def test_paginators_list_every_account_and_role(sso, center):
    portal = client("sso", sso.portal)
    token = center.issue_token().access_token
    pages = list(portal.get_paginator("list_accounts").paginate(accessToken=token))
    accounts = [a for p in pages for a in p["accountList"]]
    assert len(pages) == 3 and len(accounts) == 45  # the default page is 20
    assert accounts[0] == {"accountId": "100000000000", "accountName": "acct-0",
                           "emailAddress": "aws+100000000000@example.com"}
    sso.portal.calls.clear()
    small = portal.get_paginator("list_accounts").paginate(
        accessToken=token, PaginationConfig={"PageSize": 7})
    assert [a["accountId"] for p in small for a in p["accountList"]] == \
        [a["accountId"] for a in accounts]
    assert sso.portal.calls.count("ListAccounts") == 7
    assert all(c.credential == token and c.params.get("maxResults") == "7"
               for c in sso.portal.calls)
    roles = portal.get_paginator("list_account_roles").paginate(
        accessToken=token, accountId="100000000003", PaginationConfig={"PageSize": 1})
    assert [r for p in roles for r in p["roleList"]] == [
        {"roleName": "Admin", "accountId": "100000000003"},
        {"roleName": "ReadOnly", "accountId": "100000000003"}]
    with pytest.raises(portal.exceptions.InvalidRequestException):  # a token from elsewhere
        portal.list_accounts(accessToken=token, nextToken=pages[0]["nextToken"][:-4] + "AAA=")


def test_bearer_token_and_assignments_are_checked(sso, center, clock):
    portal = client("sso", sso.portal)
    bob = center.issue_token("bob@example.com").access_token
    center.assign("bob@example.com", "100000000001", "ReadOnly")
    assert [a["accountId"] for a in portal.list_accounts(accessToken=bob)["accountList"]] == \
        ["100000000001"]
    assert portal.list_account_roles(accessToken=bob, accountId="100000000002")["roleList"] == []
    with pytest.raises(ClientError) as exc:
        portal.get_role_credentials(accessToken=bob, accountId="100000000001", roleName="Admin")
    assert code(exc) == ("ForbiddenException", 403)
    assert "No access" in str(exc.value)
    for token in ("never-issued", center.issue_token(expires_in=60).access_token):
        clock.advance(61)
        with pytest.raises(portal.exceptions.UnauthorizedException) as exc:
            portal.get_role_credentials(accessToken=token, accountId="100000000001",
                                        roleName="Admin")
        assert code(exc) == ("UnauthorizedException", 401)
        assert "Session token not found or invalid" in str(exc.value)
    portal.logout(accessToken=bob)
    with pytest.raises(portal.exceptions.UnauthorizedException):
        portal.list_accounts(accessToken=bob)


def test_role_credentials_are_moto_keys_for_that_account_and_user(sso_fakes, moto):  # noqa: F811
    center = sso_fakes.center
    center.add_account("333333333333", "prod", roles=("AdministratorAccess",),
                       session_duration=7200)
    portal = client("sso", sso_fakes.portal)
    before = center.clock()
    creds = portal.get_role_credentials(
        accessToken=center.issue_token().access_token, accountId="333333333333",
        roleName="AdministratorAccess")["roleCredentials"]
    assert abs(creds["expiration"] - (before + 7200) * 1000) < 5000  # epoch milliseconds
    sts = boto3.client("sts", endpoint_url=moto.url, region_name="us-east-1",
                       aws_access_key_id=creds["accessKeyId"],
                       aws_secret_access_key=creds["secretAccessKey"],
                       aws_session_token=creds["sessionToken"])
    me = sts.get_caller_identity()
    role = reserved("333333333333", "AdministratorAccess")
    assert me["Account"] == "333333333333"
    assert me["Arn"] == f"arn:aws:sts::333333333333:assumed-role/{role}/operator@example.com"
    assert creds["secretAccessKey"] not in repr(list(sso_fakes.portal.calls))


def test_throttling_is_the_real_429_and_botocore_retries_it(sso, center, clock):
    token = center.issue_token().access_token
    sso.portal.throttle.fail_next(1)
    retrying = client("sso", sso.portal, mode="standard", attempts=2)
    assert retrying.list_accounts(accessToken=token)["accountList"]
    assert [c.status for c in sso.portal.calls] == [429, 200]
    sso.portal.throttle.tps = 2
    portal = client("sso", sso.portal)
    portal.list_accounts(accessToken=token)
    portal.list_accounts(accessToken=token)
    with pytest.raises(portal.exceptions.TooManyRequestsException) as exc:
        portal.list_accounts(accessToken=token)
    assert code(exc) == ("TooManyRequestsException", 429)
    assert "HTTP 429 Unknown Code" in str(exc.value)
    clock.advance(1)
    assert portal.list_accounts(accessToken=token)


def test_injected_fault_and_concurrent_callers(sso, center):
    token = center.issue_token().access_token
    sso.portal.fail_next("GetRoleCredentials", ServiceError("ResourceNotFoundException",
                                                            "gone", 404))
    portal = client("sso", sso.portal)
    with pytest.raises(portal.exceptions.ResourceNotFoundException):
        portal.get_role_credentials(accessToken=token, accountId="100000000000", roleName="Admin")
    got: list[str] = []

    def fetch(i: int) -> None:
        c = client("sso", sso.portal).get_role_credentials(
            accessToken=token, accountId=f"{100000000000 + i}", roleName="ReadOnly")
        got.append(c["roleCredentials"]["accessKeyId"])

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 16 and sso.portal.calls.count("GetRoleCredentials", ok=True) == 16
    assert len(center.issued) == 16


@settings(max_examples=min(EXAMPLES, 25), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=40), n=st.integers(0, 12), size=st.integers(1, 5))
def test_names_pass_through_exactly_and_pages_cover_all(sso, name, n, size):
    center = IdentityCenter(sso.center.clock)
    for i in range(n):
        center.add_account(f"{i:012d}", name + str(i))
    sso.portal.center = center
    pages = cached_client("sso", sso.portal.url).get_paginator("list_accounts").paginate(
        accessToken=center.issue_token().access_token, PaginationConfig={"PageSize": size})
    assert [a["accountName"] for p in pages for a in p["accountList"]] == \
        [name + str(i) for i in range(n)]


def test_aws_cli_refreshes_the_sso_token_and_gets_role_credentials(sso_fakes, moto, tmp_path):  # noqa: F811
    """botocore's own SSO token provider (refresh_token grant) and SSO credential
    provider, through the real AWS CLI, then STS at moto with the keys."""
    center, home = sso_fakes.center, tmp_path
    center.add_account("444444444444", "dev", roles=("Developer",))
    oidc = client("sso-oidc", sso_fakes.oidc)
    reg = oidc.register_client(clientName="cli", clientType="public",
                               scopes=["sso:account:access"])
    token = center.issue_token(client_id=reg["clientId"], refresh=True, expires_in=300)
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    soon = datetime.now(UTC) + timedelta(minutes=5)  # inside botocore's 15-minute window
    (cache / (hashlib.sha1(b"corp").hexdigest() + ".json")).write_text(json.dumps({
        "startUrl": center.start_url, "region": "us-east-1",
        "accessToken": token.access_token, "expiresAt": soon.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clientId": reg["clientId"], "clientSecret": reg["clientSecret"],
        "registrationExpiresAt": "2099-01-01T00:00:00Z", "refreshToken": token.refresh_token}))
    (home / ".aws" / "config").write_text(
        f"[sso-session corp]\nsso_start_url = {center.start_url}\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n\n[profile dev]\nsso_session = corp\n"
        "sso_account_id = 444444444444\nsso_role_name = Developer\nregion = us-east-1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sso_fakes.env, HOME=str(home), AWS_CONFIG_FILE=str(home / ".aws" / "config"),
               AWS_ENDPOINT_URL_STS=moto.url, AWS_SHARED_CREDENTIALS_FILE=str(home / "none"))
    aws = Path(sys.executable).with_name("aws")
    out = subprocess.run([str(aws), "sts", "get-caller-identity", "--profile", "dev"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    role = reserved("444444444444", "Developer")
    assert json.loads(out.stdout)["Arn"] == \
        f"arn:aws:sts::444444444444:assumed-role/{role}/operator@example.com"
    refresh = sso_fakes.oidc.calls.of("CreateToken")[-1]
    assert refresh.params["grantType"] == "refresh_token" and refresh.error is None
    used = sso_fakes.portal.calls.of("GetRoleCredentials")[-1]
    assert used.credential != token.access_token and center.token(used.credential)
    assert used.params == {"accountId": "444444444444", "roleName": "Developer"}


def test_call_log_and_servers_never_show_secrets(sso, center, capfd):
    oidc = client("sso-oidc", sso.oidc)
    creds = registered(oidc)
    oidc.start_device_authorization(**creds, startUrl=center.start_url)
    token = center.issue_token().access_token
    client("sso", sso.portal).list_accounts(accessToken=token)
    shown = repr(list(sso.oidc.calls)) + repr(list(sso.portal.calls))
    out, err = capfd.readouterr()
    for secret in (creds["clientSecret"], token):
        assert secret not in shown and secret not in out + err
