"""The STS side of :class:`profiles.sessions.engine.Engine`: one hop's call (AssumeRole,
GetSessionToken, or the SSO hop), its MFA code, its client, its journal entry, and the
clock skew STS's ``Date`` header shows (measured on every call, for display only)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from profiles.config.inventory import Inventory
from profiles.durations import MIN_DURATION, format_duration
from profiles.errors import RolecallError, UsageError
from profiles.model import Session, iso
from profiles.ops import journal
from profiles.sessions import mfa, sso_step, tagging
from profiles.sessions import names as session_names
from profiles.sessions.ask import Ask, digest
from profiles.sessions.cache import SessionCache
from profiles.sessions.plan import MfaPrompt, Plan, Step, check_mfa_code

SKEW_WARNING = 300
# Marks in an assumption's codes (never a serial): a device's code that went to a hop,
# and that the caller gave codes.
SPENT, GIVEN = "\x00spent:", "\x00given"
SKEW_NOISE = 2  # the Date header has 1 s resolution, plus latency


def _signing_key(client) -> str:
    """The access key id ``client`` signs with (what CloudTrail records as the caller's
    ``accessKeyId``), or "" (botocore's own accessor; a test's stand-in has none)."""
    try:
        key = client._get_credentials().access_key
    except Exception:  # noqa: BLE001
        return ""
    return key if isinstance(key, str) else ""


class Calling:
    """A mixin of :class:`profiles.sessions.engine.Engine`: the calls to STS."""

    inventory: Inventory
    cache: SessionCache
    mfa_prompt: MfaPrompt | None
    acting_via: str
    now: Callable[[], float]
    _duration: Callable[..., int]
    _region: Callable[[Plan, Step], str | None]

    def _entry(self, action: str, role: str, arn: str, session_name: str, caller: str,
               seconds: int, client=None) -> journal.Entry:
        """The journal entry of an STS call about to be made, as this thread's caller
        (``client``: the one that signs it, whose access key the entry names)."""
        return journal.started(action, role, arn, session_name, caller, seconds,
                               self.acting_via, _signing_key(client))

    def _journal(self, entry: journal.Entry, *, issued=None,
                 error: RolecallError | None = None) -> RolecallError | None:
        """Record the call's outcome (never a secret); returns ``error`` to re-raise."""
        expires = iso(issued.credentials.expiration) if error is None else None
        journal.record(journal.finished(entry, expires_at=expires, error=error),
                       self.cache.state_dir)
        return error

    def _code(self, serial: str, plan: Plan, codes: dict[str, str]) -> str:
        """The code for ``serial``: given for it, or the one unnamed code, else from
        ``mfa_process`` or ROLECALL_MFA_PROMPT, else the prompt. One code is one use: AWS
        accepts each code once, so a device on two hops of a chain (an MFA session, then
        a hop assumed with the device again) needs the device's next code for the second,
        and a code given by the caller is never followed by a prompt for another."""
        spent = codes.get(SPENT + serial)
        code = codes.pop(serial, None) or codes.pop("", None)
        if code:
            codes[GIVEN] = "y"
        else:
            code = self._source(serial, plan, codes, spent)
        if code == spent:
            raise UsageError(f"{plan.name} needs a second code from MFA device {serial} and "
                             "got the one an earlier hop of its chain used: AWS accepts each "
                             "code once", fix="wait for the device's next code, then run the "
                             "same command again (the earlier hops' sessions are kept)")
        codes[SPENT + serial] = code
        return code

    def _source(self, serial: str, plan: Plan, codes: dict[str, str],
                spent: str | None) -> str:
        """A code no one gave: ``mfa_process``, the hook, else the prompt (see _code)."""
        name = plan.name
        if (command := mfa.source(plan, serial)) is not None:
            return check_mfa_code(mfa.run(*command, serial, name))
        if spent is not None and GIVEN in codes:
            raise UsageError(f"{name} needs a second code from MFA device {serial}: AWS "
                             "accepts each code once, and the code given went to an earlier "
                             "hop of its chain", fix="the earlier hops' sessions are kept "
                             "now: run the same command again with the device's next code")
        if self.mfa_prompt is None:
            fix = "pass --mfa-code 123456 (the device's current code)" if GIVEN not in codes \
                else f"give a code for each device: --mfa-code {serial}=123456"
            raise UsageError(f"{name} needs an MFA code for {serial}", fix=fix)
        return check_mfa_code(self.mfa_prompt(serial, name))

    def _client(self, plan: Plan, parent: Session | None):
        """The STS client for the next hop: signed by the parent hop's session, or by the
        base identity for the first; made as botocore makes it for the plan's target."""
        # lazy: botocore only when STS is called: a cache hit needs none
        from profiles.sessions import sts

        target = plan.steps[-1].role
        assert target is not None
        return sts.client(self.inventory, target.name, target.region,
                          parent.credentials if parent else None, plan.base)

    def _call(self, plan: Plan, step: Step, parent: Session | None, ask: Ask,
              codes: dict[str, str], notes: list[str]) -> Session:
        from profiles.sessions import sts  # botocore: only when STS is called (not on hits)

        now = self.now()
        if step.kind == "sso":  # GetRoleCredentials: the first hop of the chain
            return sso_step.assume(self, plan, step, now)
        settings = self.inventory.settings
        caller = parent.arn if parent and parent.kind == "role" else plan.base.label
        client = self._client(plan, parent)
        seconds = self._duration(step, ask.duration)
        if step.kind == "mfa":
            assert step.serial is not None
            code = self._code(step.serial, plan, codes)
            role_name, session_name_used, role_arn = step.label, "", ""
            entry = self._entry("GetSessionToken", role_name, step.serial, "", caller, seconds,
                                client)
            try:
                issued = sts.get_session_token(client, duration=seconds, serial=step.serial,
                                               code=code, caller=caller)
            except RolecallError as exc:
                raise self._journal(entry, error=exc) from None
            self._journal(entry, issued=issued)
            params: dict[str, object] = {"duration": seconds}
        else:
            role = step.role
            assert role is not None
            if parent is not None:
                left = int(parent.seconds_left(now))  # both instants are STS's: skewed now
                if left < seconds:
                    if ask.duration:
                        notes.append(f"{role.name} capped at {format_duration(left)}: a chained "
                                     f"session never outlives its parent ({parent.role})")
                    seconds = max(min(left, seconds), MIN_DURATION)
            template = ask.session_name or role.session_name or settings.session_name
            # An explicit name (flag, then the role's own setting) is sent as written;
            # a template is rendered and sanitised.
            session_name_used = session_names.resolve(
                ask.session_name if ask.session_name is not None else role.session_name,
                settings.session_name, role.name)
            external_id = ask.external_id or role.external_id
            extra, record = tagging.request(role, settings, parent)  # checked before a code
            code = self._code(step.serial, plan, codes) if step.serial else None
            role_name, role_arn = role.name, role.role_arn
            entry = self._entry("AssumeRole", role_name, role_arn, session_name_used, caller,
                                seconds, client)
            try:
                issued = sts.assume_role(
                    client, role_arn=role_arn, session_name=session_name_used,
                    duration=seconds, external_id=external_id, serial=step.serial,
                    code=code, caller=caller, role=plan.name, extra=extra)
            except RolecallError as exc:
                raise tagging.denied_fix(self._journal(entry, error=exc), extra) from None
            self._journal(entry, issued=issued)
            params = {"duration": seconds, "requested": ask.duration, "template": template,
                      "external_id": digest(external_id), **record}
        if issued.server_time is not None:  # measured on every call, 0 when clocks agree
            skew = issued.server_time.timestamp() - time.time()  # the system clock's error
            self.cache.clock_skew = skew if abs(skew) >= SKEW_NOISE else 0.0
            if abs(skew) > SKEW_WARNING:
                notes.append(f"the local clock differs from STS by {int(skew)}s (countdowns "
                             "are corrected); signatures fail at 15 minutes: sync the clock")
        return Session(
            key=step.key, role=role_name, kind=step.kind, arn=issued.arn,
            expires_at=issued.credentials.expiration,
            issued_at=datetime.fromtimestamp(now, UTC), session_name=session_name_used,
            role_arn=role_arn, parent=parent.key if parent else None,
            region=self._region(plan, step), credentials=issued.credentials, params=params,
        )
