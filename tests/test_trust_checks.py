"""The six checks as pure functions of what doctor gathered (no AWS here), and the
condition keys it sets for an AssumeRole in each situation a hop can be in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from profiles.config.inventory import Inventory
from profiles.model import Base, Role, Session, Settings
from profiles.sessions.plan import plan_of
from profiles.trust import checks, policy, reads
from profiles.trust.context import MISSING, UNKNOWN
from profiles.trust.evaluate import Caller
from profiles.trust.gather import Gatherer, HopFacts, mfa_keys

TARGET = "arn:aws:iam::222222222222:role/Deploy"
LOCAL = "arn:aws:iam::111111111111:role/Local"
USER = Caller("user", "111111111111", "arn:aws:iam::111111111111:user/alice", "alice")
ROLE = Caller("role", "111111111111", "arn:aws:iam::111111111111:role/CI", "CI",
              "arn:aws:sts::111111111111:assumed-role/CI/s")
ALLOW = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
NOTHING = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
DENY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "sts:*", "Resource": TARGET}]}


def trust(*statements: dict) -> policy.Policy:
    return policy.parse({"Version": "2012-10-17", "Statement": list(statements)})


def trusts(principal: str, **condition) -> dict:
    out = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    return {**out, "Condition": condition} if condition else out


def hop(target: str = TARGET, caller: Caller = USER, trust_policy=None, policies=(ALLOW,),
        boundary=None, **facts) -> HopFacts:
    facts.setdefault("identity", reads.IdentityFacts(
        tuple(reads.NamedPolicy(f"inline policy p{i}", d) for i, d in enumerate(policies)),
        reads.NamedPolicy("permission boundary arn:aws:iam::1:policy/B", boundary)
        if boundary else None, {}))
    role = Role(name="deploy", role_arn=target, source="base", **facts.pop("role", {}))
    mfa = facts.pop("mfa_pair", (MISSING, MISSING))
    out = HopFacts(name="deploy", role=role, chained=facts.pop("chained", False), parent=None,
                   caller=caller, trust=trust_policy or trust(trusts(caller.arn or "*")),
                   **facts)
    _Stub().gatherer().context(out, mfa, False)
    return out


def result(h: HopFacts, name: str) -> checks.Check:
    return {c.check: c for c in checks.hop_checks(h)}[name]


def test_identity_across_accounts_needs_policy_and_boundary():
    assert result(hop(), "identity").result == "pass"
    no = result(hop(policies=(NOTHING,)), "identity")
    assert no.result == "fail" and "no identity policy" in no.detail
    bounded = result(hop(boundary=NOTHING), "identity")
    assert bounded.result == "fail" and "permission boundary" in bounded.detail
    assert "within its permission boundary" in result(hop(boundary=ALLOW), "identity").detail
    denied = result(hop(policies=(ALLOW, DENY)), "identity")
    assert denied.result == "fail" and "inline policy p1 statement 0 denies" in denied.detail


def test_identity_in_the_same_account_follows_the_principal_named():
    direct = result(hop(LOCAL, policies=(), boundary=NOTHING), "identity")
    assert direct.result == "pass" and "not needed" in direct.detail  # the user named
    assert result(hop(LOCAL, policies=(DENY,)), "identity").result == "pass"  # Deny on TARGET
    deny_local = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": LOCAL}]}
    assert result(hop(LOCAL, policies=(ALLOW, deny_local)), "identity").result == "fail"
    by_role = hop(LOCAL, ROLE, policies=(), boundary=NOTHING)
    assert result(by_role, "identity").result == "fail"  # a role ARN: the boundary applies
    assert result(hop(LOCAL, ROLE, policies=()), "identity").result == "pass"
    by_root = hop(LOCAL, trust_policy=trust(trusts("111111111111")), policies=())
    assert result(by_root, "identity").result == "fail"  # the account: its policy must allow
    anyone = hop(LOCAL, trust_policy=trust(trusts("*")), policies=())
    assert result(anyone, "identity").result == "unknown"  # "*", same account: undocumented


def test_identity_unknowns():
    unread = hop(identity=None, identity_problem="the caller itself: iam:GetUser AccessDenied")
    found = result(unread, "identity")
    assert found.result == "unknown" and "iam:ListUserPolicies" in found.fix
    assert result(hop(caller=Caller("root", "111111111111", "arn:aws:iam::111111111111:root",
                                    "root")), "identity").result == "fail"
    nobody = hop()
    nobody.caller = None
    assert result(nobody, "identity").result == "unknown"


def test_external_id():
    policy_ = trust(trusts(USER.arn, StringEquals={"sts:ExternalId": "k3y-1234-abcd"}))
    assert result(hop(trust_policy=policy_), "external_id").result == "fail"
    sent = hop(trust_policy=policy_, role={"external_id": "k3y-1234-abcd"})
    assert result(sent, "external_id").result == "pass"
    assert result(sent, "trust").result == "pass"
    wrong = result(hop(trust_policy=policy_, role={"external_id": "nope"}), "external_id")
    assert wrong.result == "fail" and "not the one" in wrong.detail
    extra = result(hop(role={"external_id": "x"}), "external_id")
    assert extra.result == "pass" and "sends one anyway" in extra.detail


def test_mfa_from_an_allow_and_from_a_deny():
    required = trust(trusts(USER.arn, Bool={"aws:MultiFactorAuthPresent": "true"}))
    assert result(hop(trust_policy=required), "mfa").result == "fail"
    with_mfa = hop(trust_policy=required, mfa="session", mfa_pair=("true", "10"))
    assert result(with_mfa, "mfa").result == "pass"
    fenced = trust(trusts(USER.arn), {"Effect": "Deny", "Principal": "*",
                                      "Action": "sts:AssumeRole", "Condition": {
                                          "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})
    denied = result(hop(trust_policy=fenced), "mfa")
    assert denied.result == "fail" and "denies" in denied.detail
    assert result(hop(trust_policy=fenced), "trust").result == "fail"
    chained = hop(trust_policy=required, mfa_pair=(UNKNOWN, UNKNOWN))
    assert result(chained, "mfa").result == "unknown"
    old = trust(trusts(USER.arn, NumericLessThan={"aws:MultiFactorAuthAge": "3600"}))
    stale = result(hop(trust_policy=old, mfa="session", mfa_pair=("true", "7200")), "mfa")
    assert stale.result == "fail" and "older" in stale.detail


def test_org():
    required = trust(trusts("*", StringEquals={"aws:PrincipalOrgID": "o-mine"}))
    assert result(hop(trust_policy=required, org="o-mine"), "org").result == "pass"
    other = result(hop(trust_policy=required, org="o-theirs"), "org")
    assert other.result == "fail" and "o-theirs" in other.detail
    assert result(hop(trust_policy=required, org=None), "org").result == "fail"
    unknown = result(hop(trust_policy=required, org_problem="the caller: AccessDenied"), "org")
    assert unknown.result == "unknown" and "organizations:DescribeOrganization" in unknown.fix
    assert result(hop(org=UNKNOWN), "org").result == "pass"  # not asked for


@pytest.mark.parametrize(("facts", "expected", "words"), [
    ({"requested": 7200, "explicit": True, "chained": True}, "fail", "role chaining"),
    ({"requested": 3600, "chained": True}, "pass", "chained: at most 1h"),
    ({"requested": 7200, "max_session": 3600, "max_source": "iam:GetRole"}, "fail",
     "exceeds the MaxSessionDuration 1h"),
    ({"requested": 7200, "max_session": 14400, "max_source": "iam:GetRole"}, "pass", "4h"),
    ({"requested": 7200}, "unknown", "not known"),
    ({"requested": 3600}, "pass", "every role allows 1h"),
])
def test_duration(facts, expected, words):
    found = result(hop(**facts), "duration")
    assert found.result == expected and words in found.detail


def test_trust_details():
    missing = result(hop(missing=True, trust_source="GetRole through x"), "trust")
    assert missing.result == "fail" and "does not exist" in missing.detail
    unread = hop(trust_problems=["reader: iam:GetRole AccessDenied"])
    unread.trust = None
    found = result(unread, "trust")
    assert found.result == "unknown" and "--trust-policy" in found.fix
    assert "AccessDenied" in found.detail
    assert {c.result for c in checks.hop_checks(unread) if c.check in
            ("external_id", "mfa", "org")} == {"unknown"}
    other = result(hop(trust_policy=trust(trusts("arn:aws:iam::1:role/Other"))), "trust")
    assert other.result == "fail" and USER.arn in other.fix
    ip = trust(trusts(USER.arn, IpAddress={"aws:SourceIp": "203.0.113.0/24"}))
    unsure = result(hop(trust_policy=ip), "trust")
    assert unsure.result == "unknown" and "aws:SourceIp" in unsure.detail
    assert checks.verdict(["pass", "unknown"]) == "unknown"
    assert checks.verdict(["unknown", "fail"]) == "denied"
    assert checks.verdict(["pass"]) == "allowed"


# -- the condition keys of the request --------------------------------------------------


@dataclass
class _Stub:
    """The two things Gatherer.context and mfa_keys read of a workspace."""

    sessions_: list = field(default_factory=list)
    inventory: Inventory = field(default_factory=lambda: Inventory(settings=Settings(
        session_name="ci-{profile}")))

    def now(self) -> float:
        return 1.8e9

    def sessions(self) -> list:
        return self.sessions_

    def gatherer(self) -> Gatherer:
        return Gatherer(self, clock=lambda: 1.8e9)


def test_context_keys_for_a_user_with_long_term_keys():
    h = hop(role={"external_id": "k3y"}, org="o-mine")
    h.identity = reads.IdentityFacts((), None, {"team": "ops"})
    _Stub().gatherer().context(h, (MISSING, MISSING), False)
    get = h.context.get
    assert get("aws:PrincipalArn") == (USER.arn,)
    assert get("aws:principalaccount") == ("111111111111",)
    assert get("aws:PrincipalType") == ("User",) and get("aws:username") == ("alice",)
    assert get("aws:PrincipalOrgID") == ("o-mine",)
    assert get("sts:ExternalId") == ("k3y",)
    assert get("sts:RoleSessionName") == ("ci-deploy",)
    assert get("aws:MultiFactorAuthPresent") is MISSING  # long-term keys: not present
    assert get("aws:SourceIdentity") is MISSING and get("aws:TokenIssueTime") is MISSING
    assert get("aws:PrincipalTag/team") == ("ops",)
    assert get("aws:PrincipalTag/other") is MISSING  # the tags were read
    assert get("aws:RequestTag/x") is MISSING and get("aws:SourceAccount") is MISSING
    assert get("aws:CurrentTime") == ("2027-01-15T08:00:00Z",)
    assert get("aws:EpochTime") == ("1800000000",)
    assert get("aws:SourceIp") is UNKNOWN and get("aws:userid") is UNKNOWN


def test_context_keys_when_little_is_known():
    h = hop(caller=Caller("role", "111111111111", None, "CI", "arn:aws:sts::1:assumed-role/CI/s"))
    h.identity = None
    _Stub().gatherer().context(h, (UNKNOWN, UNKNOWN), None)
    get = h.context.get
    assert get("aws:PrincipalArn") is UNKNOWN  # the role's path is not known
    assert get("aws:username") is MISSING  # a role session has none
    assert get("aws:PrincipalOrgID") is UNKNOWN and get("aws:PrincipalTag/team") is UNKNOWN
    assert get("aws:SourceIdentity") is UNKNOWN  # a temporary base may carry one
    assert get("sts:ExternalId") is MISSING


def _plan(mode: str = "session", second_mfa: bool = False):
    roles = {
        "first": Role("first", "arn:aws:iam::111111111111:role/A", source="base",
                      mfa_serial="arn:aws:iam::000000000000:mfa/alice" if mode else None,
                      mfa_mode=mode or None),
        "second": Role("second", "arn:aws:iam::222222222222:role/B", source="first",
                       mfa_serial="arn:aws:iam::000000000000:mfa/alice" if second_mfa else None),
    }
    inv = Inventory(roles=roles, bases={"base": Base("base", profile="base")})
    return plan_of(inv, "second")


def test_mfa_keys_for_each_kind_of_hop():
    stub = _Stub()
    gatherer = stub.gatherer()
    gatherer.base_temporary = False
    session = _plan("session")
    assert session.steps[0].kind == "mfa"
    assert mfa_keys(gatherer, session, 1, 0) == ("session", ("true", "0"))
    issued = datetime.fromtimestamp(1.8e9 - 600, UTC)
    stub.sessions_.append(Session("k", "mfa:x", "mfa", "arn:aws:iam::000000000000:mfa/alice",
                                  datetime.fromtimestamp(1.8e9 + 3600, UTC), issued))
    assert mfa_keys(gatherer, session, 1, 0) == ("session", ("true", "600"))
    assert mfa_keys(gatherer, session, 2, 1) == ("", (UNKNOWN, UNKNOWN))  # chained after MFA
    direct = _plan("direct")
    assert mfa_keys(gatherer, direct, 0, 0) == ("direct", ("true", "0"))
    plain = _plan("")
    assert mfa_keys(gatherer, plain, 0, 0) == ("", (MISSING, MISSING))
    assert mfa_keys(gatherer, plain, 1, 1) == ("", ("false", MISSING))  # a role session
    assert mfa_keys(gatherer, _plan("", second_mfa=True), 1, 1) == ("direct", ("true", "0"))
    gatherer.base_temporary = True  # SSO or credential_process: not known
    assert mfa_keys(gatherer, plain, 0, 0) == ("", (UNKNOWN, UNKNOWN))
