"""Generated policies and requests (hypothesis): the evaluator agrees with the reference
model written from the IAM guide whenever everything is known; with keys unknown, any
answer it does give holds for every value those keys could have."""

from __future__ import annotations

import itertools
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.trust import policy
from profiles.trust.context import UNKNOWN, Context
from profiles.trust.evaluate import Caller, Request, evaluate
from tests import trust_reference as ref

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES * 5, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
ROLE = "arn:aws:iam::111111111111:role/CIPipeline"
SESSION = "arn:aws:sts::111111111111:assumed-role/CIPipeline/ci-1"
USER = "arn:aws:iam::000000000000:user/alice"
CALLERS = [
    (Caller("role", "111111111111", ROLE, "CIPipeline", SESSION),
     {"account": "111111111111", "arn": ROLE, "session": SESSION}),
    (Caller("user", "000000000000", USER, "alice"),
     {"account": "000000000000", "arn": USER, "session": None}),
]
PRINCIPALS = [("*", "*"), ("AWS", "*"), ("AWS", "111111111111"),
              ("AWS", "arn:aws:iam::111111111111:root"), ("AWS", ROLE), ("AWS", SESSION),
              ("AWS", USER), ("AWS", "222222222222"), ("Service", "ec2.amazonaws.com")]
ACTIONS = ["sts:AssumeRole", "sts:*", "*", "sts:TagSession", "STS:ASSUMEROLE",
           "sts:Assume?ole", "iam:*"]
STRINGS = ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
           "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"]
# key -> (operators, policy values, request values)
FAMILIES = {
    "aws:PrincipalTag/team": (STRINGS + ["StringEqualsIfExists", "StringNotLikeIfExists",
                                         "Null"],
                              ["ops", "o*", "O*", "?ps", "*", "d?v", "", "true"],
                              ["ops", "Ops", "dev", ""]),
    "aws:MultiFactorAuthAge": (["NumericEquals", "NumericNotEquals", "NumericLessThan",
                                "NumericLessThanEquals", "NumericGreaterThan",
                                "NumericGreaterThanEquals", "NumericLessThanIfExists", "Null"],
                               ["0", "60", "3600", "x", "false"], ["0", "60", "3601", "x"]),
    "aws:CurrentTime": (["DateEquals", "DateNotEquals", "DateLessThan", "DateGreaterThan",
                         "DateLessThanIfExists"],
                        ["2026-03-01T00:00:00Z", "1772323200", "bad"],
                        ["2026-03-01T00:00:00Z", "2026-03-01T00:00:01Z", "1772323199"]),
    "aws:MultiFactorAuthPresent": (["Bool", "BoolIfExists", "Null"], ["true", "false", "TRUE"],
                                   ["true", "false"]),
    "aws:PrincipalArn": (["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
                          "ArnLikeIfExists", "StringLike", "StringEquals"],
                         [ROLE, "arn:aws:iam::111111111111:role/*", "arn:aws:iam::*:*", "*",
                          "arn:aws:iam::2222*:role/X"],
                         [ROLE, USER, "arn:aws:iam::222222222222:role/X"]),
}
MULTI = "aws:TagKeys"
MULTI_OPERATORS = [f"{q}:{o}" for q in ("ForAnyValue", "ForAllValues")
                   for o in ("StringEquals", "StringNotEquals", "StringLike",
                             "StringEqualsIfExists")]
MULTI_VALUES = [[], ["a"], ["b"], ["a", "b"], ["c", "a"]]
KEYS = [*FAMILIES, MULTI]


@st.composite
def conditions(draw):
    out: dict[str, dict[str, list[str]]] = {}
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(KEYS))
        if key == MULTI:
            operator = draw(st.sampled_from(MULTI_OPERATORS))
            values = draw(st.lists(st.sampled_from(["a", "b", "c", "a*"]), min_size=1,
                                   max_size=2))
        else:
            operators, pool, _ = FAMILIES[key]
            operator = draw(st.sampled_from(operators))
            pool = ["true", "false"] if operator == "Null" else pool
            values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        written = draw(st.sampled_from([key, key.lower(), key.upper()]))  # keys: any case
        out.setdefault(operator, {})[written] = values
    return out


@st.composite
def statements(draw):
    statement: dict = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    entries = draw(st.lists(st.sampled_from(PRINCIPALS), min_size=1, max_size=3))
    if ("*", "*") in entries:
        statement["Principal"] = "*"
    else:
        grouped: dict[str, list[str]] = {}
        for kind, value in entries:
            grouped.setdefault(kind, []).append(value)
        statement["Principal"] = grouped
    element = draw(st.sampled_from(["Action", "NotAction"]))
    statement[element] = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2))
    if condition := draw(conditions()):
        statement["Condition"] = condition
    return statement


def reference_form(statement: dict) -> dict:
    out = {k: v for k, v in statement.items() if k in ("Effect", "Action", "NotAction")}
    principal = statement["Principal"]
    out["Principal"] = [("*", "*")] if principal == "*" else [
        (kind, v) for kind, values in principal.items() for v in values]
    out["Condition"] = [(op, key, values) for op, keys in statement.get("Condition", {}).items()
                        for key, values in keys.items()]
    return out


@st.composite
def requests(draw):
    context = {}
    for key in KEYS:
        pool = MULTI_VALUES if key == MULTI else [[v] for v in FAMILIES[key][2]]
        value = draw(st.sampled_from([None, *pool]))
        if value is not None:
            context[key.lower()] = value
    return draw(st.sampled_from(CALLERS)), context


def ours(document: dict, caller: Caller, context: dict) -> str:
    request = Request("sts:AssumeRole", caller, Context(
        {k: (UNKNOWN if v is UNKNOWN else tuple(v)) for k, v in context.items()},
        closed=("",)))  # every key not listed is known absent
    return evaluate(policy.parse(document), request).result


@SETTINGS
@given(st.lists(statements(), max_size=4), requests())
def test_agrees_with_the_reference_when_everything_is_known(statement_list, request):
    (caller, plain), context = request
    document = {"Version": "2012-10-17", "Statement": statement_list}
    expected = ref.decide([reference_form(s) for s in statement_list], plain,
                          "sts:AssumeRole", context)
    assert ours(document, caller, context) == expected


@SETTINGS
@given(st.lists(statements(), max_size=4), requests(),
       st.lists(st.sampled_from(KEYS), max_size=2, unique=True))
def test_an_answer_with_unknown_keys_holds_for_every_value_they_could_have(
        statement_list, request, unknown):
    (caller, plain), context = request
    document = {"Version": "2012-10-17", "Statement": statement_list}
    partial = {**context, **{k.lower(): UNKNOWN for k in unknown}}
    answer = ours(document, caller, partial)
    pools = [[None, *(MULTI_VALUES if k == MULTI else [[v] for v in FAMILIES[k][2]])]
             for k in unknown]
    outcomes = set()
    for values in itertools.product(*pools):
        complete = {k: v for k, v in context.items() if k not in {u.lower() for u in unknown}}
        complete.update({k.lower(): v for k, v in zip(unknown, values, strict=True)
                         if v is not None})
        outcomes.add(ref.decide([reference_form(s) for s in statement_list], plain,
                                "sts:AssumeRole", complete))
    if answer == "allow":
        assert outcomes == {"allow"}
    elif answer == "deny":
        assert outcomes == {"deny"}
    elif answer == "implicit":
        assert "allow" not in outcomes
    if not unknown:
        assert answer != "unknown"
