"""CloudTrail ``LookupEvents`` for ``AssumeRole`` in one account and region (see
docs/architecture.md, Audit and journal).

Event history is per account and region, read with credentials in that account. Every
page is followed (``NextToken``) back to the start time; calls are paced under the
service's limit (2 per second per account and region) and a ``ThrottlingException``
that outlasts botocore's own retries is backed off and tried again. What CloudTrail
says is untrusted text: kept as it is, shown literally by the faces, and a malformed
record still yields an event (an audit never drops one silently).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from profiles.errors import AwsError, RolecallError
from profiles.ops.journal import key_digest

PACE = 0.5  # seconds between calls in one account and region (the limit is 2 per second)
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)  # after botocore's retries, before giving up
MAX_PAGES = 2000  # 100,000 events: past that, stop and say so
THROTTLED = ("ThrottlingException", "Throttling", "TooManyRequestsException")
DENIED = ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation")
EXPIRED = ("UnrecognizedClientException", "ExpiredTokenException", "ExpiredToken",
           "InvalidClientTokenId")
CONFIG = Config(connect_timeout=3, read_timeout=15,
                retries={"max_attempts": 2, "mode": "standard"})


@dataclass
class Event:
    """One ``AssumeRole`` event as CloudTrail recorded it (times ISO 8601 UTC)."""

    time: str
    caller_arn: str  # userIdentity.arn (else the AWS service, else the account)
    role_arn: str
    session_name: str
    source_ip: str
    account_id: str
    known: bool = False  # this machine's journal holds it (see profiles.ops.audit)
    region: str = ""
    error_code: str | None = None  # a denied attempt: AccessDenied, ...
    event_id: str = ""
    moment: float = field(default=0.0, repr=False)
    caller_key: str = field(default="", repr=False)  # journal.key_digest of accessKeyId

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        del data["moment"], data["caller_key"]
        return data


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _iso(moment: float) -> str:
    try:
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):  # a time no calendar holds
        return ""


def _utc(when: datetime) -> datetime:
    """``when``, read as UTC if it names no offset (CloudTrail's times are UTC)."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _moment(record: dict, raw: dict) -> float:
    text = record.get("eventTime")
    if isinstance(text, str):
        try:
            return _utc(datetime.fromisoformat(text)).timestamp()
        except ValueError:
            pass
    when = raw.get("EventTime")
    if isinstance(when, datetime):
        return _utc(when).timestamp()
    return float(when) if isinstance(when, int | float) else 0.0


def parse(raw: dict, account_id: str, region: str) -> Event:
    """An :class:`Event` from one ``Events`` item; fields CloudTrail left out are empty."""
    try:
        record = json.loads(raw.get("CloudTrailEvent") or "{}")
    except (TypeError, ValueError):
        record = {}
    record = record if isinstance(record, dict) else {}
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    params = record.get("requestParameters")
    params = params if isinstance(params, dict) else {}
    role_arn = _text(params.get("roleArn"))
    if not role_arn:  # a record without parameters: the role from the summary's resources
        resources = raw.get("Resources")
        role_arn = next((_text(r.get("ResourceName")) for r in resources
                         if isinstance(r, dict) and r.get("ResourceType") == "AWS::IAM::Role"),
                        "") if isinstance(resources, list) else ""
    moment = _moment(record, raw)
    return Event(
        time=_iso(moment), moment=moment,
        caller_arn=_text(identity.get("arn") or identity.get("invokedBy")
                         or identity.get("accountId")),
        role_arn=role_arn, session_name=_text(params.get("roleSessionName")),
        source_ip=_text(record.get("sourceIPAddress")),
        account_id=_text(record.get("recipientAccountId")) or account_id,
        region=_text(record.get("awsRegion")) or region,
        error_code=_text(record.get("errorCode")) or None,
        event_id=_text(raw.get("EventId") or record.get("eventID")),
        caller_key=key_digest(_text(identity.get("accessKeyId"))),
    )


@dataclass(frozen=True)
class Keys:
    """Credentials in the account whose trail is read (never shown)."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    label: str = ""  # who they are, for messages: the role's name and session ARN


@dataclass
class Lookup:
    """What one account and region gave: its events, and whether paging stopped early."""

    events: list[Event]
    truncated: bool = False


class TrailReader:
    """Reads one account and region's ``AssumeRole`` events; ``sleep`` and ``clock``
    (monotonic) are injectable, so tests see every pause without waiting for it."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 pace: float = PACE, backoff: tuple[float, ...] = BACKOFF,
                 max_pages: int = MAX_PAGES) -> None:
        self.sleep = sleep
        self.clock = clock
        self.pace = pace
        self.backoff = backoff
        self.max_pages = max_pages
        self._last: float | None = None
        self.pauses: list[float] = []  # every back-off slept (not the pacing)

    def lookup(self, keys: Keys, account_id: str, region: str, start: float) -> Lookup:
        """Every ``AssumeRole`` event since ``start`` (epoch seconds), newest first."""
        # lazy: botocore's session (sts) only when CloudTrail is read
        from profiles.sessions import sts

        try:
            client = sts.service_client("cloudtrail", region, keys.access_key,
                                        keys.secret_key, keys.token, config=CONFIG)
        except (BotoCoreError, ValueError) as exc:  # an endpoint setting botocore refuses
            raise explain(exc, keys, account_id, region) from None
        params: dict[str, object] = {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}],
            "StartTime": datetime.fromtimestamp(start, UTC), "MaxResults": 50}
        events: list[Event] = []
        seen: set[str] = set()
        for _ in range(self.max_pages):
            page = self._page(client, params, keys, account_id, region)
            events += [parse(raw, account_id, region) for raw in page.get("Events") or ()
                       if isinstance(raw, dict)]
            token = page.get("NextToken")
            if not token or token in seen:  # the end (or a service that would loop)
                return Lookup(events)
            seen.add(token)
            params["NextToken"] = token
        return Lookup(events, truncated=True)

    def _page(self, client, params: dict, keys: Keys, account_id: str, region: str) -> dict:
        for attempt in range(len(self.backoff) + 1):
            if self._last is not None and (wait := self._last + self.pace - self.clock()) > 0:
                self.sleep(wait)
            self._last = self.clock()
            try:
                return client.lookup_events(**params)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in THROTTLED and attempt < len(self.backoff):
                    pause = self.backoff[attempt] * random.uniform(0.5, 1.0)
                    self.pauses.append(pause)
                    self.sleep(pause)
                    continue
                raise explain(exc, keys, account_id, region, len(self.pauses)) from None
            except BotoCoreError as exc:
                raise explain(exc, keys, account_id, region) from None
        raise AssertionError("unreachable")  # the last attempt returns or raises


def explain(exc: Exception, keys: Keys, account_id: str, region: str,
            backed_off: int = 0) -> RolecallError:
    """One line and a fix for a failed ``LookupEvents``; ``code`` is AWS's."""
    where = f"CloudTrail LookupEvents in account {account_id} ({region})"
    who = f" as {keys.label}" if keys.label else ""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = _text(error.get("Code")) or "Error", _text(error.get("Message"))
        if code in DENIED:
            out = AwsError(
                f"{where} denied{who}: {message}",
                fix=f"the reading role needs cloudtrail:LookupEvents in {account_id}: allow "
                f"it, or set audit_role in the catalog's [accounts.\"{account_id}\"] to a "
                "role that has it")
        elif code in THROTTLED:
            out = AwsError(f"{where} still throttled after {backed_off} back-offs: {message}",
                           fix="try again in a minute, or look at a shorter --since")
        elif code in EXPIRED:
            out = AwsError(f"{where} refused the credentials{who}: {code}: {message}",
                           fix="the session is no longer valid: `rolecall forget` it and "
                           "run again")
        else:
            out = AwsError(f"{where} failed{who}: {code}: {message}")
        out.code = code
        return out
    out = AwsError(f"{where}: CloudTrail unreachable: {exc}",
                   fix="check the network, AWS_ENDPOINT_URL(_CLOUDTRAIL) and the region")
    out.code = type(exc).__name__
    return out
