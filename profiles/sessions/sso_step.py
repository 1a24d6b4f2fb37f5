"""The engine's IAM Identity Center hop: ``GetRoleCredentials`` with the SSO session's
token gives a role's session, the first hop of a chain (every hop after it is chained,
so the 1-hour rule applies). Journaled like the engine's STS calls.

The portal names no principal: the session's ``arn`` is the role as the portal names
it (``arn:aws:iam::ACCOUNT:role/PERMISSION_SET``), and its length is the permission
set's, not asked for.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from profiles.errors import AwsError, ConfigError, RolecallError, UsageError
from profiles.model import Credentials, Session, iso
from profiles.ops import journal

if TYPE_CHECKING:
    from profiles.sessions.engine import Engine
    from profiles.sessions.plan import Plan, Step


def check_options(name: str, duration: object, session_name: object,
                  external_id: object) -> None:
    """An SSO role's session is what its permission set gives: nothing to ask for."""
    if (duration, session_name, external_id) != (None, None, None):
        raise UsageError(f"{name} is an IAM Identity Center role: its permission set "
                         "decides its session (no --duration, --session-name or "
                         "--external-id)", fix="assume it without those options")


def _failure(exc: Exception, name: str, session: str, account: str,
             permission: str) -> RolecallError:
    # lazy: the estate (botocore) only when an SSO hop runs
    from profiles.estate import clients
    from profiles.estate.tokens import LoginRequired

    code = clients.error_code(exc)
    action = f"GetRoleCredentials {account}/{permission}"
    if code == "UnauthorizedException":
        return LoginRequired(session, "is no longer logged in (the portal refused its token)",
                             code=code)
    if code == "ForbiddenException":
        error = AwsError(f"{action} denied: IAM Identity Center does not assign "
                         f"{permission} in {account} to you (any more)",
                         fix=f"run `rolecall sso sync` to list your roles again ({name})")
    elif code in ("TooManyRequestsException", "ThrottlingException"):
        error = AwsError(f"{action} throttled by the portal",
                         fix="wait a few seconds and try again")
    elif code is None:
        error = AwsError(f"{action}: the IAM Identity Center portal is unreachable: {exc}",
                         fix="check the network and the session's sso_region")
    else:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
        error = AwsError(f"{action} failed: {code}: {message}")
    error.code = code or type(exc).__name__
    return error


def assume(engine: Engine, plan: Plan, step: Step, now: float) -> Session:
    """A new session for the SSO role of ``step``."""
    # lazy: the estate (botocore) only when an SSO hop runs
    from profiles.estate import clients, signin, tokens

    role = step.role
    assert role is not None and role.sso_session is not None
    sso = engine.inventory.sso_sessions.get(role.sso_session)
    if sso is None:
        raise ConfigError(f"{role.name}: IAM Identity Center session {role.sso_session!r} "
                          "is not in the AWS config", fix="add its [sso-session] section")
    store = tokens.TokenStore.of(engine.cache)
    token = signin.token(sso, store, sign_in=engine.sign_in, clock=engine.clock)
    account, permission = role.account_id, role.role_short_name
    entry = journal.Entry(time=journal.now_iso(), action="GetRoleCredentials", role=role.name,
                          account_id=account, via=engine.acting_via)

    def fetch(token: tokens.Token) -> dict:
        return clients.bearer("sso", sso.region).get_role_credentials(
            accessToken=token.access_token, accountId=account, roleName=permission)

    try:
        try:
            answer = fetch(token)
        except Exception as exc:
            if clients.error_code(exc) != "UnauthorizedException":
                raise
            # The portal refused a token its record calls valid (revoked, signed out
            # elsewhere): renewed, or signed in for, once, as a missing one would be.
            answer = fetch(signin.token(sso, store, sign_in=engine.sign_in,
                                        clock=engine.clock, refused=token))
        raw = answer["roleCredentials"]
        expires = datetime.fromtimestamp(int(raw["expiration"]) / 1000, UTC)
        creds = Credentials(raw["accessKeyId"], raw["secretAccessKey"], raw["sessionToken"],
                            expires)
    except RolecallError as exc:
        raise engine._journal(entry, error=exc) from None
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        raise engine._journal(entry, error=_failure(exc, role.name, sso.name, account,
                                                    permission)) from None
    seconds = max(0, int(expires.timestamp() - now))
    journal.record(replace(entry, duration=seconds, expires_at=iso(expires)),
                   engine.cache.state_dir)
    return Session(
        key=step.key, role=role.name, kind="role", arn=role.role_arn, expires_at=expires,
        issued_at=datetime.fromtimestamp(now, UTC), session_name="", role_arn=role.role_arn,
        parent=None, region=role.region, credentials=creds,
        params={"duration": seconds, "sso": sso.name},
    )
