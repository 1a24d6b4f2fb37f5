"""CloudTrail ``LookupEvents`` (JSON 1.1, ``X-Amz-Target:
com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents``).

Each account and region has its own trail of seeded events; the caller's account is
the one owning the SigV4 access key (``callers`` mapping, then ``resolver``, e.g.
:func:`tests.fakes.moto_keys.moto_caller`; an unknown key is
``UnrecognizedClientException``). Newest first, 90 days kept, one lookup attribute,
``StartTime``/``EndTime``, ``MaxResults`` (1-50, default 50) and ``NextToken`` valid only
for the same query. Throttling is the real ``ThrottlingException: Rate exceeded``, keyed
per account and region (the real limit is 2 per second there).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes import paging
from tests.fakes.base import FakeService, Reply, Request, Route, ServiceError
from tests.fakes.clock import Clock
from tests.fakes.moto_keys import Caller
from tests.fakes.sigv4 import signer
from tests.fakes.trail_events import TrailEvent, assume_role_event

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
JSON11 = "application/x-amz-json-1.1"
ATTRIBUTES: dict[str, Callable[[TrailEvent, str], bool]] = {
    "EventId": lambda e, v: e.event_id == v,
    "EventName": lambda e, v: e.event_name == v,
    "ReadOnly": lambda e, v: str(e.record.get("readOnly", False)).lower() == v.lower(),
    "Username": lambda e, v: e.username == v,
    "EventSource": lambda e, v: e.record.get("eventSource") == v,
    "AccessKeyId": lambda e, v: e.access_key_id == v,
    "ResourceType": lambda e, v: any(r["ResourceType"] == v for r in e.resources),
    "ResourceName": lambda e, v: any(r["ResourceName"] == v for r in e.resources),
}


def _when(value: Any, name: str) -> datetime:
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise ServiceError("InvalidTimeRangeException", f"Invalid {name}") from None


class CloudTrail(FakeService):
    """A fake CloudTrail holding per-account, per-region event history."""

    name = "cloudtrail"
    env_var = "AWS_ENDPOINT_URL_CLOUDTRAIL"

    def __init__(self, clock: Clock | None = None, *,
                 resolver: Callable[[str], Caller | None] | None = None,
                 retention_days: int = 90, **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.callers: dict[str, Caller] = {}
        self.resolver = resolver
        self.retention = timedelta(days=retention_days)
        self.events: list[TrailEvent] = []
        self.denied: set[str] = set()  # account ids, principal ARNs or access keys
        self._events_lock = threading.Lock()

    # seeding
    def add(self, *events: TrailEvent) -> None:
        with self._events_lock:
            self.events.extend(events)

    def assume_role(self, role_arn: str, session_name: str, caller_arn: str, *,
                    when: datetime | None = None, **kwargs: Any) -> TrailEvent:
        """Seed one ``AssumeRole`` event (at the clock's now by default); returns it."""
        event = assume_role_event(role_arn, session_name, caller_arn,
                                  when=when or datetime.fromtimestamp(self.clock(), UTC),
                                  **kwargs)
        self.add(event)
        return event

    def caller(self, access_key: str, account_id: str, arn: str | None = None) -> None:
        """Say which account (and principal) ``access_key`` belongs to."""
        self.callers[access_key] = Caller(account_id, arn)

    def deny(self, who: str) -> None:
        """``AccessDeniedException`` for an account id, principal ARN or access key."""
        self.denied.add(who)

    # protocol
    def route(self, request: Request) -> Route:
        target = request.headers.get("X-Amz-Target", "")
        operation = target[len(TARGET):] if target.startswith(TARGET) else ""
        if request.method != "POST" or request.path != "/" or operation != "LookupEvents":
            raise ServiceError("UnknownOperationException", "")
        who = signer(request.headers)
        return operation, request.json(), who.access_key if who else None

    def error_reply(self, error: ServiceError) -> Reply:
        body = {"__type": error.code, "message": error.message, **error.fields}
        return Reply(error.status, body, {"Content-Type": JSON11})

    def throttle_key(self, operation: str, credential: str | None,
                     request: Request) -> Hashable:
        who = signer(request.headers)
        caller = self.resolve(credential)
        return (caller.account_id if caller else None, who.region if who else None)

    def resolve(self, access_key: str | None) -> Caller | None:
        if not access_key:
            return None
        if access_key in self.callers:
            return self.callers[access_key]
        return self.resolver(access_key) if self.resolver else None

    def serve(self, operation: str, params: dict[str, Any], credential: str | None,
              request: Request) -> Reply:
        who = signer(request.headers)
        if who is None:
            raise ServiceError("MissingAuthenticationTokenException",
                               "Missing Authentication Token")
        caller = self.resolve(who.access_key)
        if caller is None:
            raise ServiceError("UnrecognizedClientException",
                               "The security token included in the request is invalid.")
        if self.denied & {caller.account_id, caller.arn, who.access_key}:
            principal = caller.arn or f"arn:aws:iam::{caller.account_id}:root"
            raise ServiceError(
                "AccessDeniedException",
                f"User: {principal} is not authorized to perform: cloudtrail:LookupEvents "
                "because no identity-based policy allows the cloudtrail:LookupEvents action")
        body = self.lookup(caller.account_id, who.region, params)
        return Reply(200, body, {"Content-Type": JSON11})

    def lookup(self, account_id: str, region: str, p: dict[str, Any]) -> dict[str, Any]:
        now = datetime.fromtimestamp(self.clock(), UTC)
        attrs = p.get("LookupAttributes") or []
        if len(attrs) > 1:
            raise ServiceError("InvalidLookupAttributesException",
                               "You can only specify one lookup attribute")
        for attr in attrs:
            if attr.get("AttributeKey") not in ATTRIBUTES or not attr.get("AttributeValue"):
                raise ServiceError("InvalidLookupAttributesException",
                                   "Invalid lookup attribute key or value")
        start = _when(p["StartTime"], "StartTime") if "StartTime" in p else now - self.retention
        end = _when(p["EndTime"], "EndTime") if "EndTime" in p else now
        if start > end:
            raise ServiceError("InvalidTimeRangeException",
                               "Start time must be earlier than end time")
        size = p.get("MaxResults", 50)
        if not isinstance(size, int) or not 1 <= size <= 50:
            raise ServiceError("InvalidMaxResultsException",
                               "MaxResults must be between 1 and 50")
        oldest = max(start, now - self.retention)
        with self._events_lock:
            found = [e for e in self.events
                     if e.account_id == account_id and e.region == region
                     and oldest <= e.event_time <= min(end, now)
                     and all(ATTRIBUTES[a["AttributeKey"]](e, a["AttributeValue"])
                             for a in attrs)
                     and p.get("EventCategory") != "insight"]
        found.sort(key=lambda e: e.event_time, reverse=True)
        scope = [account_id, region, attrs, p.get("StartTime"), p.get("EndTime"),
                 p.get("EventCategory")]
        try:
            chunk, nxt = paging.page(found, p.get("NextToken"), size, scope)
        except paging.BadToken:
            raise ServiceError("InvalidNextTokenException", "Invalid NextToken") from None
        body: dict[str, Any] = {"Events": [e.lookup() for e in chunk]}
        return body | ({"NextToken": nxt} if nxt else {})
