"""STS behaviour moto lacks, through botocore's Stubber on a real STS client: the exact
error wording becomes one line (plus a fix) with exit status 1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from profiles.errors import AwsError, RolecallError
from profiles.sessions import sts

ROLE = "arn:aws:iam::222222222222:role/ProductionDeployRole"
SERIAL = "arn:aws:iam::000000000000:mfa/me"


@pytest.fixture
def client():
    session = botocore.session.Session()
    sts_client = session.create_client(
        "sts", region_name="us-east-1", aws_access_key_id="AKIAX",
        aws_secret_access_key="x", endpoint_url="http://127.0.0.1:9")
    with Stubber(sts_client) as stubber:
        yield sts_client, stubber
        stubber.assert_no_pending_responses()


def credentials(hours: float = 1) -> dict:
    return {"AccessKeyId": "ASIASTUBEXAMPLE01", "SecretAccessKey": "s" * 40,
            "SessionToken": "t" * 60,
            "Expiration": datetime.now(UTC) + timedelta(hours=hours)}


def fail(client, code: str, message: str, **kwargs) -> AwsError:
    sts_client, stubber = client
    stubber.add_client_error("assume_role", service_error_code=code, service_message=message,
                             http_status_code=400 if code != "AccessDenied" else 403)
    with pytest.raises(AwsError) as caught:
        sts.assume_role(sts_client, role_arn=ROLE, session_name="me-1", duration=7200,
                        caller="arn:aws:iam::000000000000:user/me", **kwargs)
    error = caught.value
    assert error.exit_code == 1
    assert "\n" not in error.message and error.message
    return error


def test_duration_over_max_session_duration(client):
    error = fail(client, "ValidationError", "The requested DurationSeconds exceeds the "
                 "MaxSessionDuration set for this role.")
    assert "exceeds the MaxSessionDuration" in error.message
    assert "--duration" in error.fix


def test_duration_over_chaining_limit(client):
    error = fail(client, "ValidationError", "The requested DurationSeconds exceeds the 1 hour "
                 "session limit for roles assumed by role chaining.")
    assert "1 hour session limit" in error.message and "--duration" in error.fix


def test_access_denied_names_both_sides(client):
    error = fail(client, "AccessDenied", "User: arn:aws:iam::000000000000:user/me is not "
                 f"authorized to perform: sts:AssumeRole on resource: {ROLE}")
    assert error.message.startswith(f"AssumeRole {ROLE} denied as arn:aws:iam::")
    assert "trust policy" in error.fix and "sts:AssumeRole" in error.fix


def test_expired_token_says_refresh(client):
    error = fail(client, "ExpiredToken", "The security token included in the request is "
                 "expired")
    assert "ExpiredToken" in error.message and "--refresh" in error.fix


def test_throttling(client):
    error = fail(client, "Throttling", "Rate exceeded")
    assert "throttled" in error.message and "Rate exceeded" in error.message


def test_other_client_error_keeps_code_and_message(client):
    error = fail(client, "RegionDisabledException", "STS is not activated in this region")
    assert "RegionDisabledException" in error.message and "not activated" in error.message


def test_get_session_token_denied(client):
    sts_client, stubber = client
    stubber.add_client_error("get_session_token", "AccessDenied",
                             "MultiFactorAuthentication failed with invalid MFA one time pass "
                             "code.", http_status_code=403)
    with pytest.raises(AwsError, match="GetSessionToken with MFA .* denied"):
        sts.get_session_token(sts_client, duration=43200, serial=SERIAL, code="000000")


def test_direct_mode_sends_serial_and_code(client):
    sts_client, stubber = client
    stubber.add_response("assume_role", {
        "Credentials": credentials(4),
        "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:me-1",
                            "Arn": "arn:aws:sts::222222222222:assumed-role/P/me-1"},
    }, expected_params={"RoleArn": ROLE, "RoleSessionName": "me-1", "DurationSeconds": 14400,
                        "ExternalId": "ext", "SerialNumber": SERIAL, "TokenCode": "123456"})
    issued = sts.assume_role(sts_client, role_arn=ROLE, session_name="me-1", duration=14400,
                             external_id="ext", serial=SERIAL, code="123456")
    assert issued.arn.endswith("assumed-role/P/me-1")
    assert issued.credentials.access_key_id == "ASIASTUBEXAMPLE01"
    assert issued.credentials.expiration.tzinfo is not None


def test_session_mode_sends_serial_and_code_to_get_session_token(client):
    sts_client, stubber = client
    stubber.add_response("get_session_token", {"Credentials": credentials(12)},
                         expected_params={"DurationSeconds": 43200, "SerialNumber": SERIAL,
                                          "TokenCode": "123456"})
    issued = sts.get_session_token(sts_client, duration=43200, serial=SERIAL, code="123456")
    assert issued.arn == SERIAL


def test_unreachable_and_unknown_failures_are_one_line():
    unreachable = sts.explain(EndpointConnectionError(endpoint_url="http://127.0.0.1:1/"),
                              f"AssumeRole {ROLE}")
    assert isinstance(unreachable, AwsError) and unreachable.exit_code == 1
    assert "unreachable" in unreachable.message and "AWS_ENDPOINT_URL" in unreachable.fix
    odd = sts.explain(ValueError("boom"), "AssumeRole x")
    assert odd.exit_code == 1 and odd.message == "AssumeRole x failed: ValueError: boom"
    passthrough = RolecallError("already explained")
    assert sts.explain(passthrough, "x") is passthrough
