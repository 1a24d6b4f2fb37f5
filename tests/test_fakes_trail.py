"""The CloudTrail LookupEvents and console federation fakes against real clients:
boto3 with its paginator and retries, SigV4 keys from moto, plain HTTP for sign-in."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.fakes import (
    CloudTrail,
    ConsoleFederation,
    FakeClock,
    MotoKeys,
    moto_caller,
    reserved_role_name,
    trail_event,
)
from tests.fakes.drive import boto_client as client
from tests.fakes.drive import error_of as code
from tests.fakes.drive import http
from tests.fakes.fixtures import cloudtrail_fake, federation_fake  # noqa: F401

ROLE = "arn:aws:iam::222222222222:role/Deploy"
ALICE = "arn:aws:iam::111111111111:user/alice"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


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
    trail = client("cloudtrail", cloudtrail_fake, attempts=3, **auditor)
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
        b.lookup_events()  # another account has its own budget
        b.lookup_events()
        clock.advance(1)
        a.lookup_events()
        trail.throttle.reset()
        trail.throttle.every = 2
        retrying = client("cloudtrail", trail, mode="standard", attempts=2,
                          aws_access_key_id="AKIAAAAAAAAAAAAAAAAA", aws_secret_access_key="x")
        trail.calls.clear()
        retrying.lookup_events()
        retrying.lookup_events()
        assert trail.calls.errors() == {"ThrottlingException": 1} and len(trail.calls) == 3
        assert not trail.crashes


def test_cloudtrail_speaks_only_its_target():
    with CloudTrail() as trail:
        status, _, body = http(trail.url + "/", b"{}", {
            "X-Amz-Target": "CloudTrail_20131101.LookupEvents",
            "Content-Type": "application/x-amz-json-1.1"})
        assert status == 400 and json.loads(body)["__type"] == "UnknownOperationException"


# console federation

def federate(fed: ConsoleFederation, method: str = "GET", **params) -> tuple[int, dict, bytes]:
    query = urllib.parse.urlencode(params)
    if method == "POST":
        return http(fed.url, query.encode())
    return http(f"{fed.url}?{query}")


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


def test_a_bad_content_length_is_refused_not_waited_on():
    import socket

    with CloudTrail() as trail, socket.create_connection(
            ("127.0.0.1", int(trail.endpoint.rsplit(":", 1)[1])), timeout=10) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        assert conn.recv(100).split(b" ")[1] == b"400"
