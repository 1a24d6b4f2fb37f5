"""Policy documents parsed as IAM reads them: every element's string and list forms,
JSON scalars, URL-encoding; anything IAM would refuse to save is one clear error."""

from __future__ import annotations

import json

import pytest

from profiles.trust import policy
from profiles.trust.policy import PolicyError

ROLE = "arn:aws:iam::111111111111:role/CIPipeline"
ALLOW = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole"}


FORMS = [  # each element in its string form and its list form
    {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole"},
    {"Effect": "Allow", "Principal": {"AWS": [ROLE]}, "Action": ["sts:AssumeRole"]},
    {"Effect": "Allow", "Principal": {"AWS": [ROLE]}, "Action": ["sts:AssumeRole"],
     "Condition": {"StringEquals": {"sts:ExternalId": ["x"]}}},
]


@pytest.mark.parametrize("statement", FORMS)
def test_string_and_list_forms(statement):
    one = policy.parse({"Version": "2012-10-17", "Statement": statement})
    many = policy.parse({"Version": "2012-10-17", "Statement": [statement]})
    assert one == many
    assert one.statements[0].principal == (("AWS", ROLE),)
    assert one.statements[0].action == ("sts:AssumeRole",)


def test_json_scalars_become_strings_and_url_encoding_is_decoded():
    parsed = policy.parse(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": True},
                      "NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}}]}))
    values = [c.values for c in parsed.statements[0].conditions]
    assert values == [("true",), ("3600",)]
    encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%22*" \
              "%22%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D"
    assert policy.parse(encoded).statements[0].principal == (("*", "*"),)


BAD = [  # (document, what the message says)
    ("{", "not JSON (line 1"),
    ("[]", "must be a JSON object"),
    ('{"Version": "2012-10-17"}', 'no "Statement"'),
    ('{"Statement": [], "Extra": 1}', "unknown element 'Extra'"),
    ('{"Version": "2015", "Statement": []}', "unknown policy Version"),
    ('{"Statement": [{"Effect": "allow", "Principal": "*", "Action": "a"}]}', "Effect"),
    ('{"Statement": [{"Effect": "Allow", "Action": "a"}]}', "Principal and NotPrincipal"),
    ('{"Statement": [{"Effect": "Allow", "Principal": "*"}]}', "Action and NotAction"),
    ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "a", "Foo": 1}]}',
     "unknown element 'Foo'"),
    ('{"Statement": [{"Effect": "Allow", "Principal": {"Group": "g"}, "Action": "a"}]}',
     "unknown principal type"),
    ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "a", '
     '"Condition": {"StringEqual": {"k": "v"}}}]}', "unknown condition operator"),
    ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "a", '
     '"Condition": {"NullIfExists": {"k": "true"}}}]}', "unknown condition operator"),
    ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "a", '
     '"Condition": {"ForSomeValues:StringEquals": {"k": "v"}}}]}', "unknown set operator"),
    ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": {"a": 1}}]}',
     "a string or a list of strings"),
    ('{"Statement": [], "Statement": []}', "duplicate key 'Statement'"),
    ('{"Statement": [{"Effect": "Allow", "Effect": "Deny", "Principal": "*", "Action": "a"}]}',
     "duplicate key 'Effect'"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_not_a_policy(text, message):
    with pytest.raises(PolicyError) as caught:
        policy.parse(text)
    assert message in caught.value.message and caught.value.exit_code == 2
    assert "\n" not in caught.value.message


def test_an_identity_policy_names_no_principal():
    with pytest.raises(PolicyError, match="names no Principal"):
        policy.parse({"Statement": [ALLOW]}, "identity")
