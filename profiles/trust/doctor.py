"""``rolecall doctor``: hop by hop, whether the chain to a role can be assumed and why
not. It evaluates locally, as IAM does, and never takes a successful call as proof.
:func:`diagnose` returns plain data, for the CLI and for a board screen alike."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from profiles.durations import (
    CHAIN_CAP,
    MAX_DURATION,
    MIN_DURATION,
    format_duration,
    parse_duration,
)
from profiles.errors import RolecallError, UsageError
from profiles.sessions import sts
from profiles.sessions.plan import DEFAULT_DURATION
from profiles.trust import checks, reads
from profiles.trust.checks import Check
from profiles.trust.evaluate import Caller
from profiles.trust.gather import ORG_KEYS, Gatherer, HopFacts, mfa_keys, referenced
from profiles.trust.source import read_policy_file

NOT_MODELLED = {"scp": "service control policies", "rcp": "resource control policies",
                "session_policy": "session policies"}
NOT_EVALUATED = (
    Check("scp", "unknown", "service control policies (SCPs) of the caller's organization "
          "are not evaluated: an SCP may still deny sts:AssumeRole"),
    Check("rcp", "unknown", "resource control policies (RCPs) of the role's organization "
          "are not evaluated: an RCP may still deny the assumption"),
    Check("session_policy", "unknown", "session policies of the caller's session are not "
          "evaluated (rolecall passes none; a base session from elsewhere may carry one)"),
)


@dataclass(frozen=True)
class Hop:
    role: str
    role_arn: str
    verdict: str
    checks: tuple[Check, ...]
    caller: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"role": self.role, "role_arn": self.role_arn, "verdict": self.verdict,
                "caller": self.caller, "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class Report:
    role: str
    verdict: str  # "allowed", "denied" or "unknown"
    hops: tuple[Hop, ...]
    not_evaluated: tuple[Check, ...] = field(default=NOT_EVALUATED)

    @property
    def exit_code(self) -> int:
        return {"allowed": 0, "denied": 1}.get(self.verdict, 3)

    def to_json(self) -> dict[str, object]:
        return {"role": self.role, "verdict": self.verdict,
                "hops": [h.to_json() for h in self.hops],
                "not_evaluated": [c.to_json() for c in self.not_evaluated]}


def _requested(duration: str | int | None) -> int | None:
    if duration is None:
        return None
    seconds = parse_duration(duration)
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise UsageError(f"duration {format_duration(seconds)} is outside 15m to 12h",
                         fix="ask for 900 to 43200 seconds")
    return seconds


def diagnose(ws, name: str, *, trust_policy: str | None = None,
             duration: str | int | None = None,
             clock: Callable[[], float] = time.time) -> Report:
    """Explain whether ``name`` can be assumed through ``ws`` (a Workspace). Bad input
    (an unknown role, a bad duration, a trust-policy file that is not a policy) raises
    UsageError; AWS that cannot be reached raises AwsError."""
    plan = ws.engine.plan(name)
    if plan.steps[-1].kind == "sso":
        raise UsageError(f"{name} is an IAM Identity Center role: no trust policy decides "
                         "who takes it, its assignment to you does",
                         fix="`rolecall sso sync` lists the roles assigned to you; doctor "
                         "explains roles assumed from it")
    explicit = _requested(duration)
    override = None
    if trust_policy is not None:
        source = read_policy_file(trust_policy)
        override = (f"from {source.label}", source.policy)
    gatherer = Gatherer(ws, clock=clock)
    base_keys, base_caller, base_problem = gatherer.base(plan)
    settings = ws.inventory.settings
    role_steps = [(i, s) for i, s in enumerate(plan.steps) if s.kind == "role"]
    parents = _parents(gatherer, [s.role for _, s in role_steps[:-1]])
    hops = []
    for position, (index, step) in enumerate(role_steps):
        role = step.role
        last = position == len(role_steps) - 1
        parent = role_steps[position - 1][1].role if position else None
        hop = HopFacts(name=role.name, role=role, chained=step.chained,
                       parent=parent.name if parent else None)
        if parent is None:
            hop.caller, hop.caller_problem, own = base_caller, base_problem, base_keys
        else:
            own, hop.caller, hop.caller_problem = parents[parent.name]
        hop.mfa, mfa = mfa_keys(gatherer, plan, index, position)
        seconds = role.duration or settings.duration or DEFAULT_DURATION
        if last and explicit is not None:
            hop.requested, hop.explicit = explicit, True
        else:
            seconds = min(seconds, CHAIN_CAP) if step.chained else seconds
            hop.requested = min(seconds, role.max_duration) if role.max_duration else seconds
        gatherer.identity(hop, own)
        gatherer.trust(hop, override if last else None)
        if hop.trust is not None and referenced(hop.trust) & set(ORG_KEYS):
            gatherer.organization(hop, own)
        gatherer.context(hop, mfa, gatherer.base_temporary)
        results = checks.hop_checks(hop)
        hops.append(Hop(role.name, role.role_arn, checks.verdict([c.result for c in results]),
                        tuple(results), hop.caller.label if hop.caller else None))
    return Report(name, checks.verdict([h.verdict for h in hops]), tuple(hops))


def _parents(gatherer: Gatherer, roles: list) -> dict[str, tuple]:
    """Each chained hop's caller is its parent role's session: every parent is assumed
    first, in order (cache first), to ask STS who it is and to read through it. After a
    parent that cannot be assumed, the callers are still known from the config."""
    out: dict[str, tuple] = {}
    problem = None
    for role in roles:
        caller = Caller("role", role.account_id, role.role_arn, role.role_short_name)
        if problem is None:
            try:
                session = gatherer.ws.assume(role.name).session
            except RolecallError as exc:
                problem = f"could not assume {role.name}: {exc.message}"
            else:
                assert session.credentials is not None
                keys = reads.Keys.of(session.credentials)
                gatherer.remember(role.account_id, f"{role.name}'s session", keys)
                try:
                    arn = reads.whoami(keys, sts.default_region(role.region))
                except reads.Unreadable:
                    arn = session.arn
                out[role.name] = (keys, replace(caller, session_arn=arn), None)
                continue
        out[role.name] = (None, caller, problem)
    return out
