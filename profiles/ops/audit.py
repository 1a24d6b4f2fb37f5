"""``rolecall audit``: what rolecall assumed (the journal) and who else assumed a role
(CloudTrail), side by side (see docs/architecture.md, Audit and journal).

CloudTrail is read in each target account through a session there: the account's
``audit_role`` from the catalog when it has one, else the role itself (``--role``),
else a configured role in that account (``--account``: a live session first). Sessions
come from the workspace's engine, so they are cached and journaled like any other. An
event is ``known`` when this machine's journal holds an assumption of the same role with
the same session name within 5 minutes of it, signed by the same caller: the same access
key (the journal keeps a digest of the key that signed each call, CloudTrail records its
``accessKeyId``), else, for an event without one, the same caller ARN. A first hop's
caller is the base identity, whose ARN rolecall never asks for (a call per assumption):
its key is what tells it apart. An entry that names neither vouches for nothing: an
intruder may copy a session name and the moment, not the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from profiles.config.text import REGION
from profiles.doors.terminal import shown
from profiles.durations import parse_duration
from profiles.errors import ConfigError, KeyringError, RolecallError, UsageError
from profiles.model import ROLE_ARN, Role
from profiles.ops import journal
from profiles.ops.trail import Event, Keys, Lookup, TrailReader

KNOWN_WITHIN = 300  # seconds between a journal entry and its CloudTrail event
DEFAULT_SINCE = 24 * 3600  # CloudTrail's default window: pages cost calls at 2 a second
RETENTION = 90 * 86400  # CloudTrail's event history: no use asking for older
WORKERS = 8  # accounts and regions read at once
_DAYS = re.compile(r"([0-9]{1,5})d(.*)")


def parse_since(text: str, now: float) -> float:
    """Epoch seconds from ``--since``: a duration back from ``now`` (``90m``, ``24h``,
    ``7d``, ``1d12h``) or an ISO 8601 date or time (UTC unless it names its offset)."""
    value = text.strip().lower()
    days = _DAYS.fullmatch(value)
    try:
        if days:
            rest = parse_duration(days.group(2), "--since") if days.group(2) else 0
            return now - int(days.group(1)) * 86400 - rest
        return now - parse_duration(value, "--since")
    except UsageError:
        pass
    moment = _moment(text)
    if moment > now:
        raise UsageError(f"--since {text!r} is in the future (by this machine's clock)",
                         fix="give a time in the past, or a duration such as 24h")
    return moment


def _moment(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip().upper().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"invalid --since {text!r}", fix="give a duration back from now "
                         "(90m, 24h, 7d) or a UTC time (2026-03-01 or 2026-03-01T12:00:00Z)"
                         ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def account_id(inventory, text: str) -> str:
    """The account id ``text`` names: an id (12 digits) or a catalog alias naming one."""
    return inventory.account_named(text)


# -- the journal ----------------------------------------------------------------------


def entries(ws, *, since: float | None = None, role: str | None = None,
            account: str | None = None) -> list[journal.Entry]:
    """The journal's entries, newest first, filtered by time, role name and account (an
    id or alias). A role need not be configured now: the journal outlives the config."""
    wanted = account_id(ws.inventory, account) if account is not None else None
    return journal.query(ws.cache.state_dir, since=since, role=role, account=wanted)


def entry_json(entry: journal.Entry) -> dict[str, object]:
    """An entry as ``audit --json`` shows it (the key digest stays in the journal)."""
    data = entry.to_json()
    del data["caller_key"]
    return data


# -- CloudTrail -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One account to read: through ``reader``'s session, ``role`` (an ARN) or all."""

    account_id: str
    reader: str
    role_arn: str | None = None


@dataclass
class Trail:
    """The events found, newest first; each account or region that failed; notes."""

    events: list[Event] = field(default_factory=list)
    failures: list[RolecallError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    read: list[tuple[str, str, str]] = field(default_factory=list)  # account, region, via


def audit_role(ws, account: str) -> str | None:
    """The catalog's ``audit_role`` of ``account``, checked: a configured role in it."""
    name = ws.inventory.account(account).audit_role
    if name is None:
        return None
    where = f"{ws.inventory.catalog_file}, [accounts.\"{account}\"]"
    try:
        role = ws.inventory.role(name)
    except UsageError as exc:
        raise ConfigError(f"{where}: audit_role {name!r} cannot be used: {exc.message}",
                          fix="name a role (AWS profile or catalog role) in that account"
                          ) from None
    if role.account_id != account:
        raise ConfigError(f"{where}: audit_role {name!r} is in account {role.account_id}; "
                          "CloudTrail's event history is read in the account itself",
                          fix=f"name a role in {account}")
    return name


def _live(ws) -> set[str]:
    now = ws.clock()
    return {s.role for s in ws.sessions() if s.kind == "role" and s.seconds_left(now) > 0}


def targets(ws, *, role: str | None = None, account: str | None = None) -> list[Target]:
    """What to read: ``role``'s account (its events only), every event of ``account``, or
    (neither) every account with an ``audit_role``."""
    if role is not None and account is not None:
        raise UsageError("give --role or --account, not both",
                         fix="rolecall audit --cloudtrail --role ROLE | --account ID")
    if role is not None:
        target = ws.inventory.role(role)
        return [Target(target.account_id, audit_role(ws, target.account_id) or role,
                       target.role_arn)]
    if account is not None:
        wanted = account_id(ws.inventory, account)
        reader = audit_role(ws, wanted)
        if reader is None:
            here = sorted(r.name for r in ws.inventory.roles.values()
                          if r.account_id == wanted)
            live = _live(ws)
            reader = next((name for name in here if name in live), here[0] if here else None)
        if reader is None:
            raise UsageError(f"no configured role in account {wanted} to read its CloudTrail "
                             "through", fix=f"set audit_role in the catalog's "
                             f"[accounts.\"{wanted}\"], or configure a role there")
        return [Target(wanted, reader)]
    found = [Target(a.id, name) for a in ws.inventory.accounts.values()
             if (name := audit_role(ws, a.id)) is not None]
    if not found:
        raise UsageError("which role or account?", fix="rolecall audit --cloudtrail --role "
                         "ROLE | --account ID, or set audit_role for the accounts to audit")
    return found


def same_role(journaled: str, recorded: str) -> bool:
    """Whether two role ARNs name one role: the same account and name (IAM role names
    are unique regardless of case; a path may be left out of a request)."""
    a, b = ROLE_ARN.fullmatch(journaled), ROLE_ARN.fullmatch(recorded)
    if a is None or b is None:
        return journaled == recorded
    return a.group(1) == b.group(1) and a.group(3).lower() == b.group(3).lower()


def same_caller(entry: journal.Entry, event: Event) -> bool:
    """Whether ``event``'s caller signed the call ``entry`` records (see the module)."""
    if entry.caller_key and event.caller_key:
        return entry.caller_key == event.caller_key
    return entry.caller_arn != "" and entry.caller_arn == event.caller_arn


def mark_known(events: list[Event], history: list[journal.Entry]) -> None:
    """Set ``known`` on each event this machine's journal holds (see the module doc)."""
    by_name: dict[str, list[journal.Entry]] = {}
    for entry in history:
        if entry.action == "AssumeRole" and entry.session_name:
            by_name.setdefault(entry.session_name, []).append(entry)
    for event in events:
        event.known = any(
            abs(entry.moment - event.moment) <= KNOWN_WITHIN
            and (not entry.role_arn or same_role(entry.role_arn, event.role_arn))
            and same_caller(entry, event)
            for entry in by_name.get(event.session_name, ()))


def _keys(ws, reader: str, mfa_code: str | dict[str, str] | None) -> Keys:
    session = ws.assume(reader, mfa_code=mfa_code).session
    creds = session.credentials
    assert creds is not None
    return Keys(creds.access_key_id, creds.secret_access_key, creds.session_token,
                f"{reader} ({session.arn})")


def _region(ws, reader: str) -> str:
    # lazy: botocore's session (sts) only when CloudTrail is read
    from profiles.sessions import sts

    role: Role = ws.inventory.role(reader)
    return sts.default_region(role.region)


def check_region(region: str) -> str:
    if not REGION.fullmatch(region):
        raise UsageError(f"invalid --region '{shown(region)}'",
                         fix="use a region name such as us-east-1 or eu-west-1")
    return region


def cloudtrail(ws, *, role: str | None = None, account: str | None = None,
               since: float | None = None, regions: tuple[str, ...] = (),
               mfa_code: str | dict[str, str] | None = None,
               reader: Callable[[], TrailReader] = TrailReader) -> Trail:
    """``AssumeRole`` events from CloudTrail in each target account (and region: the
    reading role's by default), newest first, each marked ``known`` or not. Sessions are
    assumed first, one after another (an MFA prompt at a time); then accounts are read
    in parallel. A failure in one account is kept and the others still read."""
    now = ws.clock()
    start = max(since if since is not None else now - DEFAULT_SINCE, now - RETENTION)
    regions = tuple(dict.fromkeys(check_region(r) for r in regions))
    out = Trail()
    jobs: list[tuple[Target, Keys, str]] = []
    keys: dict[str, Keys] = {}
    for target in targets(ws, role=role, account=account):
        try:
            if target.reader not in keys:
                keys[target.reader] = _keys(ws, target.reader, mfa_code)
        except (UsageError, KeyringError):
            raise
        except RolecallError as exc:
            failure = RolecallError(f"cannot read CloudTrail in {target.account_id} through "
                                    f"{target.reader}: {exc.message}", fix=exc.fix)
            failure.code = exc.code
            out.failures.append(failure)
            continue
        for region in regions or (_region(ws, target.reader),):
            jobs.append((target, keys[target.reader], region))

    def run(job: tuple[Target, Keys, str]) -> Lookup | RolecallError:
        target, creds, region = job
        try:
            return reader().lookup(creds, target.account_id, region, start)
        except RolecallError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(WORKERS, len(jobs)))) as pool:
        results = list(pool.map(run, jobs))
    for (target, _, region), result in zip(jobs, results, strict=True):
        if isinstance(result, RolecallError):
            out.failures.append(result)
            continue
        out.read.append((target.account_id, region, target.reader))
        if result.truncated:
            out.notes.append(f"{target.account_id} ({region}): stopped after "
                             f"{len(result.events)} events; look at a shorter --since")
        out.events += [e for e in result.events
                       if target.role_arn is None or same_role(target.role_arn, e.role_arn)]
    mark_known(out.events, journal.query(ws.cache.state_dir, since=start - KNOWN_WITHIN))
    out.events.sort(key=lambda e: e.moment, reverse=True)
    return out
