"""IAM Identity Center worlds for the SSO tests: the fakes (``sso-oidc`` + ``sso``) over
an injected clock, an AWS config with an ``[sso-session corp]``, logins without the
device flow, and the core objects an in-process test drives.

Import the fixtures a module uses::

    from tests.sso_world import identity, corp  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import World
from tests.fakes import FakeClock, IdentityCenter, MotoKeys, SsoFakes

ACCOUNTS = {"111111111111": "prod", "222222222222": "staging", "333333333333": "dev"}
ROLES = ("AdministratorAccess", "ReadOnly", "Billing")


def sso_session(center: IdentityCenter, name: str = "corp") -> str:
    return (f"[sso-session {name}]\nsso_start_url = {center.start_url}\n"
            "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n\n")


@dataclass
class Identity:
    """The fakes, their directory and the clock both they and the test's core share."""

    fakes: SsoFakes
    clock: FakeClock

    @property
    def center(self) -> IdentityCenter:
        return self.fakes.center


@pytest.fixture
def identity(moto, monkeypatch) -> Iterator[Identity]:
    """IAM Identity Center on loopback, its clock injectable, its role keys moto's."""
    clock = FakeClock()
    center = IdentityCenter(clock, minter=MotoKeys(moto))
    for account, name in ACCOUNTS.items():
        center.add_account(account, name, roles=ROLES)
    with SsoFakes.of(center) as fakes:
        for key, value in fakes.env.items():
            monkeypatch.setenv(key, value)
        yield Identity(fakes, clock)
    assert not fakes.crashes, fakes.crashes[0]


@dataclass
class Corp:
    """A world whose AWS config holds ``[sso-session corp]`` (and ``extra``)."""

    world: World
    identity: Identity

    def configure(self, extra: str = "") -> None:
        self.world.write_config(sso_session(self.identity.center) + extra)

    def inventory(self):
        from profiles.config import inventory

        return inventory.load()

    def workspace(self, **kwargs):
        from profiles.workspace import Workspace

        return Workspace(clock=self.identity.clock, inv=self.inventory(), **kwargs)

    def session(self, inv=None):
        from profiles.estate import sso

        return sso.resolve(inv or self.inventory(), "corp")

    def log_in(self, cache=None, **token_args):
        """A token in the keyring as a finished device flow leaves it (no flow)."""
        from profiles.estate.tokens import Token, TokenStore
        from profiles.sessions.cache import SessionCache

        issued = self.identity.center.issue_token(**token_args)
        store = TokenStore.of(cache or SessionCache())
        token = Token(issued.access_token, issued.expires_at, issued.refresh_token)
        store.put_token(self.session(), token)
        return issued

    def sync(self, cache=None, **kwargs):
        from profiles.estate import discovery
        from profiles.estate.discovery import Limiter
        from profiles.sessions.cache import SessionCache

        clock = self.identity.clock
        limiter = kwargs.pop("limiter", None) or Limiter(clock=clock, sleep=clock.advance)
        return discovery.run(self.inventory(), cache or SessionCache(), self.session(),
                             limiter=limiter, clock=clock, **kwargs)


@pytest.fixture
def corp(world, identity) -> Corp:
    c = Corp(world, identity)
    c.configure()
    return c
