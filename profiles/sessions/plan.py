"""Plans: a role's chain as steps from its base identity, each with its cache key, and
the checks made before any STS call (durations, MFA codes).

A chain is planned as steps from the base identity to the target: an optional MFA
session (``GetSessionToken``, session mode), then one ``AssumeRole`` per role; a chain
from IAM Identity Center starts with ``GetRoleCredentials`` (an ``sso`` step, whose
base is the session's login) and every hop after it is chained. Every
step has a cache key built from its assume parameters, its profile's name (each
profile's sessions are its own) and its parent's key, never from the generated session
name: roles whose chains share a hop share that hop's session.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from profiles.config.inventory import Inventory
from profiles.config.tags import key_parts
from profiles.durations import (
    CHAIN_CAP,
    MAX_DURATION,
    MIN_DURATION,
    format_duration,
    parse_duration,
)
from profiles.errors import UsageError
from profiles.model import Base, Role, Session

DEFAULT_DURATION = 3600
MfaPrompt = Callable[[str, str], str]
# One code for the first device that needs one, or codes by MFA serial (a chain may
# have a device on more than one hop, as botocore prompts once per hop).
MfaCodes = str | Mapping[str, str] | None


@dataclass(frozen=True)
class Step:
    """One hop of a plan: an MFA session or a role assumption."""

    kind: str  # "mfa", "role" or "sso" (GetRoleCredentials: the first hop only)
    key: str
    label: str
    role: Role | None = None
    serial: str | None = None  # the MFA device for an MFA step or a direct-mode hop
    chained: bool = False  # signed by temporary credentials: the 1-hour cap applies


@dataclass(frozen=True)
class Plan:
    name: str
    base: Base
    steps: tuple[Step, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        labels = self.__dict__.get("_labels")  # plans are memoized: computed once each
        if labels is None:
            labels = self.__dict__["_labels"] = (self.base.label,
                                                 *(s.label for s in self.steps))
        return labels


@dataclass
class Result:
    session: Session
    hops: list[Session]
    cached: list[bool]
    notes: list[str] = field(default_factory=list)


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def plan_of(inventory: Inventory, name: str) -> Plan:
    """The chain of ``name`` as steps, each with its cache key: a function of the
    inventory alone (the inventory snapshot stores what the board needs of it)."""
    base, roles = inventory.chain(name)
    steps: list[Step] = []
    parent = f"base:{base.name}"
    for index, role in enumerate(roles):
        if role.sso_session is not None:  # the first hop: the portal's role credentials
            parent = _key("sso", parent, role.role_arn, role.name)
            steps.append(Step("sso", parent, role.name, role=role))
            continue
        mode = role.mfa_mode or inventory.settings.mfa_mode
        direct = bool(role.mfa_serial) and (mode == "direct" or index > 0)
        if role.mfa_serial and not direct:
            parent = _key("mfa", parent, role.mfa_serial)
            steps.append(Step("mfa", parent, f"mfa:{role.mfa_serial}",
                              serial=role.mfa_serial))
        parent = _key("role", parent, role.role_arn, role.external_id or "",
                      role.mfa_serial if direct else "", role.name,  # role.name: per profile
                      *key_parts(role, inventory.settings))
        steps.append(Step("role", parent, role.name, role=role,
                          serial=role.mfa_serial if direct else None,
                          chained=bool(steps)))
    return Plan(name, base, tuple(steps))


def mfa_codes(plan: Plan, given: MfaCodes) -> dict[str, str]:
    """Codes by serial (``""``: the first device asked for), each checked."""
    if given is None:
        return {}
    if isinstance(given, str):
        return {"": check_mfa_code(given)}
    serials = {step.serial for step in plan.steps if step.serial}
    for serial in given:
        if serial and serial not in serials:
            raise UsageError(f"{plan.name} has no MFA device {serial!r} in its chain",
                             fix="devices: " + (", ".join(sorted(serials)) or "none"))
    return {serial: check_mfa_code(code) for serial, code in given.items()}


def check_mfa_code(code: str) -> str:
    code = code.strip()
    if not re.fullmatch(r"\d{6}", code):
        raise UsageError("an MFA code is 6 digits", fix="type the current code from the device")
    return code


def explicit_duration(text: str | int | None, role: Role, chained: bool) -> int | None:
    """Validate a requested duration against STS's rules before any call."""
    if text is None:
        return None
    seconds = parse_duration(text)
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise UsageError(f"duration {format_duration(seconds)} is outside 15m to 12h",
                         fix="ask for 900 to 43200 seconds")
    if role.max_duration and seconds > role.max_duration:
        raise UsageError(
            f"duration {format_duration(seconds)} exceeds the MaxSessionDuration of "
            f"{role.name} ({format_duration(role.max_duration)})",
            fix=f"ask for at most {format_duration(role.max_duration)}")
    if chained and seconds > CHAIN_CAP:
        raise UsageError(
            f"duration {format_duration(seconds)} exceeds the 1 hour session limit for "
            f"roles assumed by role chaining ({role.name} is assumed from temporary "
            "credentials)", fix="ask for 1h or less")
    return seconds
