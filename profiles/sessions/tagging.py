"""What an AssumeRole sends of a role's session tags and source identity, and what a
session records of them (non-secret, in its index entry), so a chained hop keeps
AWS's rules before STS is called: a source identity, once set, persists down the chain
and cannot change; a transitive tag passes to every later hop and cannot be overridden.
"""

from __future__ import annotations

from profiles.config import tags as catalog_tags
from profiles.errors import RolecallError, UsageError
from profiles.model import Role, Session, Settings

NEEDS = {"Tags": "sts:TagSession", "SourceIdentity": "sts:SetSourceIdentity"}


def request(role: Role, settings: Settings, parent: Session | None) -> tuple[dict, dict]:
    """``(AssumeRole parameters, what the new session records)`` for ``role``'s hop from
    ``parent``. A source identity the parent carries is inherited, not sent again."""
    params: dict[str, object] = {}
    inherited = parent.params.get("source_identity") if parent is not None else None
    passed = [k for k in (parent.params.get("transitive") or []) if isinstance(k, str)] \
        if parent is not None else []
    template = catalog_tags.source_identity_of(role, settings)
    identity = inherited
    if template:
        wanted = catalog_tags.render_source_identity(template, role.name)
        if inherited and wanted != inherited:
            raise UsageError(
                f"{role.name} would set source identity {wanted!r}, but its parent session "
                f"carries {inherited!r}, which AWS keeps for the whole chain",
                fix="give the roles of this chain the same source_identity")
        if not inherited:
            params["SourceIdentity"] = identity = wanted
    if role.tags:
        clash = sorted({k for k, _ in role.tags if k.lower() in {p.lower() for p in passed}})
        if clash:
            raise UsageError(
                f"{role.name} sets tag {clash[0]!r}, which its parent session passes on as "
                "transitive (a chained session cannot override it)",
                fix=f"remove {clash[0]!r} from the tags of {role.name}")
        params["Tags"] = [{"Key": k, "Value": v} for k, v in role.tags]
        if role.transitive_tag_keys:
            params["TransitiveTagKeys"] = list(role.transitive_tag_keys)
    record: dict[str, object] = {}
    if identity:
        record["source_identity"] = identity
    transitive = [*passed, *(k for k in role.transitive_tag_keys if k not in passed)]
    if transitive:
        record["transitive"] = transitive
    if role.tags:
        record["tags"] = [list(pair) for pair in role.tags]
    return params, record


def denied_fix(error: RolecallError, params: dict) -> RolecallError:
    """An AccessDenied for an AssumeRole that sent tags or a source identity: the trust
    policy must also allow ``sts:TagSession`` / ``sts:SetSourceIdentity``."""
    sent = [key for key in ("Tags", "SourceIdentity") if key in params]
    if sent and error.code == "AccessDenied":
        extra = (f"this request also sets {' and '.join(sent)}: the trust policy must allow "
                 f"{' and '.join(NEEDS[key] for key in sent)} too")
        error.fix = f"{error.fix}\n{extra}" if error.fix else extra
    return error
