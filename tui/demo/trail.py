"""The demo's CloudTrail: ``LookupEvents`` over what the sandbox's STS did.

Every ``AssumeRole`` the sandbox answers (or refuses) is recorded as CloudTrail records
it: an event in the role's account and in the region the call was signed for, with the
caller (``userIdentity``), the role, the session name and the source address. The world
adds a few events of its own, by callers this machine never was, so that ``rolecall audit
--cloudtrail`` and the board's audit page have someone else to show.

``LookupEvents`` speaks JSON 1.1 (``X-Amz-Target: com.amazonaws.cloudtrail.v20131101.
CloudTrail_20131101.LookupEvents``): the caller's account is the one owning the signing
key, events newest first, one lookup attribute, ``StartTime``/``EndTime``, ``MaxResults``
(1 to 50) and ``NextToken``. No secret of a new session is kept in an event.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
JSON11 = "application/x-amz-json-1.1"
CREDENTIAL = re.compile(r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")


@dataclass(frozen=True)
class Signer:
    """Who signed a request (from its SigV4 ``Authorization``; the signature is moto's
    business, not the demo's)."""

    access_key: str
    region: str
    service: str


def signer(authorization: str) -> Signer | None:
    match = CREDENTIAL.search(authorization or "")
    return Signer(match["key"], match["region"], match["service"]) if match else None


@dataclass(frozen=True)
class Event:
    """One ``AssumeRole`` event in one account's history."""

    moment: float
    account_id: str  # the role's account: whose trail holds it
    region: str
    role_arn: str
    session_name: str
    caller_arn: str
    caller_key: str
    source_ip: str
    error_code: str | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def lookup(self) -> dict[str, Any]:
        """The ``Events`` item ``LookupEvents`` answers with."""
        when = datetime.fromtimestamp(self.moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts = self.caller_arn.split(":", 5)
        kind = "IAMUser" if ":user/" in self.caller_arn else "AssumedRole"
        record: dict[str, Any] = {
            "eventVersion": "1.08", "eventID": self.event_id, "eventTime": when,
            "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
            "awsRegion": self.region, "sourceIPAddress": self.source_ip,
            "userAgent": "rolecall-demo", "eventType": "AwsApiCall", "readOnly": True,
            "managementEvent": True, "recipientAccountId": self.account_id,
            "userIdentity": {"type": kind, "arn": self.caller_arn,
                             "accountId": parts[4] if len(parts) == 6 else "",
                             "accessKeyId": self.caller_key},
            "requestParameters": {"roleArn": self.role_arn,
                                  "roleSessionName": self.session_name},
            "responseElements": None,  # the new session's keys: never kept here
        }
        if self.error_code:
            record["errorCode"] = self.error_code
            record["errorMessage"] = (f"User: {self.caller_arn} is not authorized to perform: "
                                      f"sts:AssumeRole on resource: {self.role_arn}")
        return {"EventId": self.event_id, "EventName": "AssumeRole", "ReadOnly": "true",
                "EventTime": self.moment, "EventSource": "sts.amazonaws.com",
                "AccessKeyId": self.caller_key,
                "Username": self.caller_arn.rsplit("/", 1)[-1],
                "Resources": [{"ResourceType": "AWS::IAM::Role",
                               "ResourceName": self.role_arn}],
                "CloudTrailEvent": json.dumps(record)}


class TrailError(Exception):
    """An error answer: CloudTrail's code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def moto_caller(access_key: str) -> tuple[str, str] | None:
    """(account id, principal ARN) of a key the sandbox's moto issued, else None."""
    # lazy: moto's backends live in this process only while the demo runs
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for account_id, account in list(iam_backends.items()):
        key = account["aws"].access_keys.get(access_key)
        if key is None:
            continue
        if key.role_arn:
            role = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(access_key)
            return (account_id, role.arn) if role else None
        return account_id, f"arn:aws:iam::{account_id}:user/{key.user_name}"
    return None


class Trail:
    """Every account's ``AssumeRole`` history; ``clock`` gives epoch seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.events: list[Event] = []
        self.session_keys: dict[str, str] = {}  # GetSessionToken key -> its user's ARN
        self._lock = threading.Lock()

    def caller(self, access_key: str) -> tuple[str, str] | None:
        if arn := self.session_keys.get(access_key):
            return arn.split(":")[4], arn
        return moto_caller(access_key)

    def add(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def assumed(self, role_arn: str, session_name: str, who: Signer, source_ip: str,
                error_code: str | None = None) -> None:
        """Record an ``AssumeRole`` the sandbox's STS answered (or refused)."""
        if role_arn.count(":") < 5:
            return
        found = self.caller(who.access_key)
        self.add(Event(self.clock(), role_arn.split(":")[4], who.region, role_arn,
                       session_name, found[1] if found else "", who.access_key, source_ip,
                       error_code))

    def lookup_events(self, params: dict[str, Any], who: Signer | None) -> dict[str, Any]:
        """The answer to one ``LookupEvents``, or :class:`TrailError`."""
        if who is None:
            raise TrailError("MissingAuthenticationTokenException",
                             "Missing Authentication Token")
        found = self.caller(who.access_key)
        if found is None:
            raise TrailError("UnrecognizedClientException",
                             "The security token included in the request is invalid.")
        attrs = params.get("LookupAttributes") or []
        if len(attrs) > 1:
            raise TrailError("InvalidLookupAttributesException",
                             "You can only specify one lookup attribute")
        wanted = {"EventName": "AssumeRole", "ResourceName": None}
        for attr in attrs:
            if attr.get("AttributeKey") not in wanted or not attr.get("AttributeValue"):
                raise TrailError("InvalidLookupAttributesException",
                                 "Invalid lookup attribute key or value")
        now = self.clock()
        start, end = _when(params.get("StartTime"), now - 90 * 86400), \
            _when(params.get("EndTime"), now)
        size = params.get("MaxResults", 50)
        if not isinstance(size, int) or not 1 <= size <= 50:
            raise TrailError("InvalidMaxResultsException", "MaxResults must be between 1 and 50")
        with self._lock:
            events = [e for e in self.events if e.account_id == found[0]
                      and e.region == who.region and start <= e.moment <= end
                      and all(_matches(e, a) for a in attrs)]
        events.sort(key=lambda e: e.moment, reverse=True)
        try:
            offset = int(params.get("NextToken") or 0)
        except ValueError:
            raise TrailError("InvalidNextTokenException", "Invalid NextToken") from None
        page = events[offset:offset + size]
        out: dict[str, Any] = {"Events": [e.lookup() for e in page]}
        if offset + size < len(events):
            out["NextToken"] = str(offset + size)
        return out


def _matches(event: Event, attr: dict[str, str]) -> bool:
    value = attr["AttributeValue"]
    return value == "AssumeRole" if attr["AttributeKey"] == "EventName" \
        else value == event.role_arn


def _when(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise TrailError("InvalidTimeRangeException", "Invalid time") from None


def answer(trail: Trail, operation: str, body: bytes, authorization: str) -> tuple[int, bytes]:
    """HTTP status and JSON body for one CloudTrail request."""
    try:
        if operation != "LookupEvents":
            raise TrailError("UnknownOperationException", f"{operation} is not served "
                             "by the demo")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise TrailError("SerializationException", "Malformed JSON body") from None
        if not isinstance(params, dict):
            raise TrailError("SerializationException", "The body is not a JSON object")
        return 200, json.dumps(trail.lookup_events(params, signer(authorization))).encode()
    except TrailError as exc:
        return exc.status, json.dumps({"__type": exc.code, "message": exc.message}).encode()
