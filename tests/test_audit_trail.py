"""CloudTrail reading in process (profiles.ops.trail, profiles.ops.audit): pacing under the
service's limit, back-off on throttling, denial, odd records, ``known`` and ``--since``.
The fake's clock is injected and the reader sleeps by advancing it: nothing waits."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.errors import AwsError, UsageError
from profiles.ops import audit, journal, trail
from profiles.ops.journal import Entry
from profiles.ops.trail import Event, Keys, TrailReader
from tests.fakes import CloudTrail, FakeClock, TrailEvent

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
ROLE = "arn:aws:iam::222222222222:role/Deploy"
KEY = "AKIAAUDITREADER00000"
READER = Keys(KEY, "secret", None, "auditor")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def fake(clock):
    with CloudTrail(clock) as service:
        service.caller(KEY, "222222222222", "arn:aws:iam::222222222222:user/auditor")
        yield service
    assert not service.crashes


@pytest.fixture(autouse=True)
def endpoint(fake, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", fake.url)


def seed(fake: CloudTrail, n: int, minutes: float = 1) -> None:
    for i in range(n):
        fake.assume_role(ROLE, f"s-{i}", "arn:aws:iam::111111111111:user/alice",
                         when=T0 - timedelta(minutes=minutes * (i + 1)))


def reader(clock: FakeClock, **kwargs) -> TrailReader:
    return TrailReader(sleep=clock.advance, clock=clock, **kwargs)


def no_botocore_retries(monkeypatch) -> None:
    monkeypatch.setattr(trail, "CONFIG", Config(retries={"total_max_attempts": 1}))


def test_every_page_paced_under_the_limit(fake, clock):
    seed(fake, 120)
    fake.throttle.tps = 2  # the real LookupEvents limit, per account and region
    start = clock() - 86400
    found = reader(clock).lookup(READER, "222222222222", "us-east-1", start)
    assert [e.session_name for e in found.events] == [f"s-{i}" for i in range(120)]
    assert not found.truncated and fake.calls.errors() == {}
    calls = fake.calls.of("LookupEvents")
    assert len(calls) == 3 and [bool(c.params.get("NextToken")) for c in calls] == \
        [False, True, True]
    assert all(b.time - a.time >= trail.PACE for a, b in zip(calls, calls[1:], strict=False))
    assert calls[0].params["StartTime"] == start and calls[0].params["MaxResults"] == 50


def test_without_pacing_the_fake_throttles(fake, clock, monkeypatch):
    """The pacing test above can fail: unpaced, the same reads are throttled."""
    no_botocore_retries(monkeypatch)
    seed(fake, 120)
    fake.throttle.tps = 2
    with pytest.raises(AwsError) as exc:
        reader(clock, pace=0, backoff=()).lookup(READER, "222222222222", "us-east-1", 0)
    assert exc.value.code == "ThrottlingException"


def test_throttling_is_backed_off_then_given_up(fake, clock, monkeypatch):
    no_botocore_retries(monkeypatch)
    seed(fake, 60)
    fake.throttle.fail_next(3)
    patient = reader(clock)
    found = patient.lookup(READER, "222222222222", "us-east-1", 0)
    assert len(found.events) == 60 and len(patient.pauses) == 3
    for pause, base in zip(patient.pauses, trail.BACKOFF, strict=False):
        assert base / 2 <= pause <= base  # exponential, with jitter
    fake.throttle.fail_next(10)
    with pytest.raises(AwsError) as exc:
        reader(clock, backoff=(1, 1)).lookup(READER, "222222222222", "us-east-1", 0)
    assert exc.value.code == "ThrottlingException"
    assert "still throttled after 2 back-offs" in exc.value.message
    assert "Rate exceeded" in exc.value.message and "--since" in exc.value.fix


def test_botocore_retries_first(fake, clock):
    seed(fake, 3)
    fake.throttle.fail_next(1)
    patient = reader(clock)
    assert len(patient.lookup(READER, "222222222222", "us-east-1", 0).events) == 3
    assert patient.pauses == [] and fake.calls.errors() == {"ThrottlingException": 1}


def test_a_denied_lookup_names_the_permission_and_audit_role(fake, clock):
    fake.deny("222222222222")
    with pytest.raises(AwsError) as exc:
        reader(clock).lookup(READER, "222222222222", "us-east-1", 0)
    assert exc.value.code == "AccessDeniedException" and exc.value.exit_code == 1
    assert "denied as auditor" in exc.value.message
    assert "cloudtrail:LookupEvents" in exc.value.fix and "audit_role" in exc.value.fix
    assert '[accounts."222222222222"]' in exc.value.fix


def test_an_unknown_key_and_a_dead_endpoint(fake, clock, monkeypatch):
    with pytest.raises(AwsError) as exc:
        reader(clock).lookup(Keys("AKIASTRANGER00000000", "x"), "222222222222", "us-east-1", 0)
    assert exc.value.code == "UnrecognizedClientException" and "forget" in exc.value.fix
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", "http://127.0.0.1:9")
    no_botocore_retries(monkeypatch)
    with pytest.raises(AwsError) as exc:
        reader(clock).lookup(READER, "222222222222", "us-east-1", 0)
    assert "CloudTrail unreachable" in exc.value.message and exc.value.code


def test_paging_stops_at_the_cap_and_says_so(fake, clock):
    seed(fake, 120)
    found = reader(clock, max_pages=2).lookup(READER, "222222222222", "us-east-1", 0)
    assert found.truncated and len(found.events) == 100


def test_odd_records_are_kept_not_dropped(fake, clock):
    base = dict(event_time=T0 - timedelta(minutes=1), account_id="222222222222",
                region="us-east-1", resources=[{"ResourceType": "AWS::IAM::Role",
                                                "ResourceName": ROLE}])
    fake.add(TrailEvent("AssumeRole", record={"eventName": "AssumeRole"}, **base))
    fake.add(TrailEvent("AssumeRole", record={
        "eventName": "AssumeRole", "userIdentity": {"type": "AWSService",
                                                    "invokedBy": "lambda.amazonaws.com"},
        "requestParameters": {"roleArn": ROLE, "roleSessionName": "a[/]b\x1b[2J"},
        "sourceIPAddress": "lambda.amazonaws.com", "eventTime": "not a time"}, **base))
    found = reader(clock).lookup(READER, "222222222222", "us-east-1", 0).events
    assert len(found) == 2
    bare = next(e for e in found if not e.session_name)
    assert bare.role_arn == ROLE and bare.caller_arn == "" and bare.account_id == "222222222222"
    assert bare.time == "2026-03-01T11:59:00Z"  # from the summary's EventTime
    service = next(e for e in found if e.session_name)
    assert service.caller_arn == "lambda.amazonaws.com"
    assert service.session_name == "a[/]b\x1b[2J"  # as CloudTrail said it; faces escape it


@settings(max_examples=EXAMPLES, deadline=None)
@given(record=st.one_of(st.text(), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["userIdentity", "requestParameters", "arn", "roleArn",
                         "roleSessionName", "eventTime", "sourceIPAddress", "errorCode",
                         "recipientAccountId", "awsRegion", "invokedBy", "x"]), inner,
        max_size=5), max_leaves=12)),
    summary=st.dictionaries(st.sampled_from(["EventTime", "EventId", "Resources"]),
                            st.none() | st.integers(-2**70, 2**70) | st.floats() | st.text()
                            | st.datetimes(timezones=st.just(UTC)) | st.lists(
                                st.dictionaries(st.text(max_size=3), st.text(max_size=3))),
                            max_size=3))
def test_any_record_parses_to_an_event_of_strings(record, summary):
    raw = dict(summary, CloudTrailEvent=record if isinstance(record, str) else json.dumps(record))
    event = trail.parse(raw, "222222222222", "us-east-1")
    values = event.to_json()
    assert all(isinstance(values[k], str) for k in ("time", "caller_arn", "role_arn",
                                                    "session_name", "source_ip",
                                                    "account_id", "region", "event_id"))
    assert event.account_id and event.region
    json.dumps(values)


# -- known ------------------------------------------------------------------------------


def event(session: str, moment: float, role: str = ROLE,
          caller: str = "arn:aws:iam::111111111111:user/alice") -> Event:
    return Event(time=journal.now_iso(moment), caller_arn=caller, role_arn=role,
                 session_name=session, source_ip="", account_id="222222222222",
                 moment=moment)


ALICE = "arn:aws:iam::111111111111:user/alice"


def entry(session: str, moment: float, role: str = ROLE, caller: str = ALICE) -> Entry:
    return Entry(time=journal.now_iso(moment), action="AssumeRole", role="deploy",
                 role_arn=role, account_id=role.split(":")[4], session_name=session,
                 caller_arn=caller)


@pytest.mark.parametrize(("journaled", "known"), [
    (entry("alice-1", 1000), True),
    (entry("alice-1", 1000 + 300), True),  # 5 minutes: the edge
    (entry("alice-1", 1000 - 301), False),
    (entry("alice-2", 1000), False),
    (entry("alice-1", 1000, role="arn:aws:iam::222222222222:role/deploy"), True),  # case
    (entry("alice-1", 1000, role="arn:aws:iam::222222222222:role/ci/Deploy"), True),  # path
    (entry("alice-1", 1000, role="arn:aws:iam::333333333333:role/Deploy"), False),
    (entry("alice-1", 1000, caller="arn:aws:sts::111111111111:assumed-role/X/y"), False),
    (entry("alice-1", 1000, caller=""), False),  # no caller recorded: it vouches for nothing
])
def test_known_needs_the_name_the_role_and_five_minutes(journaled, known):
    events = [event("alice-1", 1000)]
    audit.mark_known(events, [journaled])
    assert events[0].known is known


def test_the_signing_key_decides_when_both_sides_name_one():
    mine, other = journal.key_digest("AKIAMINE0000000000"), journal.key_digest("AKIAOTHER")
    for entry_key, event_key, caller, known in [
            (mine, mine, "", True),  # a first hop: no ARN journaled, the key matches
            (mine, other, ALICE, False),  # the same user through another key
            ("", other, ALICE, True),  # an old entry with an ARN only: the ARN decides
            (mine, "", ALICE, True),  # CloudTrail named no key: the ARN decides
            (mine, "", "", False)]:  # neither to compare: nothing vouches
        events = [replace(event("alice-1", 1000), caller_key=event_key)]
        audit.mark_known(events, [replace(entry("alice-1", 1000, caller=caller),
                                          caller_key=entry_key)])
        assert events[0].known is known, (entry_key, event_key, caller)


def test_a_get_session_token_entry_never_makes_an_event_known():
    events = [event("", 1000)]
    audit.mark_known(events, [Entry(time=journal.now_iso(1000), action="GetSessionToken",
                                    role="mfa:x")])
    assert not events[0].known


@pytest.mark.parametrize(("text", "back"), [
    ("90m", 5400), ("24h", 86400), ("7d", 7 * 86400), ("1d12h", 36 * 3600), ("3600", 3600),
])
def test_since_as_a_duration(text, back):
    assert audit.parse_since(text, 1_800_000_000) == 1_800_000_000 - back


def test_since_as_a_time():
    now = T0.timestamp() + 3600
    assert audit.parse_since("2026-03-01", now) == T0.timestamp() - 12 * 3600
    assert audit.parse_since("2026-03-01T12:00:00Z", now) == T0.timestamp()
    assert audit.parse_since("2026-03-01t13:00:00+01:00", now) == T0.timestamp()
    for bad in ("yesterday", "", "7x", "d", "2026-13-01"):
        with pytest.raises(UsageError, match="invalid --since"):
            audit.parse_since(bad, now)
    with pytest.raises(UsageError, match="in the future"):
        audit.parse_since("2026-03-01T14:00:01Z", now)


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=st.text(max_size=30) | st.from_regex(r"[0-9]{1,6}d[0-9hms]{0,6}", fullmatch=True)
       | st.datetimes().map(lambda d: d.isoformat()))
def test_any_since_is_a_past_moment_or_a_usage_error(text):
    now = T0.timestamp()
    try:
        moment = audit.parse_since(text, now)
    except UsageError as exc:
        assert exc.exit_code == 2
    else:
        assert moment <= now


def test_a_bad_region_is_refused_before_anything_is_read():
    for bad in ("eu west 1", "-x", "123", "a" * 64, "us-east-1\n"):
        with pytest.raises(UsageError, match="invalid --region"):
            audit.check_region(bad)
    assert audit.check_region("eu-west-1") == "eu-west-1"


def test_a_time_without_offset_is_utc_whatever_tz_says(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        record = json.dumps({"eventTime": "2026-03-01T12:00:00"})
        assert trail.parse({"CloudTrailEvent": record}, "1" * 12, "us-east-1").time == \
            "2026-03-01T12:00:00Z"
        naive = {"CloudTrailEvent": "{}", "EventTime": datetime(2026, 3, 1, 12)}
        assert trail.parse(naive, "1" * 12, "us-east-1").time == "2026-03-01T12:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()
