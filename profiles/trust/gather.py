"""What doctor reads for each hop of a chain: who the caller is, the target's trust policy
and ``MaxSessionDuration``, the caller's identity policies, its organization, and the
condition keys the ``AssumeRole`` request will carry. Reads go through the parent's
session, else any configured role in the account that rolecall can assume."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from profiles.config.tags import render_source_identity, source_identity_of
from profiles.errors import AwsError, ConfigError, RolecallError
from profiles.model import Role
from profiles.sessions import names, sts
from profiles.sessions.plan import DEFAULT_DURATION
from profiles.trust import reads
from profiles.trust.context import MISSING, UNKNOWN, Context
from profiles.trust.evaluate import Caller
from profiles.trust.policy import Policy, PolicyError, parse
from profiles.trust.source import PolicySource, read_policy_file

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
FRESH_TRIES = 3  # configured roles assumed (per account) just to read through them
ORG_KEYS = ("aws:principalorgid", "aws:principalorgpaths")


@dataclass
class HopFacts:
    """Everything the checks need for one ``AssumeRole`` of a chain."""

    name: str
    role: Role
    chained: bool
    parent: str | None
    caller: Caller | None = None
    caller_problem: str | None = None
    trust: Policy | None = None
    trust_source: str = ""
    trust_problems: list[str] = field(default_factory=list)
    missing: bool = False  # GetRole said NoSuchEntity
    max_session: int | None = None
    max_source: str = ""
    identity: reads.IdentityFacts | None = None
    identity_problem: str | None = None
    org: str | None | object = UNKNOWN
    org_problem: str | None = None
    mfa: str = ""  # "session", "direct" or ""
    requested: int = DEFAULT_DURATION
    explicit: bool = False
    target_tags: dict[str, str] | None = None
    context: Context = field(default_factory=Context)

    @property
    def account(self) -> str:
        return self.role.account_id


def referenced(policy: Policy | None) -> set[str]:
    """Condition keys a policy tests, and the keys of the variables it uses, lower-cased."""
    found: set[str] = set()
    for statement in policy.statements if policy else ():
        for cond in statement.conditions:
            found.add(cond.key.lower())
            for value in cond.values:
                found |= {m.split(",")[0].strip().lower() for m in _VARIABLE.findall(value)}
    return found


class Gatherer:
    """Reads for doctor through a workspace (its sessions and engine); credentials found
    for an account are reused for every read in it."""

    def __init__(self, ws, *, clock: Callable[[], float] = time.time) -> None:
        self.ws = ws
        self.clock = clock
        self.keys: dict[str, list[tuple[str, reads.Keys]]] = {}
        self.tried: set[str] = set()
        self.orgs: dict[str, str | None] = {}
        self.base_temporary: bool | None = None

    # -- credentials ----------------------------------------------------------------------

    def _live(self) -> dict[str, object]:
        now = self.ws.now()
        return {s.role: s for s in self.ws.sessions()
                if s.kind == "role" and s.seconds_left(now) > 0}

    def _assume(self, name: str) -> reads.Keys:
        session = self.ws.assume(name).session
        assert session.credentials is not None
        keys = reads.Keys.of(session.credentials)
        self.remember(self.ws.inventory.role(name).account_id, f"{name}'s session", keys)
        return keys

    def remember(self, account: str, label: str, keys: reads.Keys) -> None:
        known = self.keys.setdefault(account, [])
        if all(label != seen for seen, _ in known):
            known.append((label, keys))

    def readers(self, account: str, target: str | None = None
                ) -> Iterator[tuple[str, reads.Keys]]:
        """Credentials in ``account``: those already found, then configured roles there
        (live sessions first, the ``target`` itself only if it has one; a fresh one only
        when no MFA code is needed)."""
        yield from list(self.keys.get(account, ()))
        live = self._live()
        roles = [r for r in self.ws.inventory.roles.values() if r.account_id == account
                 and (r.name != target or r.name in live)]
        roles.sort(key=lambda r: r.name not in live)
        fresh = 0
        for role in roles:
            if role.name in self.tried:
                continue
            plan = self.ws.engine.plan(role.name)
            needs_code = any(s.serial for s in plan.steps) and role.name not in live
            if role.name not in live and (needs_code or fresh >= FRESH_TRIES):
                continue
            self.tried.add(role.name)
            fresh += role.name not in live
            try:
                keys = self._assume(role.name)
            except RolecallError:
                continue
            yield f"{role.name}'s session", keys

    def base(self, plan) -> tuple[reads.Keys | None, Caller | None, str | None]:
        try:
            target = plan.steps[-1].role
            if plan.steps[0].kind == "sso":  # the first role's caller: the SSO role's session
                keys = self._assume(plan.steps[0].role.name)
            else:
                frozen = sts.base_credentials(self.ws.inventory, plan.base, target.name,
                                              target.region)
                keys = reads.Keys(frozen.access_key, frozen.secret_key, frozen.token)
        except RolecallError as exc:
            return None, None, exc.message
        self.base_temporary = keys.temporary
        region = sts.default_region(*(s.role.region for s in plan.steps[:1] if s.role),
                                plan.base.region)
        try:
            caller = reads.caller_identity(keys, region)
        except reads.Unreadable as exc:
            return keys, None, f"GetCallerIdentity as {plan.base.label} failed: {exc.reason}"
        self.remember(caller.account, f"the base identity {plan.base.label}", keys)
        return keys, caller, None

    # -- one hop --------------------------------------------------------------------------

    def trust(self, hop: HopFacts, override: tuple[str, Policy] | None) -> None:
        """The trust policy and MaxSessionDuration: GetRole through a reader in the
        role's account; ``override`` (``--trust-policy``) wins for the policy; the
        catalog's ``trust_policy`` file and ``max_duration`` are the fallbacks."""
        for label, keys in self.readers(hop.account, hop.name):
            try:
                facts = reads.get_role(keys, hop.role.role_short_name)
            except reads.NotFound:
                hop.missing = True
                hop.trust_source = f"GetRole through {label}"
                return
            except reads.Unreadable as exc:
                hop.trust_problems.append(f"{label}: {exc.permission} {exc.reason}")
                continue
            hop.trust = parse(facts.trust, "trust")
            hop.trust_source = f"read with iam:GetRole through {label}"
            hop.max_session, hop.max_source = facts.max_session, "iam:GetRole"
            hop.target_tags = facts.tags
            break
        if override is not None:
            hop.trust_source, hop.trust = override
        elif hop.trust is None and hop.role.trust_policy and hop.role.registry and \
                not Path(hop.role.trust_policy).is_absolute():  # in the registry's copy
            # lazy: registries' policies only for their roles
            from profiles.registries import policies

            try:
                source = policies.of_role(hop.role)
            except PolicyError as exc:
                raise ConfigError(f"trust_policy of {hop.name}: {exc.message}",
                                  fix=exc.fix or "fix the registry") from None
            hop.trust, hop.trust_source = source.policy, f"from {source.label}"
        elif hop.trust is None and hop.role.trust_policy:
            path = self.catalog_path(hop.role.trust_policy)
            try:
                hop.trust = read_policy_file(path).policy
            except PolicyError as exc:
                raise ConfigError(f"trust_policy of {hop.name} ({path}): {exc.message}",
                                  fix=exc.fix or "fix that file or the catalog") from None
            hop.trust_source = f"from the catalog's trust_policy {path}"
        if hop.max_session is None and hop.role.max_duration:
            hop.max_session, hop.max_source = hop.role.max_duration, "the catalog's max_duration"

    def catalog_path(self, text: str) -> Path:
        path = Path(text).expanduser()
        catalog = self.ws.inventory.catalog_file
        return path if path.is_absolute() or catalog is None else Path(catalog).parent / path

    def identity(self, hop: HopFacts, own: reads.Keys | None) -> None:
        caller = hop.caller
        if caller is None or caller.kind not in ("user", "role"):
            return
        candidates = itertools.chain([("the caller itself", own)] if own else [],
                                     self.readers(caller.account))
        problems = []
        for label, keys in candidates:
            try:
                hop.identity = reads.identity(keys, caller)
                return
            except (reads.Unreadable, reads.NotFound) as exc:
                problems.append(f"{label}: {exc}")
        hop.identity_problem = "; ".join(problems[:3]) or (
            f"no credentials in account {caller.account}")

    def organization(self, hop: HopFacts, own: reads.Keys | None) -> None:
        caller = hop.caller
        if caller is None:
            return
        if caller.account in self.orgs:
            hop.org = self.orgs[caller.account]
            return
        candidates = itertools.chain([("the caller", own)] if own else [],
                                     self.readers(caller.account))
        for label, keys in candidates:
            try:
                hop.org = self.orgs[caller.account] = reads.organization(keys)
                return
            except reads.Unreadable as exc:
                hop.org_problem = f"{label}: {exc.permission} {exc.reason}"
        hop.org_problem = hop.org_problem or f"no credentials in account {caller.account}"

    def context(self, hop: HopFacts, mfa: tuple[object, object], temporary: bool | None) -> None:
        """The condition keys of the AssumeRole request, each known, absent or unknown."""
        caller, settings = hop.caller, self.ws.inventory.settings
        now = self.clock()
        try:
            session_name: object = names.resolve(
                None, hop.role.session_name or settings.session_name, hop.role.name)
        except RolecallError:
            session_name = UNKNOWN
        tags = hop.identity.tags if hop.identity else None
        long_term = temporary is False
        known: dict[str, object] = {
            "aws:PrincipalAccount": caller.account if caller else UNKNOWN,
            "aws:PrincipalArn": (caller.arn or UNKNOWN) if caller else UNKNOWN,
            "aws:PrincipalType": caller.principal_type if caller else UNKNOWN,
            "aws:username": (caller.name if caller.kind == "user" else None)
            if caller else UNKNOWN,
            "aws:PrincipalOrgID": hop.org,
            "aws:PrincipalOrgPaths": None if hop.org is None else UNKNOWN,
            "sts:ExternalId": hop.role.external_id,
            "sts:RoleSessionName": session_name,
            "aws:MultiFactorAuthPresent": mfa[0], "aws:MultiFactorAuthAge": mfa[1],
            "aws:SourceIdentity": None if long_term else UNKNOWN,
            "sts:SourceIdentity": None, "sts:TransitiveTagKeys": None, "aws:TagKeys": None,
            "aws:TokenIssueTime": None if long_term and hop.parent is None and not hop.mfa
            else UNKNOWN,
            "aws:CurrentTime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now)),
            "aws:RequestedRegion": sts.default_region(hop.role.region),
            "aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false",
            "aws:CalledVia": None, "aws:SourceAccount": None, "aws:SourceArn": None,
            "aws:SourceOrgID": None, "aws:SourceOrgPaths": None,
        }
        closed = ["aws:RequestTag/"]
        known.update(_tagging(hop.role, settings, chained=hop.parent is not None))
        if tags is not None:
            known.update({f"aws:PrincipalTag/{k}": v for k, v in tags.items()})
            closed.append("aws:PrincipalTag/")
        if hop.target_tags is not None:
            known.update({f"aws:ResourceTag/{k}": v for k, v in hop.target_tags.items()})
            closed.append("aws:ResourceTag/")
        hop.context = Context.of(known, closed)


def _tagging(role, settings, chained: bool) -> dict[str, object]:
    """The keys a role's session tags and source identity set on its AssumeRole (on a
    chained hop the parent's source identity may be inherited instead of sent)."""
    out: dict[str, object] = {}
    if (template := source_identity_of(role, settings)) and chained:
        out["sts:SourceIdentity"] = UNKNOWN
    elif template:
        try:
            out["sts:SourceIdentity"] = render_source_identity(template, role.name)
        except RolecallError:
            out["sts:SourceIdentity"] = UNKNOWN
    if role.tags:
        out.update({f"aws:RequestTag/{k}": v for k, v in role.tags})
        out["aws:TagKeys"] = [k for k, _ in role.tags]
    if role.transitive_tag_keys:
        out["sts:TransitiveTagKeys"] = list(role.transitive_tag_keys)
    return out


def mfa_keys(gatherer: Gatherer, plan, index: int, position: int) -> tuple[str, tuple]:
    """How MFA stands for the AssumeRole of ``plan.steps[index]``: ``(mode, (present,
    age))``. Direct mode sends the code with the call; session mode signs with the MFA
    session; a hop chained from a role session after MFA is not documented well enough
    to know."""
    step = plan.steps[index]
    if step.serial:
        return "direct", ("true", "0")
    before = plan.steps[:index]
    if index > 0 and before[-1].kind == "mfa":
        serial = before[-1].serial
        now = gatherer.ws.now()
        live = [s for s in gatherer.ws.sessions()
                if s.kind == "mfa" and s.arn == serial and s.seconds_left(now) > 0]
        age = str(max(0, int(now - live[0].issued_at.timestamp()))) if live else "0"
        return "session", ("true", age)
    if position > 0 and any(s.serial for s in before):
        return "", (UNKNOWN, UNKNOWN)
    if gatherer.base_temporary is False:
        return "", (MISSING, MISSING) if position == 0 else ("false", MISSING)
    return "", (UNKNOWN, UNKNOWN)


def role_source(gatherer: Gatherer, name: str):
    """A configured role's own trust policy as doctor reads it, for lint; AwsError (exit 1)
    when no way to read it works."""
    role = gatherer.ws.inventory.role(name)
    hop = HopFacts(name=name, role=role, chained=False, parent=None)
    gatherer.trust(hop, None)
    if hop.missing:
        raise AwsError(f"{role.role_arn} does not exist (NoSuchEntity)",
                       fix=f"check role_arn of {name}")
    if hop.trust is None:
        tried = "; ".join(hop.trust_problems[:3]) or (
            f"no configured role in account {role.account_id} to read it through")
        raise AwsError(f"cannot read the trust policy of {name} ({tried})",
                       fix=f"allow iam:GetRole on {role.role_arn} to a role rolecall can "
                       f"assume in {role.account_id}, or set trust_policy for {name} in the "
                       "catalog, or lint the policy file itself")
    return PolicySource(name, hop.trust, hop.max_session)


def organization_accounts(gatherer: Gatherer) -> set[str]:
    """The organization's accounts through any credentials found so far (ListAccounts
    needs the management or a delegated administrator account), else its management
    account (DescribeOrganization); empty when neither is readable."""
    found: set[str] = set()
    for entries in list(gatherer.keys.values()):
        for _, keys in entries:
            try:
                return set(reads.organization_accounts(keys))
            except reads.Unreadable:
                pass
            try:
                described = reads.client("organizations", keys).describe_organization()
                found.add(described["Organization"]["MasterAccountId"])
            except Exception:  # noqa: BLE001 - the organization is only a hint here
                pass
    return found
