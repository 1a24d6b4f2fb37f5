"""``rolecall audit`` (see docs/architecture.md, Audit and journal) through the real CLI: the
journal with its filters and
JSON, and ``--cloudtrail`` against the CloudTrail fake (real JSON protocol, SigV4 keys
moto issued), paginated, throttled, one account denied."""

from __future__ import annotations

import configparser
import json
from datetime import UTC, datetime, timedelta

from profiles.ops import journal
from profiles.ops.journal import Entry
from tests.fakes.fixtures import cloudtrail_fake  # noqa: F401
from tests.helpers import MFA_SERIAL, assert_fails, chain_config, ok_json

PROD, DEV = "222222222222", "111111111111"
STRANGER = "arn:aws:iam::999999999999:user/mallory"
CATALOG = f"""\
[accounts."{PROD}"]
alias = "prod"
audit_role = "prod-audit"

[accounts."{DEV}"]
alias = "dev"
"""


def org(world, catalog: str = CATALOG) -> dict[str, str]:
    """base (keys) > prod-deploy, prod-audit (in prod), dev-deploy (in dev)."""
    arns = {"prod-deploy": world.moto.create_role(PROD, "ProdDeploy"),
            "prod-audit": world.moto.create_role(PROD, "Auditor"),
            "dev-deploy": world.moto.create_role(DEV, "DevDeploy")}
    world.write_config("[profile base]\nregion = us-east-1\n\n" + "".join(
        f"[profile {name}]\nrole_arn = {arn}\nsource_profile = base\n\n"
        for name, arn in arns.items()))
    world.catalog.write_text(catalog)
    world.base_profile()
    return arns


def base_key(world) -> str:
    """The access key id of the [base] profile in the credentials file."""
    parser = configparser.RawConfigParser()
    parser.read(world.credentials)
    return parser["base"]["aws_access_key_id"]


def at(minutes_ago: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes_ago)


def record(world, role: str, minutes_ago: float, **fields) -> None:
    fields.setdefault("role_arn", f"arn:aws:iam::{PROD}:role/{role}")
    fields.setdefault("account_id", fields["role_arn"].split(":")[4] if fields["role_arn"]
                      else "")
    assert journal.record(Entry(time=journal.now_iso(at(minutes_ago).timestamp()),
                                action="AssumeRole", role=role, **fields), world.state)


def test_the_journal_newest_first_filtered_and_as_json(world):
    org(world)
    record(world, "prod-deploy", 90, session_name="alice-1", via="run")
    record(world, "dev-deploy", 30, role_arn=f"arn:aws:iam::{DEV}:role/DevDeploy",
           session_name="alice-2", result="denied", error_code="AccessDenied")
    record(world, "prod-deploy", 10, session_name="alice-3", via="board")
    record(world, "gone\x1b[31m", 5, session_name="x")  # a role the config no longer has
    entries = ok_json(world.run("audit", "--json"))["entries"]
    assert [e["session_name"] for e in entries] == ["x", "alice-3", "alice-2", "alice-1"]
    assert set(entries[0]) == {"time", "action", "role", "role_arn", "account_id",
                               "session_name", "caller_arn", "duration", "expires_at",
                               "result", "error_code", "via", "host", "user"}
    assert entries[2]["result"] == "denied" and entries[2]["error_code"] == "AccessDenied"
    only = ok_json(world.run("audit", "--role", "prod-deploy", "--json"))["entries"]
    assert [e["session_name"] for e in only] == ["alice-3", "alice-1"]
    by_alias = ok_json(world.run("audit", "--account", "dev", "--json"))["entries"]
    assert [e["session_name"] for e in by_alias] == ["alice-2"]
    assert ok_json(world.run("audit", "--account", DEV, "--json"))["entries"] == by_alias
    recent = ok_json(world.run("audit", "--since", "45m", "--json"))["entries"]
    assert [e["session_name"] for e in recent] == ["x", "alice-3", "alice-2"]
    since = (at(20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(ok_json(world.run("audit", "--since", since, "--json"))["entries"]) == 2
    table = world.run("audit")
    assert table.returncode == 0 and table.stderr == ""
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["TIME", "(UTC)", "ACTION", "ROLE", "ACCOUNT", "SESSION", "NAME",
                                "RESULT", "VIA"]
    assert "\x1b" not in table.stdout and "gone\\x1b[31m" in lines[1]  # spelled out
    assert "denied (AccessDenied)" in lines[3] and " dev " in lines[3]
    empty = world.run("audit", "--role", "nobody")
    assert empty.returncode == 0 and empty.stdout == "no journal entries for nobody\n"


def test_bad_audit_arguments_are_one_clean_line(world):
    org(world)
    assert_fails(world.run("audit", "--account", "nope"), 2, "unknown account 'nope'")
    assert_fails(world.run("audit", "--since", "yesterday"), 2, "invalid --since")
    assert_fails(world.run("audit", "--region", "eu-west-1"), 2, "--region is for --cloudtrail")
    assert_fails(world.run("audit", "--mfa-code", "123456"), 2, "--mfa-code is for --cloudtrail")
    assert_fails(world.run("audit", "--cloudtrail", "--role", "prod-deploy", "--region",
                           "eu west"), 2, "invalid --region 'eu west'")
    assert_fails(world.run("audit", "--since", "2999-01-01"), 2, "in the future")
    assert_fails(world.run("audit", "--cloudtrail", "--role", "prod-deploy", "--account",
                           "prod"), 2, "not both")
    assert_fails(world.run("audit", "--cloudtrail", "--role", "ghost"), 2, "unknown role")
    world.catalog.write_text(CATALOG.replace('alias = "dev"', 'alias = "dev"\naudit_role = '
                                             '"prod-audit"'))
    assert_fails(world.run("audit", "--cloudtrail", "--account", "dev"), 2,
                 "audit_role 'prod-audit' is in account 222222222222")
    world.catalog.write_text(CATALOG.replace('audit_role = "prod-audit"', 'audit_role = "nope"'))
    assert_fails(world.run("audit", "--cloudtrail"), 2, "audit_role 'nope' cannot be used")
    world.catalog.write_text("")
    assert_fails(world.run("audit", "--cloudtrail"), 2, "which role or account?")


def test_cloudtrail_for_a_role_paged_throttled_and_known(world, cloudtrail_fake):  # noqa: F811
    arns = org(world, CATALOG.replace('audit_role = "prod-audit"\n', ""))
    world.env.update(cloudtrail_fake.env)
    mine = ok_json(world.run("assume", "prod-deploy", "--session-name", "alice-7", "--json"))
    role = arns["prod-deploy"]
    trail = cloudtrail_fake
    assert mine["session_name"] == "alice-7"
    base_user = "arn:aws:iam::000000000000:user/operator"
    key = base_key(world)  # what signed the first hop: the base identity's access key
    known = trail.assume_role(role, "alice-7", base_user, when=at(0.2), source_ip="192.0.2.1",
                              caller_access_key=key)
    # intruders reusing the session name within the 5 minutes: another caller, and the
    # same user through another key (not this machine's call either): neither is known
    trail.assume_role(role, "alice-7", STRANGER, when=at(0.5), source_ip="203.0.113.7")
    trail.assume_role(role, "alice-7", base_user, when=at(0.6), source_ip="203.0.113.8",
                      caller_access_key="AKIAOTHERKEY00000000")
    copied = trail.assume_role(role, "alice-7", STRANGER, when=at(30), source_ip="203.0.113.9")
    for i in range(110):  # three pages of 50
        trail.assume_role(role, f"ci-{i}", STRANGER, when=at(40 + 2 * i))
    trail.assume_role(role, "mallory-try", STRANGER, when=at(35), error_code="AccessDenied")
    trail.assume_role(arns["prod-audit"], "other-role", STRANGER, when=at(1))
    trail.assume_role(role, "too-old", STRANGER, when=at(25 * 60))
    trail.assume_role(role, "elsewhere", STRANGER, when=at(1), region="eu-west-1")
    trail.throttle.fail_next(1)  # botocore's own retry takes it
    got = ok_json(world.run("audit", "--cloudtrail", "--role", "prod-deploy", "--json"))
    events = got["events"]
    assert len(events) == 115  # its role only, 24 hours, us-east-1 (the reading role's)
    first = events[0]
    assert first == {"time": known.record["eventTime"], "caller_arn": base_user,
                     "role_arn": role, "session_name": "alice-7", "source_ip": "192.0.2.1",
                     "account_id": PROD, "known": True, "region": "us-east-1",
                     "error_code": None, "event_id": known.event_id}
    assert [e["known"] for e in events].count(True) == 1  # the intruders' are not
    assert events[1]["session_name"] == "alice-7" and events[1]["caller_arn"] == STRANGER
    assert next(e for e in events if e["session_name"] == "mallory-try")["error_code"] == \
        "AccessDenied"
    assert [e["time"] for e in events] == sorted((e["time"] for e in events), reverse=True)
    calls = trail.calls.of("LookupEvents")
    assert len(calls) == 4 and calls[0].error == "ThrottlingException"
    assert all(c.params["LookupAttributes"] == [{"AttributeKey": "EventName",
                                                 "AttributeValue": "AssumeRole"}] for c in calls)
    assert calls[-1].params.get("NextToken") and calls[-1].credential == \
        _session_key(world, "prod-deploy")  # read through the role itself
    text = json.dumps(got)
    assert not any(secret in text for e in (known, copied) for secret in e.secrets)
    # The journal did not grow: the reading session came from the cache.
    assert [e.session_name for e in journal.entries(world.state)] == ["alice-7"]

    table = world.run("audit", "--cloudtrail", "--role", "prod-deploy", "--since", "45m")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[-1] == "KNOWN" and lines[1].split()[-1] == "yes"
    assert all(line.split()[-1] == "NO" for line in lines[2:-1])
    assert lines[-1].startswith("8 AssumeRole events, 7 not in this machine's journal; "
                                "read in prod (us-east-1) through prod-deploy")
    west = ok_json(world.run("audit", "--cloudtrail", "--role", "prod-deploy", "--region",
                             "eu-west-1", "--json"))
    assert [e["session_name"] for e in west["events"]] == ["elsewhere"]


def _session_key(world, role: str) -> str:
    return ok_json(world.run("process", role))["AccessKeyId"]


def test_cloudtrail_through_audit_roles_with_one_account_denied(world, cloudtrail_fake):  # noqa: F811
    arns = org(world, CATALOG + 'audit_role = "dev-deploy"\n')
    world.env.update(cloudtrail_fake.env)
    trail = cloudtrail_fake
    trail.assume_role(arns["prod-deploy"], "p-1", STRANGER, when=at(3))
    trail.assume_role(arns["prod-audit"], "p-2", STRANGER, when=at(2))
    trail.assume_role(arns["dev-deploy"], "d-1", STRANGER, when=at(1))
    trail.deny(DEV)
    result = world.run("audit", "--cloudtrail", "--json")
    assert result.returncode == 1
    events = json.loads(result.stdout)["events"]
    assert [e["session_name"] for e in events] == ["p-2", "p-1"]  # every event of prod
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"rolecall: CloudTrail LookupEvents in account {DEV} "
                               "(us-east-1) denied as dev-deploy (arn:aws:sts::")
    assert "cloudtrail:LookupEvents" in lines[0] and lines[1].startswith("  fix: ")
    assert "cloudtrail:LookupEvents" in lines[1] and f'[accounts."{DEV}"]' in lines[1] \
        and "audit_role" in lines[1] and len(lines) == 2
    keys = {c.credential for c in trail.calls.of("LookupEvents")}
    assert keys == {_session_key(world, "prod-audit"), _session_key(world, "dev-deploy")}
    vias = {(e.role, e.via) for e in journal.entries(world.state)}
    assert vias == {("prod-audit", "cli"), ("dev-deploy", "cli")}  # assumed to read, journaled
    alias = ok_json(world.run("audit", "--cloudtrail", "--account", "prod", "--json"))
    assert [e["session_name"] for e in alias["events"]] == ["p-2", "p-1"]
    trail.calls.clear()
    role = ok_json(world.run("audit", "--cloudtrail", "--role", "prod-deploy", "--json"))
    assert [e["session_name"] for e in role["events"]] == ["p-1"]  # through its audit_role:
    assert {c.credential for c in trail.calls} == {_session_key(world, "prod-audit")}
    assert "prod-deploy" not in {e.role for e in journal.entries(world.state)}  # not assumed
    alone = world.run("audit", "--cloudtrail", "--account", "dev")
    assert_fails(alone, 1, "cloudtrail:LookupEvents", "audit_role")


def test_the_journal_names_the_key_that_signed_every_hop(world):
    """A first hop is signed by the base identity's key, an MFA session's hops by that
    session's, a chained hop by its parent's: the journal keeps a digest of each (never
    the key id), which is what CloudTrail's accessKeyId is compared with."""
    from profiles.sessions.cache import SessionCache

    chain_config(world, f"\n[profile m1]\nrole_arn = arn:aws:iam::111111111111:role/Hop1\n"
                        f"source_profile = base\nmfa_serial = {MFA_SERIAL}\n")
    assert world.run("assume", "hop2").returncode == 0
    assert world.run("assume", "m1", "--mfa-code", "123456").returncode == 0
    entries = {(e.action, e.role): e for e in journal.entries(world.state)}
    base = journal.key_digest(base_key(world))
    assert entries[("AssumeRole", "hop1")].caller_key == base
    assert entries[("GetSessionToken", "mfa:" + MFA_SERIAL)].caller_key == base
    hop1 = next(s for s in SessionCache().sessions() if s.role == "hop1")
    hop2 = entries[("AssumeRole", "hop2")]  # signed by hop1's session
    assert hop2.caller_arn == hop1.arn and hop2.caller_key not in ("", base)
    m1 = entries[("AssumeRole", "m1")]  # signed by the MFA session's key
    assert m1.caller_key not in ("", base, hop2.caller_key)
    assert base_key(world) not in (world.state / journal.NAME).read_text()
