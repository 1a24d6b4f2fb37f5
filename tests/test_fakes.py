"""The fakes in tests/fakes/ against real clients: boto3 (and its paginators), botocore's
own SSO token and credential providers through the AWS CLI, moto for the keys."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import (
    DEVICE_GRANT,
    CloudTrail,
    ConsoleFederation,
    FakeClock,
    IdentityCenter,
    MotoKeys,
    ServiceError,
    SsoFakes,
    moto_caller,
    reserved_role_name,
    trail_event,
)
from tests.fakes.fixtures import cloudtrail_fake, federation_fake, sso_fakes  # noqa: F401

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
ONE_TRY = Config(retries={"total_max_attempts": 1})
ROLE = "arn:aws:iam::222222222222:role/Deploy"
ALICE = "arn:aws:iam::111111111111:user/alice"


def client(service: str, fake, config: Config = ONE_TRY, **kwargs):
    region = kwargs.pop("region", "us-east-1")
    return boto3.client(service, endpoint_url=fake.url, region_name=region, config=config,
                        **kwargs)


@functools.cache
def _client_at(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", config=ONE_TRY)


def cached_client(service: str, fake):
    """One client per fake, for tests that call many times (hypothesis examples)."""
    return _client_at(service, fake.url)


def code(exc: pytest.ExceptionInfo) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


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
    role = reserved_role_name("333333333333", "AdministratorAccess")
    assert me["Account"] == "333333333333"
    assert me["Arn"] == f"arn:aws:sts::333333333333:assumed-role/{role}/operator@example.com"
    assert creds["secretAccessKey"] not in repr(list(sso_fakes.portal.calls))


def test_throttling_is_the_real_429_and_botocore_retries_it(sso, center, clock):
    token = center.issue_token().access_token
    sso.portal.throttle.fail_next(1)
    retrying = Config(retries={"mode": "standard", "max_attempts": 2})
    assert client("sso", sso.portal, retrying).list_accounts(accessToken=token)["accountList"]
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
    pages = cached_client("sso", sso.portal).get_paginator("list_accounts").paginate(
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
    role = reserved_role_name("444444444444", "Developer")
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


# CloudTrail LookupEvents

@pytest.fixture
def auditor(moto) -> dict:
    """Real IAM user keys in account 222222222222 (the account whose trail is read)."""
    key, secret = moto.create_user_keys("222222222222", f"auditor-{uuid.uuid4().hex[:8]}")
    return {"aws_access_key_id": key, "aws_secret_access_key": secret}


def seed(trail: CloudTrail, now: datetime) -> None:
    for i in range(7):
        trail.assume_role(ROLE, f"alice-{i}", ALICE, when=now - timedelta(minutes=10 * i),
                          source_ip=f"203.0.113.{i}")
    trail.add(trail_event("GetSessionToken", account_id="222222222222",
                          caller_arn="arn:aws:iam::222222222222:user/bob", when=now))
    trail.assume_role(ROLE, "elsewhere", ALICE, when=now, region="eu-west-1")
    trail.assume_role("arn:aws:iam::333333333333:role/Deploy", "other", ALICE, when=now)
    trail.assume_role(ROLE, "ancient", ALICE, when=now - timedelta(days=91))


def test_lookup_events_newest_first_filtered_and_paginated(cloudtrail_fake, auditor):  # noqa: F811
    now = datetime.now(UTC)
    seed(cloudtrail_fake, now)
    trail = client("cloudtrail", cloudtrail_fake, Config(), **auditor)
    pages = list(trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}],
        PaginationConfig={"PageSize": 3}))
    events = [e for p in pages for e in p["Events"]]
    assert len(pages) == 3 and cloudtrail_fake.calls.count("LookupEvents") == 3
    record = [json.loads(e["CloudTrailEvent"]) for e in events]
    assert [r["requestParameters"]["roleSessionName"] for r in record] == \
        [f"alice-{i}" for i in range(7)]
    first, raw = events[0], record[0]
    assert first["EventName"] == "AssumeRole" and first["EventSource"] == "sts.amazonaws.com"
    assert isinstance(first["EventTime"], datetime) and first["Username"] == "alice"
    assert raw["userIdentity"]["arn"] == ALICE and raw["userIdentity"]["type"] == "IAMUser"
    assert raw["requestParameters"]["roleArn"] == ROLE
    assert raw["sourceIPAddress"] == "203.0.113.0"
    assert raw["recipientAccountId"] == "222222222222"
    assert raw["eventTime"] == now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {"ResourceType": "AWS::IAM::Role", "ResourceName": ROLE} in first["Resources"]
    assert len(trail.lookup_events()["Events"]) == 8  # + GetSessionToken; not 91 days old
    west = client("cloudtrail", cloudtrail_fake, region="eu-west-1", **auditor)
    assert [e["Username"] for e in west.lookup_events()["Events"]] == ["alice"]


def test_lookup_events_time_window_and_validation(cloudtrail_fake, auditor):  # noqa: F811
    now = datetime.now(UTC)
    seed(cloudtrail_fake, now)
    trail = client("cloudtrail", cloudtrail_fake, **auditor)
    window = trail.lookup_events(StartTime=now - timedelta(minutes=25),
                                 EndTime=now - timedelta(minutes=5))["Events"]
    assert [e["Username"] for e in window] == ["alice", "alice"]  # 10 and 20 minutes ago
    bad = [({"StartTime": now, "EndTime": now - timedelta(hours=1)}, "InvalidTimeRangeException"),
           ({"MaxResults": 51}, "InvalidMaxResultsException"),
           ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "A"},
                                  {"AttributeKey": "Username", "AttributeValue": "b"}]},
            "InvalidLookupAttributesException"),
           ({"NextToken": "garbage"}, "InvalidNextTokenException")]
    first = trail.lookup_events(MaxResults=2)
    bad.append(({"NextToken": first["NextToken"], "LookupAttributes": [
        {"AttributeKey": "Username", "AttributeValue": "alice"}]}, "InvalidNextTokenException"))
    for params, error in bad:
        with pytest.raises(ClientError) as exc:
            trail.lookup_events(**params)
        assert code(exc) == (error, 400), params


def test_caller_account_comes_from_the_signing_key(cloudtrail_fake, auditor, moto):  # noqa: F811
    now = datetime.now(UTC)
    seed(cloudtrail_fake, now)
    role = moto.create_role("333333333333", "Audit")
    session = moto.client("sts", "111111111111").assume_role(
        RoleArn=role, RoleSessionName="audit")["Credentials"]
    assumed = client("cloudtrail", cloudtrail_fake, aws_access_key_id=session["AccessKeyId"],
                     aws_secret_access_key=session["SecretAccessKey"],
                     aws_session_token=session["SessionToken"])
    assert [e["Username"] for e in assumed.lookup_events()["Events"]] == ["alice"]  # "other"
    stranger = client("cloudtrail", cloudtrail_fake, aws_access_key_id="AKIAUNKNOWN0000000000",
                      aws_secret_access_key="x")
    with pytest.raises(ClientError) as exc:
        stranger.lookup_events()
    assert code(exc) == ("UnrecognizedClientException", 400)
    cloudtrail_fake.caller("AKIAUNKNOWN0000000000", "222222222222")
    assert len(stranger.lookup_events()["Events"]) == 8
    cloudtrail_fake.deny("arn:aws:sts::333333333333:assumed-role/Audit/audit")
    with pytest.raises(ClientError) as exc:
        assumed.lookup_events()
    assert code(exc) == ("AccessDeniedException", 400)
    assert "assumed-role/Audit/audit is not authorized to perform: cloudtrail:LookupEvents" \
        in str(exc.value)
    assert cloudtrail_fake.calls[-1].credential == session["AccessKeyId"]


def test_cloudtrail_throttling_per_account_and_region(clock):
    with CloudTrail(clock) as trail:
        trail.caller("AKIAAAAAAAAAAAAAAAAA", "111111111111")
        trail.caller("AKIABBBBBBBBBBBBBBBB", "222222222222")
        a = client("cloudtrail", trail, aws_access_key_id="AKIAAAAAAAAAAAAAAAAA",
                   aws_secret_access_key="x")
        b = client("cloudtrail", trail, aws_access_key_id="AKIABBBBBBBBBBBBBBBB",
                   aws_secret_access_key="x")
        trail.throttle.tps = 2  # the real LookupEvents limit
        a.lookup_events()
        a.lookup_events()
        with pytest.raises(ClientError) as exc:
            a.lookup_events()
        assert code(exc) == ("ThrottlingException", 400) and "Rate exceeded" in str(exc.value)
        assert b.lookup_events() == b.lookup_events() or True  # another account's budget
        clock.advance(1)
        a.lookup_events()
        trail.throttle.reset()
        trail.throttle.every = 2
        retrying = client("cloudtrail", trail, Config(retries={"mode": "standard"}),
                          aws_access_key_id="AKIAAAAAAAAAAAAAAAAA", aws_secret_access_key="x")
        trail.calls.clear()
        retrying.lookup_events()
        retrying.lookup_events()
        assert trail.calls.errors() == {"ThrottlingException": 1} and len(trail.calls) == 3
        assert not trail.crashes


def test_cloudtrail_speaks_only_its_target():
    with CloudTrail() as trail:
        request = urllib.request.Request(trail.url + "/", data=b"{}", method="POST", headers={
            "X-Amz-Target": "CloudTrail_20131101.LookupEvents",
            "Content-Type": "application/x-amz-json-1.1"})
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(request)
        assert exc.value.code == 400
        assert json.load(exc.value)["__type"] == "UnknownOperationException"


# console federation

def federate(fed: ConsoleFederation, method: str = "GET", **params) -> tuple[int, dict, bytes]:
    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    query = urllib.parse.urlencode(params)
    request = urllib.request.Request(fed.url + ("?" + query if method == "GET" else ""),
                                     data=query.encode() if method == "POST" else None)
    try:
        with urllib.request.build_opener(Keep).open(request) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


SESSION = json.dumps({"sessionId": "ASIAFEDERATED0000000", "sessionKey": "sk",
                      "sessionToken": "st"})


def test_signin_token_then_login_redirects(federation_fake):  # noqa: F811
    status, _, body = federate(federation_fake, Action="getSigninToken",
                               SessionDuration="43200", Session=SESSION)
    assert status == 200
    token = json.loads(body)["SigninToken"]
    destination = "https://us-east-1.console.aws.amazon.com/s3/home?region=us-east-1"
    status, headers, _ = federate(federation_fake, "POST", Action="login", Issuer="rolecall",
                                  Destination=destination, SigninToken=token)
    assert status == 302 and headers["Location"] == destination
    login = federation_fake.logins[-1]
    assert (login.issuer, login.grant.access_key_id, login.grant.session_duration) == \
        ("rolecall", "ASIAFEDERATED0000000", 43200)
    assert federation_fake.calls.ops() == ["getSigninToken", "login"]
    assert token not in repr(list(federation_fake.calls)) and "sk" not in \
        repr(federation_fake.calls[0])


@pytest.mark.parametrize("params", [
    {},
    {"Session": "not json"},
    {"Session": json.dumps({"sessionId": "AKIALONGTERM", "sessionKey": "sk"})},
    {"Session": SESSION, "SessionDuration": "899"},
    {"Session": SESSION, "SessionDuration": "43201"},
    {"Session": SESSION, "SessionDuration": "12h"},
    {"Session": json.dumps({"sessionId": "ASIACHAINED", "sessionKey": "k", "sessionToken": "t"}),
     "SessionDuration": "3601"},
    {"Session": json.dumps({"sessionId": "ASIAREVOKED", "sessionKey": "k", "sessionToken": "t"})},
])
def test_signin_token_refusals_are_400_pages(federation_fake, params):  # noqa: F811
    federation_fake.mark_chained("ASIACHAINED")
    federation_fake.reject("ASIAREVOKED")
    status, headers, body = federate(federation_fake, Action="getSigninToken", **params)
    assert status == 400 and headers["Content-Type"].startswith("text/html")
    assert b"SigninToken" not in body


def test_chained_session_gets_one_hour_and_tokens_expire(clock):
    chained = json.dumps({"sessionId": "ASIACHAINED", "sessionKey": "k", "sessionToken": "t"})
    with ConsoleFederation(clock) as fed:
        fed.mark_chained("ASIACHAINED")
        status, _, body = federate(fed, Action="getSigninToken", SessionDuration="3600",
                                   Session=chained)
        assert status == 200
        token = json.loads(body)["SigninToken"]
        login = {"Action": "login", "Destination": "https://console.aws.amazon.com/"}
        assert federate(fed, **login, SigninToken="forged")[0] == 400
        assert federate(fed, **login | {"Destination": "https://evil.example/"},
                        SigninToken=token)[0] == 400
        clock.advance(901)  # a sign-in token lasts 15 minutes
        assert federate(fed, **login, SigninToken=token)[0] == 400
        assert fed.calls.errors() == {"BadRequest": 3} and not fed.crashes


def test_a_bug_in_a_fake_is_a_500_and_recorded(clock):
    with ConsoleFederation(clock) as fed:
        fed.destination_ok = None  # type: ignore[assignment]
        status, _, body = federate(fed, Action="getSigninToken", Session=SESSION)
        token = json.loads(body)["SigninToken"]
        assert federate(fed, Action="login", Destination="https://console.aws.amazon.com/",
                        SigninToken=token)[0] == 500
        assert len(fed.crashes) == 1 and "TypeError" in fed.crashes[0]


def test_moto_caller_knows_user_and_session_keys(moto):
    key, _ = moto.create_user_keys("555555555555", "reader")
    assert moto_caller(key).account_id == "555555555555"
    assert moto_caller(key).arn == "arn:aws:iam::555555555555:user/reader"
    assert moto_caller("AKIANEVERISSUED00000") is None
    minted = MotoKeys(moto).mint("555555555555", "Ops", "ann@example.com", 900)
    assert moto_caller(minted.access_key_id).arn.endswith(
        f"/{reserved_role_name('555555555555', 'Ops')}/ann@example.com")
