"""Policy evaluation as IAM documents it: a statement applies when its principal, action,
resource and every condition match; an applicable Deny wins, else an applicable Allow
allows, else the request is implicitly denied. Every answer is three-valued: what
rolecall cannot know makes a result ``unknown``, never a guess."""

from __future__ import annotations

import re
from dataclasses import dataclass

from profiles.trust import conditions
from profiles.trust.context import Context, Tri, all3, any3, not3
from profiles.trust.policy import Condition, Policy, Statement

_ARN = re.compile(r"arn:([a-z-]+):(iam|sts)::(\d{12}):(.+)")


@dataclass(frozen=True)
class Caller:
    """The principal signing a request. ``arn`` is what ``aws:PrincipalArn`` holds: the
    user, the role (with its path; None when the path is not known) or the root ARN."""

    kind: str  # "user", "role" (an assumed-role session), "root" or "federated"
    account: str
    arn: str | None
    name: str = ""  # the user or role name
    session_arn: str | None = None  # the assumed-role or federated-user session ARN
    partition: str = "aws"

    @property
    def principal_type(self) -> str:
        return {"user": "User", "role": "AssumedRole", "root": "Account",
                "federated": "FederatedUser"}[self.kind]

    @property
    def label(self) -> str:
        return self.session_arn or self.arn or f"a session of role {self.name}"


@dataclass(frozen=True)
class Request:
    action: str
    caller: Caller | None  # None: who signs is not known
    context: Context
    resource: str | None = None


@dataclass(frozen=True)
class StatementResult:
    statement: Statement
    principal: Tri
    action: Tri
    resource: Tri
    conditions: tuple[tuple[Condition, Tri], ...]

    @property
    def applies(self) -> Tri:
        return all3([self.principal, self.action, self.resource,
                     *(result for _, result in self.conditions)])

    @property
    def matches_caller(self) -> Tri:
        """Principal and action match, whatever the conditions say."""
        return all3([self.principal, self.action, self.resource])


@dataclass(frozen=True)
class Decision:
    """``allow``, ``deny`` (an explicit Deny applies), ``implicit`` (no Allow applies)
    or ``unknown``; with every statement's result for the explanation."""

    result: str
    statements: tuple[StatementResult, ...]

    @property
    def allowing(self) -> list[StatementResult]:
        return [s for s in self.statements if s.statement.effect == "Allow" and s.applies]

    @property
    def denying(self) -> list[StatementResult]:
        return [s for s in self.statements if s.statement.effect == "Deny" and s.applies]


def _entry(value: str) -> tuple[str, str, str, str] | None:
    """``(partition, service, account, resource)`` of a principal ARN; a bare account id
    is that account's root."""
    if re.fullmatch(r"\d{12}", value):
        return "aws", "iam", value, "root"
    found = _ARN.fullmatch(value)
    return found.groups() if found else None  # type: ignore[return-value]


def _same_name(want: str, have: str) -> Tri:
    """Role names are unique regardless of case in IAM; an ARN that differs only in case
    may or may not resolve to the same role."""
    return True if want == have else None if want.lower() == have.lower() else False


def principal_matches(kind: str, value: str, caller: Caller | None) -> Tri:
    """One ``Principal`` entry against the caller. Wildcards are not allowed inside a
    principal ARN, so anything but ``*`` is compared whole."""
    if kind == "*" or (kind == "AWS" and value == "*"):
        return True
    if kind != "AWS":
        return False  # Service, Federated, CanonicalUser: never an AssumeRole caller
    if caller is None:
        return None
    entry = _entry(value)
    if entry is None:
        return False
    partition, service, account, resource = entry
    if account != caller.account or partition != caller.partition:
        return False
    if service == "iam" and resource == "root":
        return True
    if service == "iam" and resource.startswith("user/"):
        return caller.kind == "user" and caller.arn == value
    if service == "iam" and resource.startswith("role/"):
        if caller.kind != "role":
            return False
        if caller.arn is not None:
            return _same_name(value, caller.arn)
        return None if resource.rsplit("/", 1)[-1].lower() == caller.name.lower() else False
    if service == "sts" and resource.startswith(("assumed-role/", "federated-user/")):
        if caller.session_arn is not None:
            return caller.session_arn == value
        named = resource.split("/")[1] == caller.name
        return None if caller.kind == "role" and named else False
    return False


def _entities(caller: Caller) -> list[str | None]:
    """What a NotPrincipal must list to exempt the caller: its account, and its user, or
    its role and session (IAM may check each of them)."""
    root = f"arn:{caller.partition}:iam::{caller.account}:root"
    if caller.kind == "root":
        return [root]
    if caller.kind == "role":
        return [root, caller.arn, caller.session_arn]
    return [root, caller.arn if caller.kind == "user" else caller.session_arn]


def not_principal_matches(entries: tuple[tuple[str, str], ...], caller: Caller | None) -> Tri:
    """A NotPrincipal statement applies to callers it does not list. It exempts the caller
    only when it lists every entity IAM may check; listing some of them 'might' deny
    (the IAM guide's word), so that is unknown."""
    if any(k == "*" or (k == "AWS" and v == "*") for k, v in entries):
        return False
    if caller is None:
        return None

    def listed(entity: str | None) -> Tri:
        if entity is None:
            return None
        parsed = _entry(entity)
        return any(k == "AWS" and (v == entity or (parsed is not None and _entry(v) == parsed))
                   for k, v in entries)

    marks = [listed(e) for e in _entities(caller)]
    if all(m is True for m in marks):
        return False
    if all(m is False for m in marks):
        return True
    return None


def _principal(statement: Statement, caller: Caller | None) -> Tri:
    if statement.principal is not None:
        return any3(principal_matches(k, v, caller) for k, v in statement.principal)
    if statement.not_principal is not None:
        return not_principal_matches(statement.not_principal, caller)
    return True  # an identity policy: the principal is the identity it is attached to


def _action(statement: Statement, action: str) -> Tri:
    if statement.action is not None:
        return any(conditions.like(action, p, ignore_case=True) for p in statement.action)
    assert statement.not_action is not None
    return not any(conditions.like(action, p, ignore_case=True) for p in statement.not_action)


def _resource(statement: Statement, request: Request, variables: bool) -> Tri:
    if request.resource is None or (statement.resource is None
                                    and statement.not_resource is None):
        return True  # a trust policy names no Resource: the role itself
    patterns = statement.resource or statement.not_resource or ()
    hit = any3(conditions.like(request.resource, p, request.context, variables)
               for p in patterns)
    return hit if statement.resource is not None else not3(hit)


def statement_result(statement: Statement, request: Request, variables: bool) -> StatementResult:
    return StatementResult(
        statement,
        _principal(statement, request.caller),
        _action(statement, request.action),
        _resource(statement, request, variables),
        tuple((c, conditions.evaluate(c, request.context, variables))
              for c in statement.conditions),
    )


def decide(results: list[StatementResult] | tuple[StatementResult, ...]) -> str:
    allow = any3(r.applies for r in results if r.statement.effect == "Allow")
    deny = any3(r.applies for r in results if r.statement.effect == "Deny")
    if deny is True:
        return "deny"
    if allow is False:
        return "implicit"
    if deny is None or allow is None:
        return "unknown"
    return "allow"


def evaluate(policy: Policy, request: Request) -> Decision:
    results = tuple(statement_result(s, request, policy.variables) for s in policy.statements)
    return Decision(decide(results), results)
