"""SSO roles are roles like any other (see docs/architecture.md, IAM Identity Center):
GetRoleCredentials with the
session's token gives the session (keyring-cached, journaled), a catalog role may use
one as its source (the chained hop then follows the 1-hour rule), and the CLI's
`assume`, `process` (fast path), `exec` and `list` work on them; a missing or expired
login says `rolecall sso login NAME` (exit 1)."""

from __future__ import annotations

import time

import boto3
import pytest

from profiles.errors import AwsError, UsageError
from profiles.estate.tokens import LoginRequired
from profiles.ops import journal
from tests.fakes import reserved_role_name
from tests.fakes.base import ServiceError
from tests.helpers import assert_fails, ok_json
from tests.sso_world import corp, identity  # noqa: F401

CHAINED = ('[roles.deploy]\nrole_arn = "arn:aws:iam::222222222222:role/Deploy"\n'
           'source = "prod/ReadOnly"\n')


@pytest.fixture
def listed(corp, identity):  # noqa: F811
    """corp logged in (no device flow) and its roles listed."""
    corp.log_in()
    corp.sync()
    return corp


def test_an_sso_role_is_assumed_with_get_role_credentials(listed, identity, moto):  # noqa: F811
    ws = listed.workspace()
    first = ws.assume("prod/AdministratorAccess")
    assert first.cached == [False]
    creds = first.session.credentials
    issued = identity.center.issued[-1]
    assert creds.access_key_id == issued.access_key_id
    call = identity.fakes.portal.calls.of("GetRoleCredentials")[-1]
    assert call.params == {"accountId": "111111111111", "roleName": "AdministratorAccess"}
    assert first.session.arn == "arn:aws:iam::111111111111:role/AdministratorAccess"
    again = listed.workspace().assume("prod/AdministratorAccess")  # from the keyring
    assert again.cached == [True] and identity.fakes.portal.calls.count(
        "GetRoleCredentials") == 1
    entry = journal.entries()[-1]
    assert (entry.action, entry.role, entry.account_id, entry.result) == (
        "GetRoleCredentials", "prod/AdministratorAccess", "111111111111", "ok")
    assert creds.secret_access_key not in journal.path().read_text()
    row = next(r for r in ws.rows() if r.name == "prod/AdministratorAccess")
    assert row.chain == ("sso:corp", "prod/AdministratorAccess")
    assert (row.account.alias, row.role_name) == ("prod", "AdministratorAccess")


def test_a_catalog_role_chains_from_an_sso_role(listed, identity, moto):  # noqa: F811
    moto.create_role("222222222222", "Deploy")
    listed.world.catalog.write_text(CHAINED)
    ws = listed.workspace()
    assert ws.engine.plan("deploy").labels == ("sso:corp", "prod/ReadOnly", "deploy")
    assert ws.engine.max_duration("deploy") == 3600  # chained: the 1-hour rule
    with pytest.raises(UsageError, match="1 hour session limit"):
        ws.assume("deploy", duration="2h")
    result = ws.assume("deploy")
    assert [h.role for h in result.hops] == ["prod/ReadOnly", "deploy"]
    assert result.session.arn.startswith("arn:aws:sts::222222222222:assumed-role/Deploy/")
    # moto stamps the expiry by the wall clock (the fake clock stands still)
    assert result.session.params["duration"] <= 3600
    assert result.session.expires_at.timestamp() - time.time() <= 3600
    sso, hop = journal.entries()
    assert (sso.action, hop.action) == ("GetRoleCredentials", "AssumeRole")
    assert hop.caller_arn == "arn:aws:iam::111111111111:role/ReadOnly"  # signed by it
    keys = result.hops[0].credentials
    who = boto3.client("sts", endpoint_url=moto.url, region_name="us-east-1",
                       aws_access_key_id=keys.access_key_id,
                       aws_secret_access_key=keys.secret_access_key,
                       aws_session_token=keys.session_token).get_caller_identity()
    assert reserved_role_name("111111111111", "ReadOnly") in who["Arn"]  # the SSO role


def test_explicit_options_an_sso_role_cannot_take_are_refused(listed):
    ws = listed.workspace()
    for option in ({"duration": "2h"}, {"session_name": "me"}, {"external_id": "xyzxyzxyz"}):
        with pytest.raises(UsageError, match="permission set decides"):
            ws.assume("prod/ReadOnly", **option)


def test_an_unassigned_role_is_a_denial_with_a_fix(listed, identity):  # noqa: F811
    identity.center.unassign(identity.center.user, "111111111111", "Billing")
    with pytest.raises(AwsError) as exc:
        listed.workspace().assume("prod/Billing")
    assert "does not assign Billing in 111111111111" in exc.value.message
    assert "rolecall sso sync" in exc.value.fix and exc.value.exit_code == 1
    entry = journal.entries()[-1]
    assert (entry.result, entry.error_code) == ("denied", "ForbiddenException")


def test_a_token_the_portal_refuses_means_logging_in(listed, identity):  # noqa: F811
    identity.center.expire()  # the portal's clock says it is over; ours does not
    with pytest.raises(LoginRequired) as exc:
        listed.workspace().assume("dev/ReadOnly")
    assert exc.value.session == "corp" and exc.value.fix == "run `rolecall sso login corp`"
    assert journal.entries()[-1].error_code == "UnauthorizedException"


def test_the_cli_on_sso_roles(listed, identity):  # noqa: F811
    world = listed.world
    listed.world.catalog.write_text(CHAINED)
    identity.fakes.portal.fail_next("GetRoleCredentials", ServiceError(
        "TooManyRequestsException", "HTTP 429 Unknown Code", 429))  # botocore retries it
    out = ok_json(world.run("assume", "staging/ReadOnly", "--json"))
    assert out["assumed_role_arn"] == "arn:aws:iam::222222222222:role/ReadOnly"
    process = ok_json(world.run("process", "staging/ReadOnly"))  # the fast path's hit
    assert process["AccessKeyId"] == identity.center.issued[-1].access_key_id
    calls = identity.fakes.portal.calls.count("GetRoleCredentials")
    run = world.run("exec", "staging/ReadOnly", "--", "sh", "-c",
                    'test -n "$AWS_SESSION_TOKEN" && echo "$ROLECALL_ROLE"')
    assert run.returncode == 0 and run.stdout == "staging/ReadOnly\n", run.stderr
    assert identity.fakes.portal.calls.count("GetRoleCredentials") == calls
    rows = {r["name"]: r for r in ok_json(world.run("list", "--json"))}
    assert rows["staging/ReadOnly"]["state"] == "active"
    assert rows["deploy"]["chain"] == ["sso:corp", "prod/ReadOnly", "deploy"]
    assert len([n for n in rows if "/" in n]) == 9


def test_an_expired_login_says_run_sso_login(corp, identity):  # noqa: F811
    corp.log_in()
    corp.sync()
    corp.log_in(expires_in=-10)  # what is in the keyring now: a login that has ended
    err = assert_fails(corp.world.run("assume", "prod/ReadOnly"), 1,
                       "IAM Identity Center session 'corp' has expired",
                       "fix: run `rolecall sso login corp`")
    assert "Traceback" not in err
    from profiles.estate.tokens import TokenStore
    from profiles.sessions.cache import SessionCache

    TokenStore.of(SessionCache()).drop("corp")
    assert_fails(corp.world.run("assume", "prod/ReadOnly"), 1, "'corp' is not logged in",
                 "rolecall sso login corp")


def test_doctor_on_sso_roles_explains_without_guessing(listed, moto):
    """A role assumed from an SSO role: its caller is the SSO role's session (the
    permission set's AWSReservedSSO role); an SSO role itself is no trust question."""
    from profiles.trust.doctor import diagnose

    moto.create_role("222222222222", "Deploy")
    listed.world.catalog.write_text(CHAINED)
    ws = listed.workspace()
    with pytest.raises(UsageError, match="assignment to you does"):
        diagnose(ws, "prod/ReadOnly")
    report = diagnose(ws, "deploy").to_json()
    hop, = report["hops"]
    assert reserved_role_name("111111111111", "ReadOnly") in hop["caller"]
    checks = {c["check"]: c["result"] for c in hop["checks"]}
    assert checks["trust"] == "pass" and checks["duration"] == "pass"
