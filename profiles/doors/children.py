"""Children's environments: the one builder of the environment of every process rolecall
starts (``exec``, ``shell``, ``run`` targets, ``exec --server``'s child, ``mfa_process``
and ``ROLECALL_MFA_PROMPT`` commands, ``git``, the browser).

A child gets the parent's environment minus every variable that carries or points at AWS
credentials (so a child never inherits another role's keys, profile or credential
endpoint: a shell prepared with ``env prod-admin --server`` that runs ``rolecall exec
dev -- ...`` gives that command dev alone), plus exactly what that child is meant to
have. ``tests/test_doors_children.py`` fails on a process started any other way.
Standard library only (``exec`` on the fast path builds its child's environment here).
"""

import os
from collections.abc import Mapping

# Every variable an AWS SDK reads credentials from, or is pointed at them by: the
# profile first (what `env ROLE` unsets comes in this order).
CREDENTIAL_VARIABLES = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY", "AWS_SECRET_KEY",  # the older names some SDKs still read
    "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_EXPIRATION",
    "AWS_ACCOUNT_ID",  # botocore reads it with the keys: the account they belong to
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def environ(extra: Mapping[str, str] | None = None,
            base: Mapping[str, str] | None = None,
            drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment for a child: ``base`` (default this process's) minus every
    credential-bearing variable (and the variables in ``drop``: e.g. ``GIT_DIR`` for a
    git that must work on its own repository), plus ``extra`` (the credentials this child
    is meant to have, if any: a role's session, the endpoint's URI and token)."""
    env = dict(os.environ if base is None else base)
    for name in (*CREDENTIAL_VARIABLES, *drop):
        env.pop(name, None)
    if extra:
        env.update(extra)
    return env


def unset(variables: Mapping[str, str]) -> tuple[str, ...]:
    """What a shell must unset before it sets ``variables`` (``rolecall env``), so it
    holds the same as a child :func:`environ` builds: every credential-bearing variable
    that ``variables`` does not set."""
    return tuple(name for name in CREDENTIAL_VARIABLES if name not in variables)
