"""A reference model of IAM policy evaluation, written plainly from the IAM User Guide
(policy evaluation logic; condition operators; multi-valued conditions) and kept apart
from profiles.trust: no regular expressions, no three-valued logic, full knowledge only.
The property tests check the evaluator against it."""

from __future__ import annotations

from datetime import UTC, datetime


def wild(pattern: str, text: str) -> bool:
    """``*`` matches any run of characters, ``?`` exactly one; everything else itself."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return any(wild(pattern[1:], text[i:]) for i in range(len(text) + 1))
    if not text:
        return False
    return (pattern[0] == "?" or pattern[0] == text[0]) and wild(pattern[1:], text[1:])


def _num(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str):
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _arn(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    p, v = pattern.split(":", 5), value.split(":", 5)
    return len(v) == 6 and all(wild(a, b) for a, b in zip(p, v, strict=True))


def _compare(parse, test):
    def match(request: str, policy: str) -> bool:
        a, b = parse(request), parse(policy)
        return a is not None and b is not None and test(a, b)
    return match


# operator -> (does one request value match one policy value, is the operator negated)
MATCH = {
    "StringEquals": (lambda r, p: r == p, False),
    "StringNotEquals": (lambda r, p: r == p, True),
    "StringEqualsIgnoreCase": (lambda r, p: r.lower() == p.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda r, p: r.lower() == p.lower(), True),
    "StringLike": (lambda r, p: wild(p, r), False),
    "StringNotLike": (lambda r, p: wild(p, r), True),
    "ArnEquals": (lambda r, p: _arn(p, r), False),
    "ArnLike": (lambda r, p: _arn(p, r), False),
    "ArnNotEquals": (lambda r, p: _arn(p, r), True),
    "ArnNotLike": (lambda r, p: _arn(p, r), True),
    "NumericEquals": (_compare(_num, lambda a, b: a == b), False),
    "NumericNotEquals": (_compare(_num, lambda a, b: a == b), True),
    "NumericLessThan": (_compare(_num, lambda a, b: a < b), False),
    "NumericLessThanEquals": (_compare(_num, lambda a, b: a <= b), False),
    "NumericGreaterThan": (_compare(_num, lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_compare(_num, lambda a, b: a >= b), False),
    "DateEquals": (_compare(_date, lambda a, b: a == b), False),
    "DateNotEquals": (_compare(_date, lambda a, b: a == b), True),
    "DateLessThan": (_compare(_date, lambda a, b: a < b), False),
    "DateGreaterThan": (_compare(_date, lambda a, b: a > b), False),
    "Bool": (lambda r, p: r.lower() == p.lower(), False),
}


def condition(operator: str, key: str, values: list[str], context: dict) -> bool:
    """``context`` maps lower-case keys to a list of values; a key not in it is absent."""
    request = context.get(key.lower())
    qualifier = ""
    if operator.startswith(("ForAnyValue:", "ForAllValues:")):
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    if operator == "Null":
        absent = not request
        return any((v == "true" and absent) or (v == "false" and not absent) for v in values)
    matches, negated = MATCH[operator]
    if not request:  # "not present in the request context"
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True  # "returns true if there are no keys in the request"
        if qualifier == "ForAnyValue":
            return False
        return negated  # negated operators are true on a missing key

    def one(value: str) -> bool:
        hit = any(matches(value, v) for v in values)  # several policy values: OR
        return not hit if negated else hit  # negated: the value matches none of them

    if qualifier == "ForAnyValue":
        return any(one(v) for v in request)
    if qualifier == "ForAllValues":
        return all(one(v) for v in request)
    assert len(request) == 1
    return one(request[0])


def principal(entry: tuple[str, str], caller: dict) -> bool:
    """``caller``: ``{"account", "arn", "session"}`` (an assumed-role session, or a user
    with ``session`` None)."""
    kind, value = entry
    if kind == "*" or value == "*":
        return kind in ("*", "AWS")
    if kind != "AWS":
        return False
    if value == caller["account"] or value == f"arn:aws:iam::{caller['account']}:root":
        return True
    return value in (caller["arn"], caller["session"])


def statement_applies(statement: dict, caller: dict, action: str, context: dict) -> bool:
    if "Principal" in statement and not any(principal(e, caller)
                                            for e in statement["Principal"]):
        return False
    actions = statement.get("Action") or statement.get("NotAction")
    hit = any(wild(a.lower(), action.lower()) for a in actions)
    if hit != ("Action" in statement):
        return False
    return all(condition(op, key, values, context)
               for op, key, values in statement.get("Condition", []))


def decide(statements: list[dict], caller: dict, action: str, context: dict) -> str:
    applying = [s for s in statements if statement_applies(s, caller, action, context)]
    if any(s["Effect"] == "Deny" for s in applying):
        return "deny"
    if any(s["Effect"] == "Allow" for s in applying):
        return "allow"
    return "implicit"
