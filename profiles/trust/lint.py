"""``rolecall lint``: the common trust-policy mistakes as findings RC101-RC110 (see
docs/architecture.md, Doctor and lint),
each with a level, the statement index and a fix. A finding is a claim: a policy no rule
flags is silent. A condition restricts only if it can fail (``StringLike`` on ``*``
restricts nothing; neither does ``...IfExists`` on a key the caller may simply omit)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from profiles.doors.terminal import shown
from profiles.durations import format_duration
from profiles.trust.conditions import POSITIVE_STRING, like
from profiles.trust.policy import Condition, Policy, Statement

LEVELS = ("info", "warn", "high", "critical")
CALLER_KEYS = ("aws:principalorgid", "aws:principalaccount", "aws:principalarn",
               "aws:sourceaccount", "aws:sourceorgid", "aws:principalorgpaths",
               "aws:sourceorgpaths", "aws:sourcearn")
ALWAYS_PRESENT = ("aws:principalaccount", "aws:principalarn")  # for any AWS principal
ARN_KEYS = ("aws:principalarn", "aws:sourcearn")
NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
           "ArnNotLike")
TRUST_ACTIONS = ("sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity")
BEYOND = ("sts:TagSession", "sts:SetSourceIdentity", "sts:SetContext", "sts:AssumeRoot",
          "sts:GetSessionToken", "iam:PassRole", "s3:GetObject")
WEB_IDENTITY = ("accounts.google.com", "graph.facebook.com", "www.amazon.com",
                "cognito-identity.amazonaws.com")
_ARN = re.compile(r"arn:[a-z-]+:(iam|sts)::(\d{12}):(.+)")


@dataclass(frozen=True)
class Finding:
    id: str
    level: str
    source: str
    statement: int | None
    detail: str
    fix: str

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "level": self.level, "source": self.source,
                "statement": self.statement, "detail": self.detail, "fix": self.fix}


def _wild_only(value: str) -> bool:
    return value != "" and set(value) <= {"*", "?"}


def _value_restricts(cond: Condition, value: str) -> bool:
    if _wild_only(value) or value.strip().lower() == "${" + cond.key.lower() + "}":
        return False
    if cond.key.lower() in ARN_KEYS and cond.base in ("StringLike", "ArnLike", "ArnEquals"):
        parts = value.split(":")
        return len(parts) >= 5 and parts[4] != "" and not _wild_only(parts[4])
    return True


def restricts(cond: Condition, keys: tuple[str, ...], present: tuple[str, ...] = ()) -> bool:
    """A positive match on one of ``keys`` that can fail for some caller."""
    key = cond.key.lower()
    if key not in keys or cond.base not in POSITIVE_STRING or cond.qualifier == "ForAllValues":
        return False
    if cond.if_exists and key not in present:
        return False
    return bool(cond.values) and all(_value_restricts(cond, v) for v in cond.values)


def _assumes(statement: Statement, action: str = "sts:AssumeRole") -> bool:
    if statement.action is not None:
        return any(like(action, p, ignore_case=True) for p in statement.action)
    return not any(like(action, p, ignore_case=True) for p in statement.not_action or ())


def _anyone(statement: Statement) -> bool:
    return any(k == "*" or (k == "AWS" and v == "*") for k, v in statement.principal or ())


def _fenced(policy: Policy) -> bool:
    """A Deny on every principal whose only conditions are negated matches on the caller
    (``StringNotEquals aws:PrincipalOrgID o-...``): it restricts who may assume."""
    for s in policy.statements:
        if s.effect != "Deny" or not _anyone(s) or not _assumes(s):
            continue
        if not s.conditions or all(
                c.base in NEGATED and not c.qualifier and c.key.lower() in CALLER_KEYS
                and c.values and all(_value_restricts(c, v) for v in c.values)
                for c in s.conditions):
            return True
    return False


def _mfa_fenced(policy: Policy) -> bool:
    """A Deny for any caller without MFA (``BoolIfExists`` false, or ``Null`` true)."""
    for s in policy.statements:
        if s.effect != "Deny" or not _assumes(s) or len(s.conditions) != 1:
            continue
        c = s.conditions[0]
        if c.key.lower() == "aws:multifactorauthpresent" and c.base == "Bool" and \
                c.if_exists and [v.lower() for v in c.values] == ["false"]:
            return True
        if c.key.lower() in ("aws:multifactorauthpresent", "aws:multifactorauthage") and \
                c.base == "Null" and [v.lower() for v in c.values] == ["true"]:
            return True
    return False


def _requires_mfa(statement: Statement) -> bool:
    for c in statement.conditions:
        key = c.key.lower()
        if c.if_exists or c.qualifier:
            continue
        if key == "aws:multifactorauthpresent" and c.base == "Bool" and \
                [v.lower() for v in c.values] == ["true"]:
            return True
        if key == "aws:multifactorauthage" and c.base in ("NumericLessThan",
                                                          "NumericLessThanEquals"):
            return True
    return False


def _account(value: str) -> tuple[str, str] | None:
    """``(account, kind)`` of an AWS principal: kind ``root``, ``user``, ``role``, ``session``."""
    if re.fullmatch(r"\d{12}", value):
        return value, "root"
    found = _ARN.fullmatch(value)
    if found is None:
        return None
    service, account, resource = found.groups()
    if service == "iam" and resource == "root":
        return account, "root"
    kind = resource.split("/", 1)[0]
    return account, {"user": "user", "role": "role"}.get(kind, "session")


def _beyond(statement: Statement) -> list[str]:
    out = []
    for pattern in statement.action or ():
        if "*" in pattern or "?" in pattern:
            if any(like(a, pattern, ignore_case=True) for a in BEYOND):
                out.append(pattern)
        elif pattern.lower() not in TRUST_ACTIONS:
            out.append(pattern)
    return out


def _oidc_provider(kind: str, value: str) -> str | None:
    if kind != "Federated":
        return None
    if ":oidc-provider/" in value:
        return value.split(":oidc-provider/", 1)[1]
    return value if value in WEB_IDENTITY else None


def _sub_restricted(statement: Statement, provider: str, claim: str = "sub") -> bool:
    key = f"{provider}:{claim}".lower()
    for c in statement.conditions:
        if c.key.lower() != key or c.base not in POSITIVE_STRING:
            continue
        values = [v[5:] if provider == "token.actions.githubusercontent.com" and
                  v.startswith("repo:") else v for v in c.values]
        if values and all(not _wild_only(v.replace(":", "")) for v in values):
            return True
    return False


class _Rules:
    def __init__(self, source: str, known: set[str], policy: Policy) -> None:
        self.source, self.known, self.policy = source, known, policy
        self.found: list[Finding] = []

    def add(self, rule: str, level: str, statement: int | None, detail: str, fix: str) -> None:
        self.found.append(Finding(rule, level, self.source, statement, detail, fix))

    def statement(self, s: Statement, policy: Policy) -> None:
        i = s.index
        if s.not_principal is not None or s.not_action is not None:
            which = "NotPrincipal" if s.not_principal is not None else "NotAction"
            self.add("RC107", "warn", i, f"Allow with {which}: it grants everything it does "
                     "not name", f"name the principals and actions allowed instead of {which}")
        if not _assumes(s) and not any(_oidc_provider(k, v) for k, v in s.principal or ()):
            return
        conds = s.conditions
        if _anyone(s) and _assumes(s) and not _fenced(policy) and not any(
                restricts(c, CALLER_KEYS, ALWAYS_PRESENT) for c in conds):
            others = sorted({shown(c.key, 60) for c in conds})
            self.add("RC101", "critical", i, 'Principal "*" is allowed with no condition '
                     "restricting the caller" + (f" (conditions on {', '.join(others)} do "
                                                 "not)" if others else "")
                     + ": any AWS account can assume",
                     "restrict it to your organization (StringEquals aws:PrincipalOrgID "
                     "o-...) or name specific role ARNs as Principal")
        external = any(restricts(c, ("sts:externalid",)) for c in conds)
        narrowed = any(restricts(c, ("aws:principalarn",), ALWAYS_PRESENT) for c in conds)
        for kind, value in s.principal or ():
            self.principal(s, kind, value, external, narrowed)
        for c in conds:
            if c.key.lower() == "sts:externalid":
                self.external_id(i, c)
        if beyond := _beyond(s):
            self.add("RC109", "info", i, "actions beyond sts:AssumeRole: "
                     + ", ".join(shown(a, 60) for a in beyond[:4]),
                     "allow only sts:AssumeRole unless the callers need session tags or a "
                     "source identity")

    def principal(self, s: Statement, kind: str, value: str, external: bool,
                  narrowed: bool) -> None:
        i = s.index
        if provider := _oidc_provider(kind, value):
            # an app's own audience (Cognito, Google...) narrows as much as a subject; an
            # OIDC provider's audience (sts.amazonaws.com for GitHub and EKS) does not
            app_audience = provider in WEB_IDENTITY and _sub_restricted(s, provider, "aud")
            if not _sub_restricted(s, provider) and not app_audience:
                self.add("RC110", "high", i, f"web-identity principal {shown(value, 120)} with "
                         f"no condition narrowing {shown(provider, 80)}:sub: any repository or "
                         "workload of that provider can assume",
                         f"add a StringEquals or StringLike condition on {shown(provider, 80)}"
                         ':sub naming the repository and branch (e.g. "repo:ORG/REPO:ref:'
                         'refs/heads/main")')
            return
        parsed = _account(value) if kind == "AWS" else None
        if parsed is None:
            return
        account, what = parsed
        if what == "root" and not narrowed:
            self.add("RC102", "warn", i, f"account root principal {shown(value, 80)}: any "
                     f"identity in {account} with sts:AssumeRole can assume (looser than a "
                     "role ARN)", "trust a specific role ARN instead "
                     f"(arn:aws:iam::{account}:role/NAME)")
        if what == "user":
            self.add("RC103", "warn", i, f"IAM user principal {shown(value, 100)}: long-lived "
                     "keys for automation", "trust the role the automation runs as (a "
                     "specific role ARN), not an IAM user")
            if not _requires_mfa(s) and not _mfa_fenced(self.policy):
                self.add("RC106", "warn", i, f"IAM user principal {shown(value, 100)} with no "
                         "aws:MultiFactorAuthPresent condition (BoolIfExists lets long-lived "
                         "keys through)", 'add "Condition": {"Bool": '
                         '{"aws:MultiFactorAuthPresent": "true"}}')
        if account not in self.known and not external:
            self.add("RC104", "high", i, f"{shown(value, 100)} is in account {account}, not "
                     "known to be yours (not in the AWS config, the catalog or the "
                     "organization), and no sts:ExternalId condition guards it: the confused "
                     "deputy", "if it is a third party, require an ExternalId unique to each "
                     "of its customers (StringEquals sts:ExternalId); if it is yours, add "
                     f'[accounts."{account}"] to the catalog')

    def external_id(self, i: int, c: Condition) -> None:
        if c.base in NEGATED:
            problem = f"{c.operator} matches every ExternalId but the ones named"
        elif c.if_exists or c.qualifier == "ForAllValues":
            problem = f"{c.operator} passes when the caller sends no ExternalId at all"
        elif c.base in ("StringLike", "ArnLike") and any("*" in v or "?" in v for v in c.values):
            problem = f"{c.operator} matches ExternalIds by wildcard"
        elif any(len(v) < 8 for v in c.values):
            problem = "an ExternalId shorter than 8 characters"
        else:
            return
        self.add("RC105", "warn", i, f"sts:ExternalId condition: {problem}",
                 "require StringEquals sts:ExternalId with a unique value of 8 or more "
                 "characters per third-party customer")


def lint(policy: Policy, source: str, *, known_accounts: set[str] | frozenset[str] = frozenset(),
         max_session: int | None = None, min_duration: int | None = None) -> list[Finding]:
    rules = _Rules(source, set(known_accounts), policy)
    for statement in policy.statements:
        if statement.effect == "Allow":
            rules.statement(statement, policy)
    if min_duration and max_session and max_session < min_duration:
        rules.add("RC108", "warn", None, f"MaxSessionDuration {format_duration(max_session)} "
                  f"is below {format_duration(min_duration)}: longer runs (a 90-minute "
                  "Terraform plan) outlive their session",
                  f"raise it: aws iam update-role --max-session-duration {min_duration}")
    return sorted(rules.found, key=lambda f: (-1 if f.statement is None else f.statement, f.id))


def known_accounts(inventory) -> set[str]:
    """Accounts known to be the user's: every account the AWS config and the catalog name
    (role ARNs, MFA devices, catalog accounts)."""
    found = {role.account_id for role in inventory.roles.values() if role.account_id}
    found |= set(inventory.accounts)
    found |= {m for role in inventory.roles.values() if role.mfa_serial
              for m in re.findall(r"::(\d{12}):", role.mfa_serial)}
    return found


def worst(findings: list[Finding]) -> int:
    """The index in LEVELS of the worst finding, -1 when there is none."""
    return max((LEVELS.index(f.level) for f in findings), default=-1)
