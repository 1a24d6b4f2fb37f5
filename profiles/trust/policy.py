"""IAM policy documents as plain data: every element's string-or-list form normalised,
and anything IAM would refuse to save (an unknown element, operator or effect) refused."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass

from profiles.trust.conditions import PolicyError, parse_operator

PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
STATEMENT_KEYS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                  "Resource", "NotResource", "Condition"}
MAX_BYTES = 1 << 20  # IAM's own limits are 2-10 KiB; a megabyte is never a policy
__all__ = ["Condition", "Policy", "PolicyError", "Statement", "load_json", "parse"]


@dataclass(frozen=True)
class Condition:
    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    base: str  # "StringLike"
    qualifier: str  # "", "ForAnyValue" or "ForAllValues"
    if_exists: bool
    key: str  # as written; matched case-insensitively
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    index: int
    effect: str  # "Allow" or "Deny"
    sid: str | None = None
    principal: tuple[tuple[str, str], ...] | None = None  # (type, value); ("*", "*") for "*"
    not_principal: tuple[tuple[str, str], ...] | None = None
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    conditions: tuple[Condition, ...] = ()

    def principals(self, kind: str) -> tuple[str, ...]:
        """The values of one principal type (``"*"`` counts for every type)."""
        return tuple(v for t, v in self.principal or () if t in (kind, "*"))


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str | None = None

    @property
    def variables(self) -> bool:
        """Policy variables (``${aws:username}``) are substituted only in version 2012-10-17."""
        return self.version == "2012-10-17"


def _strings(value: object, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, int | float) and not isinstance(item, bool):
            out.append(json.dumps(item))
        elif isinstance(item, str):
            out.append(item)
        else:
            raise PolicyError(f"{where} must be a string or a list of strings")
    return tuple(out)


def _principal(value: object, where: str) -> tuple[tuple[str, str], ...]:
    if value == "*":
        return (("*", "*"),)
    if not isinstance(value, dict) or not value:
        raise PolicyError(f'{where} must be "*" or an object such as {{"AWS": "ARN"}}')
    out = []
    for kind, entries in value.items():
        if kind not in PRINCIPAL_TYPES:
            raise PolicyError(f"{where}: unknown principal type {kind!r}",
                              fix="use AWS, Service, Federated or CanonicalUser")
        out += [(kind, entry) for entry in _strings(entries, f"{where}.{kind}")]
    return tuple(out)


def _conditions(value: object, where: str) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where} must be an object of operators")
    out = []
    for operator, keys in value.items():
        base, qualifier, if_exists = parse_operator(operator, where)
        if not isinstance(keys, dict):
            raise PolicyError(f"{where}.{operator} must be an object of condition keys")
        for key, values in keys.items():
            out.append(Condition(operator, base, qualifier, if_exists, key,
                                 _strings(values, f"{where}.{operator}.{key}")))
    return tuple(out)


def _statement(index: int, raw: object, kind: str) -> Statement:
    where = f"statement {index}"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be an object")
    if unknown := set(raw) - STATEMENT_KEYS:
        raise PolicyError(f"{where}: unknown element {sorted(unknown)[0]!r}")
    if raw.get("Effect") not in ("Allow", "Deny"):
        raise PolicyError(f'{where}: Effect must be "Allow" or "Deny"')
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{where} needs exactly one of Action and NotAction")
    if kind == "trust" and ("Principal" in raw) == ("NotPrincipal" in raw):
        raise PolicyError(f"{where} needs exactly one of Principal and NotPrincipal")
    if kind == "identity" and ("Principal" in raw or "NotPrincipal" in raw):
        raise PolicyError(f"{where}: an identity policy names no Principal")
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyError(f"{where} has both Resource and NotResource")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(f"{where}: Sid must be a string")

    def element(name: str, parse=_strings):
        return parse(raw[name], f"{where}.{name}") if name in raw else None

    return Statement(
        index=index, effect=raw["Effect"], sid=sid,
        principal=element("Principal", _principal),
        not_principal=element("NotPrincipal", _principal),
        action=element("Action"), not_action=element("NotAction"),
        resource=element("Resource"), not_resource=element("NotResource"),
        conditions=_conditions(raw["Condition"], f"{where}.Condition")
        if "Condition" in raw else (),
    )


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise PolicyError(f"duplicate key {key!r}: a reader and IAM may see different "
                              "policies", fix="keep one of them")
        out[key] = value
    return out


def load_json(text: str | bytes) -> object:
    """JSON with duplicate keys refused; a URL-encoded document (as the IAM API returns
    it) is decoded first."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise PolicyError("larger than 1 MiB: not a policy")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PolicyError("not UTF-8 text: not a policy") from None
    stripped = text.strip()
    if stripped[:3].lower() == "%7b":
        stripped = urllib.parse.unquote(stripped)
    try:
        return json.loads(stripped, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                          fix="check the quotes, commas and brackets there") from None
    except RecursionError:
        raise PolicyError("nested too deeply: not a policy") from None
    except ValueError:  # int() refuses a number of more than 4,300 digits
        raise PolicyError("a number too long to read (over 4,300 digits): not a policy",
                          fix="check the numbers in the policy") from None


def parse(document: object, kind: str = "trust") -> Policy:
    """A policy from its JSON text or decoded object; ``kind`` is ``"trust"`` (each
    statement names a Principal) or ``"identity"`` (none does)."""
    data = load_json(document) if isinstance(document, str | bytes) else document
    if not isinstance(data, dict):
        raise PolicyError("not a policy: the document must be a JSON object")
    if unknown := set(data) - {"Version", "Id", "Statement"}:
        raise PolicyError(f"not a policy: unknown element {sorted(unknown)[0]!r}",
                          fix='a policy has "Version" and "Statement"')
    if "Statement" not in data:
        raise PolicyError('not a policy: no "Statement"')
    version = data.get("Version")
    if version is not None and version not in ("2012-10-17", "2008-10-17"):
        raise PolicyError(f"unknown policy Version {version!r}", fix='use "2012-10-17"')
    raw = data["Statement"]
    raw = raw if isinstance(raw, list) else [raw]
    return Policy(tuple(_statement(i, s, kind) for i, s in enumerate(raw)), version)
