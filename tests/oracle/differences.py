"""Every way rolecall intends to differ from botocore for the same AWS files, in one
place, with its reason. The oracle fails on any other difference, and on a scenario that
expects a difference it no longer shows."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from profiles.model import ROLE_ARN
from profiles.sessions.names import LEGAL
from tests.oracle.outcome import Call, Outcome

CHAINED = ("role:", "mfa:")  # hops rolecall signs with temporary credentials it made
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
SERIAL = re.compile(r"[\w+=/:,.@-]{9,256}", re.ASCII)


@dataclass(frozen=True)
class Difference:
    id: str
    reason: str
    # (botocore, rolecall) -> the pair with the difference taken out; raises
    # AssertionError when a scenario expecting it does not show it. None: applied by the
    # harness itself (see the reason).
    apply: Callable[[Outcome, Outcome], tuple[Outcome, Outcome]] | None = None
    always: bool = False  # shown by every scenario that has the shape: taken out always


def _refusal(predicate: Callable[[Call], bool], what: str):
    """rolecall refuses before STS (exit 2, no call) a request botocore sends and STS
    would reject; the oracle checks botocore did send it."""

    def apply(b: Outcome, r: Outcome) -> tuple[Outcome, Outcome]:
        assert r.exit_code == 2 and not r.calls, f"rolecall did not refuse before STS: {r}"
        assert any(predicate(c) for c in b.calls), f"botocore sent no {what}: {b.calls}"
        return replace(b, ok=False, calls=[], error="refused"), r

    return apply


def _chain_cap(b: Outcome, r: Outcome) -> tuple[Outcome, Outcome]:
    calls, changed = [], False
    for call in b.calls:
        if call.op == "AssumeRole" and call.signer.startswith(CHAINED) and \
                int(call.duration or 3600) > 3600:
            call, changed = replace(call, duration="3600"), True
        calls.append(call)
    assert changed, "no chained hop asked botocore for more than 1 hour"
    return replace(b, calls=calls), r


def _parent_outlive(b: Outcome, r: Outcome) -> tuple[Outcome, Outcome]:
    """A chained hop asked for less than botocore asks, by no more than the seconds its
    parent (just issued, for the duration it asked) had used up: the same request."""
    calls = list(r.calls)
    for i, (mine, theirs) in enumerate(zip(calls, b.calls, strict=False)):
        if mine.op != "AssumeRole" or theirs.op != "AssumeRole":
            continue
        if mine.signer.startswith("sso:"):  # GetRoleCredentials: the proxy's hour
            left, wanted = 3600, int(theirs.duration or 3600)
            if left - 5 <= int(mine.duration or 3600) < wanted:
                calls[i] = replace(mine, duration=theirs.duration)
            continue
        if not mine.signer.startswith("role:"):
            continue
        parent = next((c for c in calls[:i] if f"role:{c.role_arn}" == mine.signer), None)
        if parent is None or parent.duration is None:
            continue
        left, wanted = int(parent.duration), int(theirs.duration or 3600)
        if left - 5 <= int(mine.duration or 3600) < wanted and wanted >= left:
            calls[i] = replace(mine, duration=theirs.duration)
    return b, replace(r, calls=calls)


def _mfa_session_mode(b: Outcome, r: Outcome) -> tuple[Outcome, Outcome]:
    """rolecall's GetSessionToken(serial, code) + AssumeRole-from-it becomes botocore's
    AssumeRole(serial, code) from the base; that hop is chained for rolecall (at most
    1 h), so its duration is compared as min(botocore's, 1 h)."""
    calls = list(r.calls)
    found = False
    for index, call in enumerate(list(calls)):
        if call.op != "GetSessionToken":
            continue
        found = True
        hop = next(i for i in range(index + 1, len(calls))
                   if calls[i].signer == f"mfa:{call.serial}")
        calls[hop] = replace(calls[hop], serial=call.serial, token_code=call.token_code,
                             signer=call.signer)
        calls[index] = None  # type: ignore[call-overload]
    assert found, "rolecall made no MFA session"
    calls = [c for c in calls if c is not None]
    for i, (mine, theirs) in enumerate(zip(calls, b.calls, strict=False)):
        if mine.serial and mine.serial == theirs.serial and \
                int(mine.duration or 3600) == min(int(theirs.duration or 3600), 3600):
            calls[i] = replace(mine, duration=theirs.duration)
    return b, replace(r, calls=calls)


def _session_name_template(b: Outcome, r: Outcome) -> tuple[Outcome, Outcome]:
    calls = list(r.calls)
    changed = False
    for i, (mine, theirs) in enumerate(zip(calls, b.calls, strict=False)):
        if theirs.session_name and "{" in theirs.session_name and mine.session_name and \
                LEGAL.fullmatch(mine.session_name):
            calls[i], changed = replace(mine, session_name=theirs.session_name), True
    assert changed, "no templated session name"
    return b, replace(r, calls=calls)


DIFFERENCES = {d.id: d for d in (
    Difference("default-session-name",
               "rolecall's default RoleSessionName is the template {user}-{unix} (CloudTrail "
               "should name the person: docs/architecture.md, Domain rules), botocore's "
               "botocore-session-<unix>; the "
               "oracle gives rolecall botocore's as its template, to compare the rest"),
    Difference("explicit-default-duration",
               "rolecall always sends DurationSeconds (3600 unless configured); botocore "
               "omits it and STS's default is 3600: the same session. The oracle reads an "
               "absent DurationSeconds as 3600 on both sides"),
    Difference("chain-cap",
               "a hop signed by temporary credentials is role chaining, which AWS caps at "
               "1 hour and refuses beyond (ValidationError); rolecall asks for at most "
               "3600 there, botocore sends duration_seconds as configured", _chain_cap),
    Difference("mfa-session-mode",
               "rolecall's default MFA mode gets one GetSessionToken per device (12 h, cached, "
               "one code a day) and assumes the role from it; botocore sends SerialNumber "
               "and TokenCode with AssumeRole. mfa_mode = direct is botocore's behaviour, and "
               "the oracle runs every MFA scenario in both modes", _mfa_session_mode),
    Difference("parent-outlive",
               "a chained hop never outlives its parent: rolecall asks for no more than the "
               "parent has left (3599 s from a parent issued for 3600 s a moment before, an "
               "SSO role's GetRoleCredentials session included; "
               "less from an older cached one, tests/test_engine.py::test_chained_hop_never_"
               "outlives_its_parent); botocore asks for the configured duration",
               _parent_outlive, always=True),
    Difference("session-name-template",
               "a role_session_name with {fields} is a rolecall template, rendered and "
               "sanitised; botocore sends the braces, which STS refuses",
               _session_name_template),
    Difference("refused-malformed-arn",
               "a role_arn STS cannot accept (not arn:PARTITION:iam::<12 digits>:role/NAME) "
               "is refused at load with the profile named; botocore sends it",
               _refusal(lambda c: c.role_arn is not None and not ROLE_ARN.fullmatch(c.role_arn),
                        "malformed RoleArn")),
    Difference("refused-duration-not-seconds",
               "duration_seconds that int() cannot read (2h) is ignored by botocore, so the "
               "AWS CLI gets 1 hour from the same file; rolecall refuses it and says so "
               "(its catalog takes 2h)",
               _refusal(lambda c: c.op == "AssumeRole" and c.duration is None,
                        "AssumeRole without DurationSeconds")),
    Difference("refused-sts-value",
               "an external_id or mfa_serial outside STS's own pattern and length is refused "
               "at load; botocore checks only the minimum length and sends it",
               _refusal(lambda c: (c.external_id is not None
                                   and not EXTERNAL_ID.fullmatch(c.external_id))
                        or (c.serial is not None and not SERIAL.fullmatch(c.serial)),
                        "ExternalId or SerialNumber STS refuses")),
    Difference("refused-session-name",
               "a literal role_session_name is sent as written, so an illegal one is refused "
               "at load; botocore sends it and STS refuses it",
               _refusal(lambda c: c.session_name is not None
                        and not LEGAL.fullmatch(c.session_name), "illegal RoleSessionName")),
)}
