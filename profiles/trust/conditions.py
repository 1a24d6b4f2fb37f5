"""Condition operators as IAM documents them, table-driven: ``String*``, ``Arn*``,
``Numeric*``, ``Date*``, ``Bool``, ``BinaryEquals``, ``IpAddress``, ``Null``; the
``IfExists`` suffix; the ``ForAnyValue:``/``ForAllValues:`` set prefixes; wildcards in
``StringLike``/``Arn*``; policy variables (``${aws:username}``) in version 2012-10-17."""

from __future__ import annotations

import functools
import ipaddress
import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime

from profiles.errors import UsageError
from profiles.trust.context import MISSING, UNKNOWN, Context, Tri, all3, any3, not3


class PolicyError(UsageError):
    """Not JSON, or not a policy IAM would accept: exit 2, naming where."""


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def _expand(text: str, ctx: Context, variables: bool) -> list[tuple[str, str]] | Tri:
    """``text`` as (kind, text) parts: ``lit`` (variables substituted) or ``wild``
    (``*``/``?`` as written). ``None`` when a variable is unknown; ``False`` when one is
    absent with no default (the value then matches nothing)."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for found in (_VARIABLE.finditer(text) if variables else ()):
        parts += _wild_parts(text[pos:found.start()])
        inner = found.group(1).strip()
        pos = found.end()
        if inner in _SPECIAL:
            parts.append(("lit", _SPECIAL[inner]))
            continue
        key, _, default = inner.partition(",")
        value = ctx.get(key.strip())
        if value is UNKNOWN:
            return None
        if value is MISSING or len(value) != 1:
            default = default.strip()
            if len(default) >= 2 and default[0] == default[-1] == "'":
                parts.append(("lit", default[1:-1]))
                continue
            return None if value is not MISSING else False
        parts.append(("lit", value[0]))
    parts += _wild_parts(text[pos:])
    return parts


def _wild_parts(text: str) -> list[tuple[str, str]]:
    return [("wild" if piece in ("*", "?") else "lit", piece)
            for piece in re.split(r"([*?])", text) if piece]


def _literal(parts: list[tuple[str, str]]) -> str:
    return "".join(text for _, text in parts)


def _regex(parts: list[tuple[str, str]], flags: int = 0) -> re.Pattern[str]:
    return _compiled(tuple(parts), flags)


@functools.lru_cache(maxsize=4096)
def _compiled(parts: tuple[tuple[str, str], ...], flags: int) -> re.Pattern[str]:
    body = "".join((".*" if text == "*" else ".") if kind == "wild" else re.escape(text)
                   for kind, text in parts)
    return re.compile(body, re.DOTALL | flags)


def like(value: str, pattern: str, ctx: Context | None = None, variables: bool = False,
         ignore_case: bool = False) -> Tri:
    """IAM wildcard matching: ``*`` any run of characters, ``?`` exactly one."""
    parts = _expand(pattern, ctx or Context(), variables)
    if not isinstance(parts, list):
        return parts
    return _regex(parts, re.IGNORECASE if ignore_case else 0).fullmatch(value) is not None


def _equals(value: str, pattern: str, ctx: Context, variables: bool) -> Tri:
    parts = _expand(pattern, ctx, variables)
    return _literal(parts) == value if isinstance(parts, list) else parts


def _equals_icase(value: str, pattern: str, ctx: Context, variables: bool) -> Tri:
    parts = _expand(pattern, ctx, variables)
    return _literal(parts).lower() == value.lower() if isinstance(parts, list) else parts


def _like(value: str, pattern: str, ctx: Context, variables: bool) -> Tri:
    return like(value, pattern, ctx, variables)


def _arn(value: str, pattern: str, ctx: Context, variables: bool) -> Tri:
    """Each of the six colon-separated components matched on its own."""
    if pattern == "*":
        return True
    want, have = _arn_parts(pattern), value.split(":", 5)
    if len(want) != 6:
        return None  # not an ARN pattern: IAM's answer is not documented
    if len(have) != 6:
        return False
    return all3(like(h, w, ctx, variables) for h, w in zip(have, want, strict=True))


def _arn_parts(pattern: str) -> list[str]:
    """Six colon-separated components; a colon inside ``${...}`` is not a separator."""
    parts, current, depth = [], "", 0
    for i, char in enumerate(pattern):
        if char == "$" and pattern[i + 1:i + 2] == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        if char == ":" and not depth and len(parts) < 5:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _bool(value: str, pattern: str, ctx: Context, variables: bool) -> Tri:
    parts = _expand(pattern, ctx, variables)
    return _literal(parts).lower() == value.lower() if isinstance(parts, list) else parts


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text.strip()) else None


def _date(text: str) -> float | None:
    """W3C ISO 8601 (``2026-03``, ``2026-03-01``, ``...T12:00Z``) or epoch seconds (all
    digits, so ``2026`` is a moment in 1970, not a year)."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        text += "-01"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _compare(parse: Callable[[str], float | None], test: Callable[[float, float], bool]):
    def match(value: str, pattern: str, ctx: Context, variables: bool) -> Tri:
        have, want = parse(value), parse(pattern)
        return False if have is None or want is None else test(have, want)
    return match


def _ip(value: str, pattern: str, ctx: Context, variables: bool) -> Tri:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return False


def _binary(value: str, pattern: str, ctx: Context, variables: bool) -> Tri:
    return value == pattern


_NUMERIC = {"Equals": operator.eq, "LessThan": operator.lt, "LessThanEquals": operator.le,
            "GreaterThan": operator.gt, "GreaterThanEquals": operator.ge}
Matcher = Callable[[str, str, Context, bool], Tri]
# operator -> (how one request value matches one policy value, negated)
OPERATORS: dict[str, tuple[Matcher, bool]] = {
    "StringEquals": (_equals, False), "StringNotEquals": (_equals, True),
    "StringEqualsIgnoreCase": (_equals_icase, False),
    "StringNotEqualsIgnoreCase": (_equals_icase, True),
    "StringLike": (_like, False), "StringNotLike": (_like, True),
    "ArnEquals": (_arn, False), "ArnLike": (_arn, False),
    "ArnNotEquals": (_arn, True), "ArnNotLike": (_arn, True),
    "Bool": (_bool, False), "BinaryEquals": (_binary, False),
    "IpAddress": (_ip, False), "NotIpAddress": (_ip, True),
    **{f"Numeric{name}": (_compare(_number, test), False) for name, test in _NUMERIC.items()},
    "NumericNotEquals": (_compare(_number, operator.eq), True),
    **{f"Date{name}": (_compare(_date, test), False) for name, test in _NUMERIC.items()},
    "DateNotEquals": (_compare(_date, operator.eq), True),
}
_CANONICAL = {name.lower(): name for name in [*OPERATORS, "Null"]}
POSITIVE_STRING = ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike")


def parse_operator(text: object, where: str) -> tuple[str, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> ``("StringLike", "ForAnyValue", True)``."""
    if not isinstance(text, str):
        raise PolicyError(f"{where}: a condition operator must be a string")
    qualifier, _, name = text.rpartition(":")
    if qualifier.lower() in ("foranyvalue", "forallvalues"):
        qualifier = "ForAnyValue" if qualifier.lower() == "foranyvalue" else "ForAllValues"
    elif qualifier:
        raise PolicyError(f"{where}: unknown set operator {qualifier!r}",
                         fix="use ForAnyValue: or ForAllValues:")
    if_exists = name.lower().endswith("ifexists") and name.lower() != "ifexists"
    base = _CANONICAL.get((name[:-8] if if_exists else name).lower())
    if base is None or (base == "Null" and (if_exists or qualifier)):
        raise PolicyError(f"{where}: unknown condition operator {text!r}",
                          fix="see the IAM condition operators: StringEquals, StringLike, "
                          "ArnLike, Bool, Null, NumericLessThan, DateGreaterThan, ...")
    return base, qualifier, if_exists


def evaluate(cond, ctx: Context, variables: bool) -> Tri:
    """One condition (one operator, one key, its values) against the request."""
    value = ctx.get(cond.key)
    if value is UNKNOWN:
        return None
    present = value is not MISSING and len(value) > 0
    if cond.base == "Null":
        wanted = [v.lower() for v in cond.values]
        return ("true" in wanted and not present) or ("false" in wanted and present)
    matcher, negated = OPERATORS[cond.base]
    if not present:
        if cond.if_exists or cond.qualifier == "ForAllValues":
            return True
        return False if cond.qualifier == "ForAnyValue" else negated

    def one(request_value: str) -> Tri:
        hit = any3(matcher(request_value, v, ctx, variables) for v in cond.values)
        return not3(hit) if negated else hit

    if cond.qualifier == "ForAnyValue":
        return any3(one(v) for v in value)  # type: ignore[union-attr]
    if cond.qualifier == "ForAllValues":
        return True if all(v == "" for v in value) else all3(one(v) for v in value)
    if len(value) == 1:
        return one(value[0])
    return None  # a multivalued key without a set operator: not documented
