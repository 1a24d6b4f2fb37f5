"""CloudTrail events as the service stores them, built the way real ones look.

``assume_role_event(...)`` makes an ``AssumeRole`` management event: the
``CloudTrailEvent`` JSON string (``userIdentity``, ``requestParameters.roleArn`` and
``roleSessionName``, ``sourceIPAddress``, ``eventTime``, ``recipientAccountId``,
``responseElements`` with the new session's key and token) and the ``LookupEvents``
summary fields (``Username``, ``AccessKeyId``, ``Resources``).
"""

from __future__ import annotations

import json
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass
class TrailEvent:
    event_name: str
    event_time: datetime
    account_id: str  # the account whose trail holds it (recipientAccountId)
    region: str
    record: dict[str, Any]  # what CloudTrailEvent carries, as a dict
    username: str | None = None
    access_key_id: str | None = None
    resources: list[dict[str, str]] = field(default_factory=list)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secrets: list[str] = field(default_factory=list)  # values no client may show

    def lookup(self) -> dict[str, Any]:
        """The ``Event`` shape ``LookupEvents`` answers (times as epoch seconds)."""
        event: dict[str, Any] = {
            "EventId": self.event_id, "EventName": self.event_name,
            "ReadOnly": str(self.record.get("readOnly", False)).lower(),
            "EventTime": self.event_time.timestamp(),
            "EventSource": self.record.get("eventSource", ""),
            "Resources": self.resources,
            "CloudTrailEvent": json.dumps(self.record | {"eventID": self.event_id}),
        }
        if self.access_key_id:
            event["AccessKeyId"] = self.access_key_id
        if self.username:
            event["Username"] = self.username
        return event


def _id(prefix: str, n: int = 17) -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits)
                            for _ in range(n))


def _time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_identity(caller_arn: str, access_key_id: str | None,
                  when: datetime) -> tuple[dict[str, Any], str | None]:
    """CloudTrail's ``userIdentity`` for an ARN, and the ``Username`` lookup shows."""
    parts = caller_arn.split(":", 5)
    account, resource = (parts[4], parts[5]) if len(parts) == 6 else ("", caller_arn)
    base: dict[str, Any] = {"arn": caller_arn, "accountId": account}
    if access_key_id:
        base["accessKeyId"] = access_key_id
    if resource.startswith("user/"):
        name = resource.rsplit("/", 1)[-1]
        return {"type": "IAMUser", "principalId": _id("AIDA"), **base, "userName": name}, name
    if resource.startswith("assumed-role/"):
        _, role, session = resource.split("/", 2)
        role_id = _id("AROA")
        issuer = {"type": "Role", "principalId": role_id, "accountId": account,
                  "arn": f"arn:aws:iam::{account}:role/{role}", "userName": role}
        context = {"sessionIssuer": issuer, "attributes": {
            "creationDate": _time(when - timedelta(minutes=5)), "mfaAuthenticated": "false"}}
        return {"type": "AssumedRole", "principalId": f"{role_id}:{session}", **base,
                "sessionContext": context}, session
    if resource == "root":
        return {"type": "Root", "principalId": account, **base}, "root"
    return {"type": "AWSAccount", "principalId": caller_arn, **base}, None


def trail_event(event_name: str, *, account_id: str, caller_arn: str,
                when: datetime, region: str = "us-east-1", source: str = "sts.amazonaws.com",
                source_ip: str = "198.51.100.7", caller_access_key: str | None = None,
                request: dict[str, Any] | None = None, response: dict[str, Any] | None = None,
                error_code: str | None = None, read_only: bool = True,
                user_agent: str = "aws-cli/1.32.0 Python/3.11.7 Linux/6.1 botocore/1.34.0",
                resources: list[dict[str, str]] | None = None) -> TrailEvent:
    """Any management event (e.g. ``GetSessionToken``, ``ConsoleLogin``)."""
    key = caller_access_key or _id("ASIA", 16)
    identity, username = user_identity(caller_arn, key, when)
    record: dict[str, Any] = {
        "eventVersion": "1.08", "userIdentity": identity, "eventTime": _time(when),
        "eventSource": source, "eventName": event_name, "awsRegion": region,
        "sourceIPAddress": source_ip, "userAgent": user_agent,
        "requestParameters": request, "responseElements": response,
        "requestID": str(uuid.uuid4()), "readOnly": read_only, "eventType": "AwsApiCall",
        "managementEvent": True, "recipientAccountId": account_id,
        "eventCategory": "Management"}
    if error_code:
        record["errorCode"] = error_code
        record["errorMessage"] = f"User: {caller_arn} is not authorized to perform: " \
            f"{source.split('.')[0]}:{event_name}"
    return TrailEvent(event_name, when.astimezone(UTC), account_id, region, record,
                      username, key, resources or [])


def assume_role_event(role_arn: str, session_name: str, caller_arn: str, *,
                      when: datetime, source_ip: str = "198.51.100.7",
                      region: str = "us-east-1", caller_access_key: str | None = None,
                      duration: int = 3600, error_code: str | None = None,
                      account_id: str | None = None, **kwargs: Any) -> TrailEvent:
    """An ``AssumeRole`` event as the role's account (default) records it."""
    role_account = role_arn.split(":")[4]
    role_name = role_arn.rsplit("/", 1)[-1]
    request = {"roleArn": role_arn, "roleSessionName": session_name,
               "durationSeconds": duration}
    response = None
    secret_values: list[str] = []
    resources = [{"ResourceType": "AWS::IAM::Role", "ResourceName": role_arn}]
    if not error_code:
        new_key, token = _id("ASIA", 16), "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(180)
        role_id = _id("AROA")
        expires = when + timedelta(seconds=duration)
        response = {
            "credentials": {"accessKeyId": new_key, "sessionToken": token,
                            "expiration": expires.strftime("%b %-d, %Y, %-I:%M:%S %p")},
            "assumedRoleUser": {
                "assumedRoleId": f"{role_id}:{session_name}",
                "arn": f"arn:aws:sts::{role_account}:assumed-role/{role_name}/{session_name}"}}
        secret_values.append(token)
        resources = [{"ResourceType": "AWS::IAM::AccessKey", "ResourceName": new_key},
                     {"ResourceType": "AWS::STS::AssumedRole", "ResourceName": session_name},
                     {"ResourceType": "AWS::STS::AssumedRole",
                      "ResourceName": f"{role_id}:{session_name}"}, *resources]
    event = trail_event("AssumeRole", account_id=account_id or role_account,
                        caller_arn=caller_arn, when=when, region=region, source_ip=source_ip,
                        caller_access_key=caller_access_key, request=request,
                        response=response, error_code=error_code, resources=resources,
                        **kwargs)
    if not error_code:
        event.record["resources"] = [{"accountId": role_account, "type": "AWS::IAM::Role",
                                      "ARN": role_arn}]
        event.record["sharedEventID"] = str(uuid.uuid4())
    event.secrets = secret_values
    return event
