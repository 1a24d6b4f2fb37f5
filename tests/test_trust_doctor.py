"""``rolecall doctor`` against moto: IAM, Organizations and STS are real HTTP, and since
moto enforces no trust, every verdict is doctor's own local evaluation."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.helpers import assert_fails


def _account() -> str:
    return str(10**11 + uuid.uuid4().int % (9 * 10**11))


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trusts(principal: str, **condition) -> dict:
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


def allow_assume(resource: str = "*") -> str:
    return _doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": resource})


class Estate:
    """A base IAM user in its own account, and roles in fresh accounts: nothing shared
    with other tests on the session's moto server."""

    def __init__(self, world) -> None:
        self.world = world
        self.moto = world.moto
        self.home = _account()
        self.user = f"alice-{uuid.uuid4().hex[:6]}"
        key, secret = self.moto.create_user_keys(self.home, self.user)
        world.write_credentials(f"[base]\naws_access_key_id = {key}\n"
                                f"aws_secret_access_key = {secret}\n")
        self.user_arn = f"arn:aws:iam::{self.home}:user/{self.user}"
        self.profiles = ["[profile base]\nregion = us-east-1\n"]

    def user_policy(self, document: str, name: str = "assume") -> None:
        self.moto.client("iam", self.home).put_user_policy(
            UserName=self.user, PolicyName=name, PolicyDocument=document)

    def role(self, profile: str, account: str, name: str, trust: str, *, source: str = "base",
             max_session: int = 3600, policy: str | None = None, extra: str = "") -> str:
        arn = self.moto.create_role(account, name, trust, max_session=max_session)
        if policy:
            self.moto.client("iam", account).put_role_policy(
                RoleName=name, PolicyName="assume", PolicyDocument=policy)
        self.profiles.append(f"[profile {profile}]\nrole_arn = {arn}\n"
                             f"source_profile = {source}\n{extra}")
        self.world.write_config("\n".join(self.profiles))
        return arn

    def reader(self, account: str) -> None:
        """A read-only role in ``account``: what doctor reads a role's trust policy through."""
        self.role(f"reader-{account}", account, "ReadOnly", _doc(trusts(self.user_arn)))

    def doctor(self, *args: str) -> tuple[int, dict]:
        proc = self.world.run("doctor", *args, "--json")
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc.returncode, json.loads(proc.stdout)


def checks(hop: dict) -> dict[str, dict]:
    return {c["check"]: c for c in hop["checks"]}


@pytest.fixture
def estate(world) -> Estate:
    return Estate(world)


def test_allowed_chain_passes_every_check(estate):
    a, b = _account(), _account()
    estate.user_policy(allow_assume())
    ci = estate.role("ci", a, "CIPipeline", _doc(trusts(estate.user_arn)),
                     policy=allow_assume(f"arn:aws:iam::{b}:role/Deploy"))
    estate.role("deploy", b, "Deploy", _doc(trusts(ci)), source="ci")
    estate.reader(b)
    code, report = estate.doctor("deploy")
    assert code == 0, report
    assert report["role"] == "deploy" and report["verdict"] == "allowed"
    assert [h["role"] for h in report["hops"]] == ["ci", "deploy"]
    for hop in report["hops"]:
        assert hop["verdict"] == "allowed"
        assert [c["check"] for c in hop["checks"]] == [
            "trust", "identity", "external_id", "mfa", "duration", "org"]
        assert all(c["result"] == "pass" and c["fix"] is None for c in hop["checks"]), hop
    assert report["hops"][1]["caller"].startswith(f"arn:aws:sts::{a}:assumed-role/CIPipeline/")
    assert {c["check"] for c in report["not_evaluated"]} == {"scp", "rcp", "session_policy"}
    assert all(c["result"] == "unknown" for c in report["not_evaluated"])


def test_trust_denied_names_the_caller_and_the_fix(estate):
    a, b = _account(), _account()
    estate.user_policy(allow_assume())
    ci = estate.role("ci", a, "CIPipeline", _doc(trusts(estate.user_arn)),
                     policy=allow_assume())
    estate.role("deploy", b, "Deploy", _doc(trusts(f"arn:aws:iam::{a}:role/Other")),
                source="ci")
    estate.reader(b)
    code, report = estate.doctor("deploy")
    assert code == 1 and report["verdict"] == "denied"
    first, second = report["hops"]
    assert first["verdict"] == "allowed" and second["verdict"] == "denied"
    trust = checks(second)["trust"]
    assert trust["result"] == "fail"
    assert f"arn:aws:sts::{a}:assumed-role/CIPipeline/" in trust["detail"]
    assert f"arn:aws:iam::{a}:role/Other" in trust["detail"]
    assert ci in trust["fix"] and "Principal" in trust["fix"]
    plain = estate.world.run("doctor", "deploy")
    assert plain.returncode == 1 and plain.stdout.startswith("deploy: denied\n")
    assert "FAIL     trust" in plain.stdout and f"fix: add \"{ci}\"" in plain.stdout
    assert "not evaluated (unknown): service control policies" in plain.stdout


def test_external_id_missing_then_sent(estate):
    vendor = _account()
    estate.user_policy(allow_assume())
    arn = estate.role("vendor", vendor, "Audit", _doc(trusts(
        f"arn:aws:iam::{estate.home}:root", StringEquals={"sts:ExternalId": "k3y-1234-abcd"})))
    estate.reader(vendor)
    code, report = estate.doctor("vendor")
    assert code == 1
    hop = checks(report["hops"][0])
    assert hop["external_id"]["result"] == "fail"
    assert "sends none" in hop["external_id"]["detail"]
    assert "external_id" in hop["external_id"]["fix"]
    assert hop["trust"]["result"] == "fail" and "see external_id" in hop["trust"]["fix"]
    estate.profiles[-2] += "external_id = wrong-value-99\n"
    estate.world.write_config("\n".join(estate.profiles))
    code, report = estate.doctor("vendor")
    assert code == 1 and "not the one" in checks(report["hops"][0])["external_id"]["detail"]
    estate.profiles[-2] = estate.profiles[-2].replace("wrong-value-99", "k3y-1234-abcd")
    estate.world.write_config("\n".join(estate.profiles))
    code, report = estate.doctor("vendor")
    assert code == 0, report
    assert "requires sts:ExternalId and the request meets it" in checks(
        report["hops"][0])["external_id"]["detail"]
    assert arn in report["hops"][0]["role_arn"]


def test_organization_mismatch_names_both(estate):
    org = estate.moto.client("organizations", estate.home).create_organization(
        FeatureSet="ALL")["Organization"]["Id"]
    estate.user_policy(allow_assume())
    b = _account()
    estate.role("shared", b, "Shared", _doc(trusts(
        "*", StringEquals={"aws:PrincipalOrgID": "o-someoneelse"})))
    estate.reader(b)
    code, report = estate.doctor("shared")
    assert code == 1
    found = checks(report["hops"][0])["org"]
    assert found["result"] == "fail" and org in found["detail"]
    assert "aws:PrincipalOrgID" in found["detail"]
    estate.moto.client("iam", b).update_assume_role_policy(
        RoleName="Shared", PolicyDocument=_doc(trusts(
            "*", StringEquals={"aws:PrincipalOrgID": org})))
    code, report = estate.doctor("shared")
    assert code == 0 and checks(report["hops"][0])["org"]["result"] == "pass"


def test_max_session_duration_exceeded(estate):
    b = _account()
    estate.user_policy(allow_assume())
    estate.role("long", b, "Long", _doc(trusts(estate.user_arn)), max_session=3600,
                extra="duration_seconds = 7200\n")
    estate.reader(b)
    code, report = estate.doctor("long")
    duration = checks(report["hops"][0])["duration"]
    assert code == 1 and duration["result"] == "fail"
    assert "2h configured exceeds the MaxSessionDuration 1h" in duration["detail"]
    assert "--max-session-duration 7200" in duration["fix"]
    code, report = estate.doctor("long", "--duration", "45m")
    assert code == 0 and "45m requested" in checks(report["hops"][0])["duration"]["detail"]


def test_chain_cap(estate):
    a, b = _account(), _account()
    estate.user_policy(allow_assume())
    ci = estate.role("ci", a, "CIPipeline", _doc(trusts(estate.user_arn)),
                     policy=allow_assume(), max_session=43200)
    estate.role("deploy", b, "Deploy", _doc(trusts(ci)), source="ci", max_session=43200)
    estate.reader(b)
    code, report = estate.doctor("deploy", "--duration", "2h")
    assert code == 1
    duration = checks(report["hops"][1])["duration"]
    assert duration["result"] == "fail"
    assert "1 hour session limit for roles assumed by role chaining" in duration["detail"]
    assert checks(report["hops"][0])["duration"]["result"] == "pass"
    assert estate.doctor("ci", "--duration", "2h")[0] == 0  # not chained: up to 12h


def test_identity_side_explicit_deny_names_the_policy(estate):
    b = _account()
    iam = estate.moto.client("iam", estate.home)
    estate.user_policy(allow_assume())
    target = f"arn:aws:iam::{b}:role/Prod"
    deny = iam.create_policy(PolicyName="NoProd", PolicyDocument=_doc(
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": target}))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=estate.user, PolicyArn=deny)
    estate.role("prod", b, "Prod", _doc(trusts(f"arn:aws:iam::{estate.home}:root")))
    estate.reader(b)
    code, report = estate.doctor("prod")
    found = checks(report["hops"][0])
    assert code == 1 and found["trust"]["result"] == "pass"
    assert found["identity"]["result"] == "fail"
    assert f"managed policy {deny} statement 0 denies sts:AssumeRole" in found["identity"][
        "detail"]


def test_permission_boundary_must_allow_too(estate):
    a, b = _account(), _account()
    estate.user_policy(allow_assume())
    ci = estate.role("ci", a, "CIPipeline", _doc(trusts(estate.user_arn)),
                     policy=allow_assume())
    iam = estate.moto.client("iam", a)
    boundary = iam.create_policy(PolicyName="OnlyS3", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName="CIPipeline", PermissionsBoundary=boundary)
    estate.role("deploy", b, "Deploy", _doc(trusts(ci)), source="ci")
    estate.reader(b)
    code, report = estate.doctor("deploy")
    identity = checks(report["hops"][1])["identity"]
    assert code == 1 and identity["result"] == "fail"
    assert f"permission boundary {boundary}" in identity["detail"]
    assert checks(report["hops"][1])["trust"]["result"] == "pass"


def test_identity_needed_across_accounts_and_for_a_root_principal(estate):
    b = _account()
    estate.role("x", b, "X", _doc(trusts(estate.user_arn)))
    estate.reader(b)
    code, report = estate.doctor("x")
    identity = checks(report["hops"][0])["identity"]
    assert code == 1 and identity["result"] == "fail"
    assert "no identity policy" in identity["detail"] and "sts:AssumeRole" in identity["fix"]
    # the same account, the user named directly: the trust policy alone is enough
    estate.role("local", estate.home, "Local", _doc(trusts(estate.user_arn)))
    code, report = estate.doctor("local")
    assert code == 0 and "not needed" in checks(report["hops"][0])["identity"]["detail"]
    # the same account through its root: the identity policy must allow it too
    estate.role("viaroot", estate.home, "ViaRoot", _doc(trusts(
        f"arn:aws:iam::{estate.home}:root")))
    assert estate.doctor("viaroot")[0] == 1


def test_mfa_required(estate):
    b = _account()
    estate.user_policy(allow_assume())
    estate.role("admin", b, "Admin", _doc(trusts(
        estate.user_arn, Bool={"aws:MultiFactorAuthPresent": "true"})))
    estate.reader(b)
    code, report = estate.doctor("admin")
    mfa = checks(report["hops"][0])["mfa"]
    assert code == 1 and mfa["result"] == "fail" and "mfa_serial" in mfa["fix"]
    estate.profiles[-2] += f"mfa_serial = arn:aws:iam::{estate.home}:mfa/{estate.user}\n"
    estate.world.write_config("\n".join(estate.profiles))
    code, report = estate.doctor("admin")
    assert code == 0, report
    assert "assumed from an MFA session" in checks(report["hops"][0])["mfa"]["detail"]


def test_trust_policy_file(estate, tmp_path):
    b = _account()
    estate.user_policy(allow_assume())
    estate.role("lonely", b, "Lonely", _doc(trusts(estate.user_arn)))
    code, report = estate.doctor("lonely")  # nothing in its account to read it through
    assert code == 3 and report["verdict"] == "unknown"
    trust = checks(report["hops"][0])["trust"]
    assert trust["result"] == "unknown" and "--trust-policy" in trust["fix"]
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"Role": {"AssumeRolePolicyDocument": json.loads(
        _doc(trusts(estate.user_arn))), "MaxSessionDuration": 7200}}))
    bad.write_text(_doc(trusts(f"arn:aws:iam::{b}:role/Someone")))
    code, report = estate.doctor("lonely", "--trust-policy", str(good))
    assert code == 0 and f"from {good}" in checks(report["hops"][0])["trust"]["detail"]
    code, report = estate.doctor("lonely", "--trust-policy", str(bad))
    assert code == 1 and checks(report["hops"][0])["trust"]["result"] == "fail"
    hostile = tmp_path / "hostile.json"
    hostile.write_text(_doc({**trusts("arn:aws:iam::999999999999:user/x\u001b[2J"),
                             "Sid": "a[/]b\n"}))
    plain = estate.world.run("doctor", "lonely", "--trust-policy", str(hostile))
    assert plain.returncode == 1 and "\x1b" not in plain.stdout
    assert "user/x\\x1b[2J" in plain.stdout
    (tmp_path / "broken.json").write_text('{"Statement": [')
    assert_fails(estate.world.run("doctor", "lonely", "--trust-policy",
                                  str(tmp_path / "broken.json")), 2, "not JSON")


def test_catalog_trust_policy_path(estate):
    b = _account()
    estate.user_policy(allow_assume())
    estate.role("cat", b, "Cat", _doc(trusts(estate.user_arn)))
    (estate.world.home / "policies").mkdir()
    (estate.world.home / "policies" / "cat.json").write_text(_doc(trusts(estate.user_arn)))
    estate.world.catalog.write_text('[roles.cat]\ntrust_policy = "policies/cat.json"\n')
    code, report = estate.doctor("cat")
    assert code == 0, report
    assert "catalog's trust_policy" in checks(report["hops"][0])["trust"]["detail"]


def test_bad_input_exits_2(estate, tmp_path):
    estate.role("r", _account(), "R", _doc(trusts(estate.user_arn)))
    assert_fails(estate.world.run("doctor", "nosuch"), 2, "unknown role")
    assert_fails(estate.world.run("doctor", "r", "--duration", "13h"), 2, "outside 15m to 12h")
    assert_fails(estate.world.run("doctor", "r", "--duration", "soon"), 2, "invalid duration")
    assert_fails(estate.world.run("doctor", "r", "--trust-policy", "/dev/zero"), 2,
                 "not a regular file")


def test_reads_take_credentials(estate):
    """The AWS reads are plain functions of credentials (a board screen or a test can
    drive them without a workspace)."""
    from profiles.trust import reads

    key, secret = estate.moto.create_user_keys(estate.home, estate.user)
    keys = reads.Keys(key, secret)
    caller = reads.caller_identity(keys, "us-east-1")
    assert (caller.kind, caller.arn, caller.account) == ("user", estate.user_arn, estate.home)
    arn = estate.moto.create_role(estate.home, "Seen", _doc(trusts(estate.user_arn)),
                                  max_session=5400)
    facts = reads.get_role(keys, "Seen")
    assert (facts.arn, facts.max_session) == (arn, 5400)
    assert facts.trust["Statement"][0]["Principal"] == {"AWS": estate.user_arn}
    estate.user_policy(allow_assume())
    assert [p.label for p in reads.identity(keys, caller).policies] == ["inline policy assume"]
    assert reads.organization(keys) is None  # its account is in no organization
    with pytest.raises(reads.NotFound):
        reads.get_role(keys, "NoSuchRole")


def test_diagnose_returns_plain_data_with_an_injected_clock(estate):
    """What a board screen calls: a Report of plain data, no printing; aws:CurrentTime
    comes from the clock it is given."""
    from profiles.sessions import sts
    from profiles.trust.doctor import Hop, Report, diagnose
    from profiles.workspace import Workspace

    b = _account()
    estate.user_policy(allow_assume())
    estate.role("window", b, "Window", _doc(trusts(
        estate.user_arn, DateLessThan={"aws:CurrentTime": "2030-01-01T00:00:00Z"})))
    estate.reader(b)
    sts._local.__dict__.clear()  # botocore sessions that read this world's files
    try:
        before = diagnose(Workspace(), "window", clock=lambda: 1.8e9)  # 2027
        after = diagnose(Workspace(), "window", clock=lambda: 1.9e9)  # 2030-03
    finally:
        sts._local.__dict__.clear()
    assert isinstance(before, Report) and isinstance(before.hops[0], Hop)
    assert (before.verdict, before.exit_code) == ("allowed", 0)
    assert (after.verdict, after.exit_code) == ("denied", 1)
    trust = next(c for c in after.hops[0].checks if c.check == "trust")
    assert "DateLessThan aws:CurrentTime fails" in trust.detail
    assert json.loads(json.dumps(after.to_json()))["hops"][0]["role"] == "window"
