"""The evaluator, table-driven against the IAM User Guide's condition-operator and
policy-evaluation pages: every operator, ``IfExists``, the set operators, wildcards,
policy variables, principals, actions, resources and the decision itself."""

from __future__ import annotations

import pytest

from profiles.trust import conditions, policy
from profiles.trust.context import MISSING, UNKNOWN, Context, all3, any3, not3
from profiles.trust.evaluate import (
    Caller,
    Request,
    evaluate,
    not_principal_matches,
    principal_matches,
)
from profiles.trust.policy import Condition

ROLE = "arn:aws:iam::111111111111:role/CIPipeline"
SESSION = "arn:aws:sts::111111111111:assumed-role/CIPipeline/ci-1"
USER = "arn:aws:iam::000000000000:user/alice"
ROLE_CALLER = Caller("role", "111111111111", ROLE, "CIPipeline", SESSION)
USER_CALLER = Caller("user", "000000000000", USER, "alice")


def cond(operator: str, key: str, *values: str) -> Condition:
    base, qualifier, if_exists = conditions.parse_operator(operator, "test")
    return Condition(operator, base, qualifier, if_exists, key, values)


def check(operator: str, key: str, values, context: dict, variables: bool = True):
    values = values if isinstance(values, tuple) else (values,)
    return conditions.evaluate(cond(operator, key, *values), Context.of(context), variables)


K = "aws:PrincipalTag/team"
# (operator, policy values, request value (None: the key is absent), expected)
OPERATORS = [
    ("StringEquals", "ops", "ops", True),
    ("StringEquals", "ops", "Ops", False),  # values are case-sensitive
    ("StringEquals", ("dev", "ops"), "ops", True),  # several values: OR
    ("StringEquals", "op*", "ops", False),  # no wildcards in Equals
    ("StringEquals", "ops", None, False),  # an absent key does not match
    ("StringNotEquals", "ops", "dev", True),
    ("StringNotEquals", ("dev", "ops"), "ops", False),  # negated, several values: NOR
    ("StringNotEquals", ("dev", "ops"), "qa", True),
    ("StringNotEquals", "ops", None, True),  # negated on an absent key: true
    ("StringEqualsIgnoreCase", "OPS", "ops", True),
    ("StringEqualsIgnoreCase", "OPS", "dev", False),
    ("StringNotEqualsIgnoreCase", "OPS", "ops", False),
    ("StringNotEqualsIgnoreCase", "OPS", None, True),
    ("StringLike", "o*", "ops", True),
    ("StringLike", "o?s", "ops", True),
    ("StringLike", "o?s", "oops", False),  # ? is exactly one character
    ("StringLike", "O*", "ops", False),  # case-sensitive
    ("StringLike", "op", "ops", False),  # partial matches need a wildcard
    ("StringLike", "*", "", True),
    ("StringLike", "a*b*c", "a-x-b-y-c", True),
    ("StringLike", "*", None, False),
    ("StringNotLike", "d*", "ops", True),
    ("StringNotLike", "o*", "ops", False),
    ("StringNotLike", "o*", None, True),
    ("NumericEquals", "10", "10", True),
    ("NumericEquals", "10", "10.0", True),
    ("NumericEquals", "10", "ten", False),  # not a number: no match
    ("NumericNotEquals", "10", "11", True),
    ("NumericNotEquals", "10", None, True),
    ("NumericLessThan", "3600", "60", True),
    ("NumericLessThan", "3600", "3600", False),
    ("NumericLessThanEquals", "3600", "3600", True),
    ("NumericGreaterThan", "3600", "3601", True),
    ("NumericGreaterThan", "3600", "3600", False),
    ("NumericGreaterThanEquals", "3600", "3600", True),
    ("NumericGreaterThanEquals", "-1.5", "-1", True),
    ("NumericLessThan", "3600", None, False),
    ("DateEquals", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", True),
    ("DateEquals", "2026-03-01T00:00:00Z", "1772323200", True),  # epoch seconds
    ("DateEquals", "2026-03-01", "2026-03-01T00:00:00+00:00", True),
    ("DateNotEquals", "2026-03-01", "2026-03-02", True),
    ("DateLessThan", "2026-03-01T00:00:00Z", "2026-02-28T23:59:59Z", True),
    ("DateLessThan", "2026-03-01T00:00:00Z", "2026-03-01T01:00:00+02:00", True),
    ("DateLessThanEquals", "2026-01", "2026-01-01T00:00:00Z", True),
    ("DateGreaterThan", "2026", "1970-01-01T00:34:00Z", True),  # digits are epoch seconds
    ("DateGreaterThan", "2026-03", "2026-03-01T00:00:01Z", True),
    ("DateGreaterThanEquals", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", True),
    ("DateGreaterThan", "2026-03-01T00:00:00Z", "yesterday", False),
    ("Bool", "true", "true", True),
    ("Bool", "true", "false", False),
    ("Bool", "TRUE", "true", True),
    ("Bool", "true", None, False),
    ("BoolIfExists", "true", None, True),  # IfExists: an absent key is true
    ("BoolIfExists", "true", "false", False),
    ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
    ("BinaryEquals", "QmluYXJ5", "QmluYXJ6", False),
    ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
    ("IpAddress", "203.0.113.0/24", "198.51.100.1", False),
    ("IpAddress", "2001:DB8:1234:5678::/64", "2001:db8:1234:5678::1", True),
    ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
    ("NotIpAddress", "203.0.113.0/24", None, True),
    ("StringEqualsIfExists", "ops", None, True),
    ("StringEqualsIfExists", "ops", "dev", False),
    ("StringNotEqualsIfExists", "ops", None, True),
    ("StringLikeIfExists", "o*", "ops", True),
    ("ArnLikeIfExists", ROLE, None, True),
    ("NumericLessThanIfExists", "10", None, True),
    ("DateLessThanIfExists", "2026-01", None, True),
]


@pytest.mark.parametrize(("operator", "values", "request_value", "expected"), OPERATORS)
def test_operator(operator, values, request_value, expected):
    assert check(operator, K, values, {K: request_value}) is expected


ARNS = [
    ("ArnEquals", ROLE, ROLE, True),
    ("ArnLike", "arn:aws:iam::111111111111:role/*", ROLE, True),
    ("ArnEquals", "arn:aws:iam::*:role/CIPipeline", ROLE, True),  # Equals = Like for ARNs
    ("ArnLike", "arn:aws:iam::222222222222:role/*", ROLE, False),
    ("ArnLike", "arn:aws:iam::111111111111:role/cipipeline", ROLE, False),  # case-sensitive
    ("ArnLike", "arn:aws:iam::1111?1111111:role/CIPipeline", ROLE, True),
    ("ArnNotEquals", "arn:aws:iam::222222222222:*", ROLE, True),
    ("ArnNotLike", "arn:aws:iam::111111111111:*", ROLE, False),
    ("ArnNotLike", "arn:aws:iam::111111111111:*", None, True),
    ("ArnLike", "*", ROLE, True),
    ("ArnLike", ROLE, "not-an-arn", False),
    # the IAM guide's example: StringLike matches across colons, ArnLike does not
    ("StringLike", "arn:aws:someservice:*:111122223333:finance/*",
     "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt",
     True),
    ("ArnLike", "arn:aws:someservice:*:111122223333:finance/*",
     "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt",
     False),
]


@pytest.mark.parametrize(("operator", "pattern", "value", "expected"), ARNS)
def test_arn_operators(operator, pattern, value, expected):
    assert check(operator, "aws:PrincipalArn", pattern, {"aws:PrincipalArn": value}) is expected


def test_an_arn_pattern_that_is_not_an_arn_is_unknown():
    assert check("ArnLike", "aws:PrincipalArn", "role/*", {"aws:PrincipalArn": ROLE}) is None


NULL = [("true", None, True), ("true", "x", False), ("false", "x", True),
        ("false", None, False), ("TRUE", None, True)]


@pytest.mark.parametrize(("value", "request_value", "expected"), NULL)
def test_null(value, request_value, expected):
    assert check("Null", "aws:TokenIssueTime", value,
                 {"aws:TokenIssueTime": request_value}) is expected


TAGS = "aws:TagKeys"
SETS = [  # (operator, policy values, request values, expected)
    ("ForAnyValue:StringEquals", ("a", "b"), ["b", "z"], True),
    ("ForAnyValue:StringEquals", ("a", "b"), ["y", "z"], False),
    ("ForAnyValue:StringEquals", ("a",), [], False),  # no values: ForAnyValue is false
    ("ForAnyValue:StringEquals", ("a",), None, False),
    ("ForAllValues:StringEquals", ("a", "b"), ["a", "b"], True),
    ("ForAllValues:StringEquals", ("a", "b"), ["a", "z"], False),
    ("ForAllValues:StringEquals", ("a",), [], True),  # an empty set: ForAllValues is true
    ("ForAllValues:StringEquals", ("a",), None, True),
    ("ForAllValues:StringEquals", ("a",), [""], True),  # "a null data set, such as ''"
    ("ForAllValues:StringLike", ("a*",), ["ab", "ac"], True),
    ("ForAnyValue:StringNotEquals", ("a", "b"), ["a", "z"], True),
    ("ForAnyValue:StringNotEquals", ("a", "b"), ["a", "b"], False),
    ("ForAllValues:StringNotEquals", ("a",), ["y", "z"], True),
    ("ForAllValues:StringNotEquals", ("a",), ["a", "z"], False),
    ("ForAnyValue:StringEqualsIfExists", ("a",), None, True),
    ("forallvalues:stringequals", ("a",), ["a"], True),  # operators are matched whatever the case
]


@pytest.mark.parametrize(("operator", "values", "request_values", "expected"), SETS)
def test_set_operators(operator, values, request_values, expected):
    assert check(operator, TAGS, values, {TAGS: request_values}) is expected


def test_a_multivalued_key_without_a_set_operator_is_unknown():
    assert check("StringEquals", TAGS, "a", {TAGS: ["a", "b"]}) is None


@pytest.mark.parametrize("operator", [*conditions.OPERATORS, "Null", "StringEqualsIfExists",
                                      "ForAllValues:StringLike", "ForAnyValue:ArnLike"])
def test_every_operator_on_an_unknown_key_is_unknown(operator):
    assert check(operator, "aws:SourceIp", "x", {}) is None
    assert check(operator, "aws:SourceIp", "x", {"aws:SourceIp": UNKNOWN}) is None


def test_condition_keys_are_case_insensitive_values_are_not():
    context = {"aws:PrincipalOrgID": "o-abc123"}
    assert check("StringEquals", "AWS:principalorgid", "o-abc123", context) is True
    assert check("StringEquals", "aws:PrincipalOrgID", "O-ABC123", context) is False
    tags = Context.of({"aws:PrincipalTag/Team": "ops"}, closed=["aws:PrincipalTag/"])
    assert tags.get("AWS:PRINCIPALTAG/team") == ("ops",)
    assert tags.get("aws:PrincipalTag/other") is MISSING  # the tags were read: absent
    assert tags.get("aws:SourceIp") is UNKNOWN


VARIABLES = [
    ("StringEquals", "${aws:username}", "alice", True),
    ("StringLike", "home/${aws:username}/*", "home/alice/x", True),
    ("StringLike", "home/${aws:username}/*", "home/bob/x", False),
    ("StringEquals", "a${*}b", "a*b", True),  # ${*} is a literal star
    ("StringLike", "a${*}b", "axb", False),
    ("StringLike", "a${?}${$}", "a?$", True),
    ("StringEquals", "${aws:SourceIp}", "x", None),  # an unknown variable
    ("StringEquals", "${aws:userid}", "x", None),
    ("StringEquals", "${aws:PrincipalOrgID, 'none'}", "none", True),  # the default
    ("StringEquals", "${aws:PrincipalOrgID}", "", False),  # absent, no default: no match
    ("ArnLike", "arn:aws:iam::${aws:PrincipalAccount}:role/*", ROLE, True),
    ("Bool", "${aws:ViaAWSService}", "false", True),
]


@pytest.mark.parametrize(("operator", "pattern", "value", "expected"), VARIABLES)
def test_policy_variables(operator, pattern, value, expected):
    context = {"aws:username": "alice", "aws:PrincipalOrgID": None, "aws:ViaAWSService": "false",
               "aws:PrincipalAccount": "111111111111", K: value, "aws:SourceIp": UNKNOWN}
    assert check(operator, K, pattern, context) is expected


def test_variables_are_literal_before_version_2012_10_17():
    assert check("StringEquals", K, "${aws:username}", {K: "${aws:username}",
                                                         "aws:username": "alice"},
                 variables=False) is True


PRINCIPALS = [  # (type, value, caller, expected)
    ("*", "*", ROLE_CALLER, True),
    ("AWS", "*", USER_CALLER, True),
    ("AWS", "111111111111", ROLE_CALLER, True),  # a bare account id is its root
    ("AWS", "arn:aws:iam::111111111111:root", ROLE_CALLER, True),
    ("AWS", "arn:aws:iam::222222222222:root", ROLE_CALLER, False),
    ("AWS", ROLE, ROLE_CALLER, True),  # a session of the role matches the role ARN
    ("AWS", SESSION, ROLE_CALLER, True),
    ("AWS", "arn:aws:sts::111111111111:assumed-role/CIPipeline/other", ROLE_CALLER, False),
    ("AWS", "arn:aws:iam::111111111111:role/cipipeline", ROLE_CALLER, None),
    ("AWS", "arn:aws:iam::111111111111:role/ci/CIPipeline", ROLE_CALLER, False),  # a path
    ("AWS", "arn:aws:iam::111111111111:role/*", ROLE_CALLER, False),  # no wildcards
    ("AWS", USER, USER_CALLER, True),
    ("AWS", "arn:aws:iam::000000000000:user/Alice", USER_CALLER, False),  # case-sensitive
    ("AWS", USER, ROLE_CALLER, False),
    ("AWS", ROLE, USER_CALLER, False),
    ("AWS", "arn:aws-cn:iam::111111111111:root", ROLE_CALLER, False),  # another partition
    ("Service", "ec2.amazonaws.com", ROLE_CALLER, False),
    ("Federated", "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
     ROLE_CALLER, False),
    ("CanonicalUser", "79a59df900b949e5", ROLE_CALLER, False),
    ("AWS", ROLE, None, None),  # who signs is not known
    ("AWS", ROLE, Caller("role", "111111111111", None, "CIPipeline"), None),  # path unknown
    ("AWS", ROLE, Caller("role", "111111111111", None, "Other"), False),
]


@pytest.mark.parametrize(("kind", "value", "caller", "expected"), PRINCIPALS)
def test_principal(kind, value, caller, expected):
    assert principal_matches(kind, value, caller) is expected


ROOT1 = ("AWS", "arn:aws:iam::111111111111:root")
NOT_PRINCIPALS = [  # NotPrincipal: does the statement apply to the caller?
    ((ROOT1, ("AWS", ROLE), ("AWS", SESSION)), False),  # every entity listed: exempt
    ((("AWS", "222222222222"),), True),
    ((ROOT1,), None),  # the account alone: IAM "might" still deny the role
    ((("AWS", SESSION),), None),
    ((("AWS", "*"),), False),
]


@pytest.mark.parametrize(("entries", "expected"), NOT_PRINCIPALS)
def test_not_principal(entries, expected):
    assert not_principal_matches(entries, ROLE_CALLER) is expected
    assert not_principal_matches(((("AWS", USER)), ("AWS", "000000000000")),
                                 USER_CALLER) is False


def decide(statements: list[dict], context: dict | None = None, caller=ROLE_CALLER,
           action: str = "sts:AssumeRole", resource: str | None = None, kind="trust") -> str:
    document = {"Version": "2012-10-17", "Statement": statements}
    return evaluate(policy.parse(document, kind),
                    Request(action, caller, Context.of(context or {}), resource)).result


ALLOW = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole"}
DENY = {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}


def test_decisions():
    assert decide([]) == "implicit"
    assert decide([ALLOW]) == "allow"
    assert decide([ALLOW, DENY]) == "deny"  # an explicit Deny wins
    assert decide([DENY, ALLOW]) == "deny"
    unknown_deny = {**DENY, "Condition": {"StringEquals": {"aws:SourceIp": "1.2.3.4"}}}
    assert decide([ALLOW, unknown_deny]) == "unknown"
    assert decide([unknown_deny]) == "implicit"  # denied either way
    unknown_allow = {**ALLOW, "Condition": {"StringEquals": {"aws:SourceIp": "1.2.3.4"}}}
    assert decide([unknown_allow]) == "unknown"
    failing = {**ALLOW, "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}
    assert decide([unknown_allow, failing], {"sts:ExternalId": None}) == "unknown"
    assert decide([failing, ALLOW], {"sts:ExternalId": None}) == "allow"
    both = {**ALLOW, "Condition": {"StringEquals": {"sts:ExternalId": "x"},
                                   "Bool": {"aws:MultiFactorAuthPresent": "true"}}}
    assert decide([both], {"sts:ExternalId": "x", "aws:MultiFactorAuthPresent": "true"}) == \
        "allow"  # several operators: AND
    assert decide([both], {"sts:ExternalId": "x", "aws:MultiFactorAuthPresent": None}) == \
        "implicit"
    two_keys = {**ALLOW, "Condition": {"StringEquals": {"sts:ExternalId": "x",
                                                        "aws:PrincipalAccount": "1"}}}
    assert decide([two_keys], {"sts:ExternalId": "x",
                               "aws:PrincipalAccount": "111111111111"}) == "implicit"


def test_actions_and_resources():
    for action in ("sts:AssumeRole", "sts:Assume*", "STS:assumerole", "*", "sts:?ssumeRole"):
        assert decide([{**ALLOW, "Action": action}]) == "allow", action
    assert decide([{**ALLOW, "Action": ["sts:TagSession", "sts:AssumeRole"]}]) == "allow"
    assert decide([{**ALLOW, "Action": "sts:AssumeRoleWithSAML"}]) == "implicit"
    assert decide([{"Effect": "Allow", "Principal": {"AWS": ROLE},
                    "NotAction": "sts:TagSession"}]) == "allow"
    assert decide([{"Effect": "Allow", "Principal": {"AWS": ROLE},
                    "NotAction": "sts:Assume*"}]) == "implicit"
    target = "arn:aws:iam::222222222222:role/Deploy"
    identity = [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Resource": "arn:aws:iam::222222222222:role/*"}]
    assert decide(identity, resource=target, kind="identity") == "allow"
    assert decide(identity, resource=target.replace("Deploy", "x/Deploy"),
                  kind="identity") == "allow"
    assert decide([{**identity[0], "Resource": "arn:aws:iam::222222222222:role/deploy"}],
                  resource=target, kind="identity") == "implicit"  # resources: case-sensitive
    assert decide([{"Effect": "Allow", "Action": "sts:AssumeRole", "NotResource": target}],
                  resource=target, kind="identity") == "implicit"
    own = [{"Effect": "Allow", "Action": "sts:AssumeRole",
            "Resource": "arn:aws:iam::222222222222:role/${aws:username}"}]
    assert decide(own, {"aws:username": "Deploy"}, resource=target, kind="identity") == "allow"


def test_kleene_logic():
    assert all3([True, None]) is None and all3([None, False]) is False and all3([]) is True
    assert any3([False, None]) is None and any3([None, True]) is True and any3([]) is False
    assert not3(None) is None and not3(True) is False
