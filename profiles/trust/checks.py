"""The six checks of one hop, from what was gathered: ``trust``, ``identity``,
``external_id``, ``mfa``, ``duration``, ``org``; each ``pass``, ``fail`` or ``unknown``
with a detail and a fix. Pure functions: no AWS here."""

from __future__ import annotations

from dataclasses import dataclass

from profiles.doors.terminal import shown
from profiles.durations import CHAIN_CAP, format_duration
from profiles.trust.context import Tri, all3, any3, not3
from profiles.trust.evaluate import (
    Decision,
    Request,
    StatementResult,
    evaluate,
    principal_matches,
)
from profiles.trust.gather import ORG_KEYS, HopFacts
from profiles.trust.policy import PolicyError, parse

ACTION = "sts:AssumeRole"
RESULT = {True: "pass", False: "fail", None: "unknown"}
MFA_KEYS = ("aws:multifactorauthpresent", "aws:multifactorauthage")
ABOUT = {  # what each condition key is, for details and fixes
    "sts:externalid": "external_id", "aws:multifactorauthpresent": "mfa",
    "aws:multifactorauthage": "mfa", "aws:principalorgid": "org", "aws:principalorgpaths": "org",
}


@dataclass(frozen=True)
class Check:
    check: str
    result: str
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"check": self.check, "result": self.result, "detail": self.detail,
                "fix": self.fix}


def _where(result: StatementResult) -> str:
    statement = result.statement
    return f"statement {statement.index}" + (f" ({shown(statement.sid, 60)})"
                                             if statement.sid else "")


def _conds(result: StatementResult, outcome: Tri) -> list[str]:
    return [f"{c.operator} {shown(c.key, 80)}" for c, r in result.conditions if r is outcome]


def trust_decision(hop: HopFacts) -> Decision | None:
    if hop.trust is None:
        return None
    return evaluate(hop.trust, Request(ACTION, hop.caller, hop.context))


def trust(hop: HopFacts, decision: Decision | None) -> Check:
    who = hop.caller.label if hop.caller else "the caller"
    arn = shown(hop.role.role_arn)
    if hop.missing:
        return Check("trust", "fail", f"{arn} does not exist ({hop.trust_source}: "
                     "NoSuchEntity)", f"check role_arn of {hop.name}")
    if decision is None:
        tried = "; ".join(shown(p, 120) for p in hop.trust_problems[:3]) or (
            f"no configured role in account {hop.account} to read it through")
        return Check("trust", "unknown", f"cannot read the trust policy of {arn} ({tried})",
                     f"allow iam:GetRole on {arn} to a role rolecall can assume in "
                     f"{hop.account}, or pass --trust-policy FILE (or set trust_policy "
                     f"for {hop.name} in the catalog)")
    source = f" (trust policy {hop.trust_source})"
    if decision.denying:
        return Check("trust", "fail", f"{_where(decision.denying[0])} of the trust policy "
                     f"denies {shown(who)}{source}",
                     f"remove the caller from that Deny, or assume {hop.name} from another "
                     "identity")
    if decision.result == "allow":
        return Check("trust", "pass", f"{_where(decision.allowing[0])} trusts "
                     f"{shown(who)}{source}")
    allows = [r for r in decision.statements if r.statement.effect == "Allow"]
    named = [r for r in allows if r.matches_caller is not False]
    if not named:
        trusted = sorted({v for r in allows for _, v in r.statement.principal or ()})
        listed = ", ".join(shown(t, 100) for t in trusted[:4]) or "nobody"
        principal = hop.caller.arn if hop.caller and hop.caller.arn else "the caller's ARN"
        advice = " (a specific role ARN rather than an account root)" if (
            hop.caller and hop.caller.kind == "role") else ""
        return Check("trust", "fail" if hop.caller else "unknown",
                     f"no statement trusts {shown(who)}; it trusts {listed}{source}",
                     f'add "{shown(principal)}" to the Principal of the trust policy of '
                     f"{arn}{advice}")
    failing = [(r, _conds(r, False)) for r in named if r.applies is False]
    if decision.result == "implicit" and failing:
        result, conds = failing[0]
        facets = sorted({ABOUT.get(c.key.lower(), "") for c, r in result.conditions
                         if r is False} - {""})
        fix = ("see " + " and ".join(facets)) if facets else (
            "meet that condition, or change the trust policy")
        return Check("trust", "fail", f"{_where(result)} trusts {shown(who)} but its "
                     f"condition {', '.join(conds[:3])} fails{source}", fix)
    unsure = [r for r in decision.statements if r.applies is None]
    why = []
    for r in unsure[:2]:
        keys = _conds(r, None)
        why.append(f"{_where(r)} depends on {', '.join(keys[:3])}" if keys
                   else f"whether {_where(r)} names the caller is not known")
    return Check("trust", "unknown", "; ".join(why) + f", which rolecall cannot know{source}",
                 _unknown_fix(hop))


def _unknown_fix(hop: HopFacts) -> str:
    if hop.org_problem:
        return f"allow organizations:DescribeOrganization to the caller ({shown(hop.org_problem)})"
    if hop.identity_problem:
        return "allow the caller to read its own tags (iam:GetRole or iam:ListUserTags)"
    return "check that condition by hand; rolecall does not know that key"


def facet(decision: Decision | None, keys: tuple[str, ...], what: str) -> tuple[Tri, str]:
    """How the conditions on ``keys`` stand for the statements that name the caller:
    some Allow's conditions on them hold, and no Deny keyed on them applies."""
    if decision is None:
        return None, "the trust policy could not be read (see trust)"

    def on_keys(r: StatementResult) -> list[Tri]:
        return [res for c, res in r.conditions if c.key.lower() in keys]

    allows = [r for r in decision.statements
              if r.statement.effect == "Allow" and r.matches_caller is not False]
    denies = [r for r in decision.statements if r.statement.effect == "Deny"
              and r.matches_caller is not False and on_keys(r)]
    keyed = [r for r in allows if on_keys(r)]
    if not keyed and not denies:
        if not allows:
            return True, "not required: no statement trusts the caller (see trust)"
        return True, f"not required: no statement trusting the caller tests {what}"
    allowed = any3(all3(on_keys(r)) for r in allows) if allows else True
    denied = any3(r.applies for r in denies)
    result = all3([allowed, not3(denied)])
    where = _where((keyed or denies)[0])
    if result is True:
        return True, f"{where} requires {what} and the request meets it"
    if denied is True:
        return False, f"{_where([r for r in denies if r.applies][0])} denies the request on {what}"
    if result is False:
        return False, f"{where} requires {what} and the request does not meet it"
    return None, f"whether the request meets {what} in {where} is not known"


def external_id(hop: HopFacts, decision: Decision | None) -> Check:
    result, detail = facet(decision, ("sts:externalid",), "sts:ExternalId")
    sent = hop.role.external_id
    if result is True:
        note = "" if "meets" in detail or not sent else f" ({hop.name} sends one anyway)"
        return Check("external_id", "pass", f"{detail}{note}")
    if result is None:
        return Check("external_id", "unknown", detail)
    if not sent:
        return Check("external_id", "fail", f"{detail}: {hop.name} sends none",
                     f"set external_id in {hop.name}'s profile to the value the role's "
                     "owner gave you (or pass --external-id)")
    return Check("external_id", "fail", f"{detail}: the ExternalId of {hop.name} is not the "
                 "one it requires", "ask the role's owner for the ExternalId they "
                 f"issued you and set external_id of {hop.name} to it")


def mfa(hop: HopFacts, decision: Decision | None) -> Check:
    result, detail = facet(decision, MFA_KEYS, "MFA")
    how = {"session": "assumed from an MFA session", "direct": "assumed with an MFA code"}
    state = how.get(hop.mfa, "assumed without MFA" if hop.parent is None else
                    "chained from a role session")
    if result is True:
        return Check("mfa", "pass", f"{detail}; {hop.name} is {state}")
    if result is None:
        fix = None if decision is None else (
            f"set mfa_serial on {hop.name} so the code goes with this hop (direct mode)")
        why = "; MFA through a chained session is not documented" if decision else ""
        return Check("mfa", "unknown", f"{detail}; {hop.name} is {state}{why}", fix)
    if hop.mfa:
        return Check("mfa", "fail", f"{detail}; {hop.name} is {state} (the MFA session "
                     "may be older than the policy allows)",
                     f"forget the MFA session (rolecall forget mfa:...) and assume {hop.name} "
                     "again with a fresh code")
    return Check("mfa", "fail", f"{detail}: {hop.name} is {state}",
                 f"add mfa_serial = arn:aws:iam::ACCOUNT:mfa/DEVICE to {hop.name}'s profile")


def org(hop: HopFacts, decision: Decision | None) -> Check:
    result, detail = facet(decision, ORG_KEYS, "aws:PrincipalOrgID")
    account = hop.caller.account if hop.caller else "the caller's account"
    if hop.org is None:
        theirs = f"{account} is in no organization"
    elif isinstance(hop.org, str):
        theirs = f"{account} is in {shown(hop.org)}"
    else:
        theirs = "the caller's organization is not known"
    if result is True:
        return Check("org", "pass", detail + (f" ({theirs})" if "meets" in detail else ""))
    if result is None:
        fix = None if decision is None else (
            f"allow organizations:DescribeOrganization to a role in {account}"
            + (f" ({shown(hop.org_problem)})" if hop.org_problem else ""))
        return Check("org", "unknown", f"{detail}; {theirs}", fix)
    return Check("org", "fail", f"{detail}: {theirs}",
                 "assume from an account in the organization the trust policy names, or "
                 "add this organization to its aws:PrincipalOrgID condition")


def duration(hop: HopFacts) -> Check:
    asked = format_duration(hop.requested)
    how = "requested" if hop.explicit else "configured"
    limit = f"MaxSessionDuration {format_duration(hop.max_session)} ({hop.max_source})" \
        if hop.max_session else "MaxSessionDuration not known"
    if hop.chained and hop.requested > CHAIN_CAP:
        return Check("duration", "fail", f"{asked} {how} exceeds the 1 hour session limit "
                     f"for roles assumed by role chaining ({hop.name} is assumed from "
                     "temporary credentials)", "ask for 1h or less")
    if hop.max_session and hop.requested > hop.max_session:
        return Check("duration", "fail", f"{asked} {how} exceeds the {limit} of {hop.name}",
                     f"ask for at most {format_duration(hop.max_session)}, or raise it: aws "
                     f"iam update-role --role-name {shown(hop.role.role_short_name)} "
                     f"--max-session-duration {hop.requested}")
    capped = " (chained: at most 1h)" if hop.chained else ""
    if hop.max_session is None and hop.requested > CHAIN_CAP:
        return Check("duration", "unknown", f"{asked} {how}; {limit}",
                     f"allow iam:GetRole on {shown(hop.role.role_arn)}, or set max_duration "
                     f"for {hop.name} in the catalog")
    return Check("duration", "pass", f"{asked} {how}{capped}; {limit}"
                 + ("" if hop.max_session else " (every role allows 1h)"))


def _policy_decision(document: dict, request: Request) -> Decision | None:
    try:
        return evaluate(parse(document, "identity"), request)
    except PolicyError:
        return None


def _requirement(hop: HopFacts, decision: Decision | None) -> tuple[Tri, Tri]:
    """Whether the caller's identity policies, and its permission boundary, must allow
    too: always across accounts; in the same account not when the trust policy names
    the user or session directly, and a role ARN needs only the boundary (IAM guide)."""
    caller = hop.caller
    if caller is None or caller.account != hop.account or decision is None:
        return True, True
    kinds = set()
    for r in decision.statements:
        if r.statement.effect != "Allow" or r.applies is False:
            continue
        for kind, value in r.statement.principal or ():
            if principal_matches(kind, value, caller) is not True:
                continue
            if value == "*" or kind == "*":
                kinds.add("any")
            elif ":user/" in value or ":assumed-role/" in value or ":federated-user/" in value:
                kinds.add("direct")
            elif ":role/" in value:
                kinds.add("role")
            else:
                kinds.add("account")
    if "direct" in kinds:
        return False, False
    if "role" in kinds:
        return False, True
    if "any" in kinds:
        return None, None  # "*" in a trust policy, same account: not documented
    return True, True


def _allowed(decision: Decision | None) -> Tri:
    if decision is None:
        return None
    return {"allow": True, "unknown": None}.get(decision.result, False)


def identity(hop: HopFacts, decision: Decision | None) -> Check:
    caller, target = hop.caller, shown(hop.role.role_arn)
    if caller is None:
        return Check("identity", "unknown", "the caller is not known: "
                     f"{shown(hop.caller_problem or 'no credentials')}",
                     "check the base identity's credentials")
    if caller.kind == "root":
        return Check("identity", "fail", "the root user cannot call AssumeRole",
                     "use an IAM user or role as the base identity")
    who = shown(caller.arn or caller.label)
    if hop.identity is None:
        kind = caller.kind.capitalize() if caller.kind in ("user", "role") else "Role"
        return Check("identity", "unknown", f"cannot read the policies of {who} "
                     f"({shown(hop.identity_problem or 'no credentials', 160)})",
                     f"allow iam:Get{kind}, iam:List{kind}Policies, iam:Get{kind}Policy, "
                     f"iam:ListAttached{kind}Policies, iam:GetPolicy and iam:GetPolicyVersion "
                     f"on {who} to it")
    request = Request(ACTION, caller, hop.context, resource=hop.role.role_arn)
    decisions = [(p.label, _policy_decision(p.document, request))
                 for p in hop.identity.policies]
    for label, d in decisions:
        if d is not None and d.denying:
            return Check("identity", "fail", f"{shown(label)} {_where(d.denying[0])} denies "
                         f"sts:AssumeRole on {target}",
                         f"remove {target} from that Deny, or assume {hop.name} from another "
                         "identity")
    boundary = hop.identity.boundary
    bound = _policy_decision(boundary.document, request) if boundary else None
    if bound is not None and bound.denying:
        return Check("identity", "fail", f"{shown(boundary.label)} {_where(bound.denying[0])} "
                     f"denies sts:AssumeRole on {target}", "change the permission boundary")
    allow = any3(_allowed(d) for _, d in decisions)
    bound_allow = True if boundary is None else _allowed(bound)
    need_policy, need_bound = _requirement(hop, decision)
    policy_ok = True if need_policy is False else allow if need_policy else (allow or None)
    bound_ok = True if need_bound is False else bound_allow if need_bound else (
        bound_allow or None)
    maybe_denied = any(r.statement.effect == "Deny" and r.applies is None
                       for _, d in decisions for r in (d.statements if d else ()))
    if policy_ok is False:
        return Check("identity", "fail", f"no identity policy of {who} allows sts:AssumeRole "
                     f"on {target} ({len(decisions)} policies read)",
                     f"attach a policy allowing sts:AssumeRole on {target} to "
                     f"{shown(caller.name)}")
    if bound_ok is False:
        return Check("identity", "fail", f"the {shown(boundary.label)} of {who} does not "
                     f"allow sts:AssumeRole on {target}",
                     f"add sts:AssumeRole on {target} to that boundary")
    if policy_ok is None or bound_ok is None or maybe_denied:
        why = ("whether a \"*\" trust principal needs an identity policy in the same "
               "account is not documented") if None in (need_policy, need_bound) else (
            "the identity policies depend on condition keys rolecall cannot know")
        return Check("identity", "unknown", f"{why} ({who})",
                     f"check the policies of {shown(caller.name)} by hand")
    if need_policy is False:
        detail = f"not needed: the trust policy names {who} directly, in the same account"
    else:
        label, d = next((lbl, d) for lbl, d in decisions if d and d.result == "allow")
        detail = f"{shown(label)} {_where(d.allowing[0])} allows sts:AssumeRole on {target}"
    return Check("identity", "pass", detail + (" (within its permission boundary)"
                                               if boundary and need_bound else ""))


def hop_checks(hop: HopFacts) -> list[Check]:
    decision = trust_decision(hop)
    return [trust(hop, decision), identity(hop, decision), external_id(hop, decision),
            mfa(hop, decision), duration(hop), org(hop, decision)]


def verdict(results: list[str]) -> str:
    if "fail" in results or "denied" in results:
        return "denied"
    return "unknown" if "unknown" in results else "allowed"
