"""pytest fixtures for the fakes; import the ones a module uses::

    from tests.fakes.fixtures import sso_fakes  # noqa: F401

Each fixture starts its servers for one test, wires credentials to the session's moto
server where that makes them usable, and fails the test if the fake itself crashed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.clock import FakeClock
from tests.fakes.cloudtrail import CloudTrail
from tests.fakes.credentials import MotoKeys
from tests.fakes.federation import ConsoleFederation
from tests.fakes.identity_center import IdentityCenter
from tests.fakes.moto_keys import moto_caller
from tests.fakes.sso import SsoFakes


def _no_crash(crashes: list[str]) -> None:
    assert not crashes, f"a fake crashed:\n{crashes[0]}"


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sso_fakes(moto) -> Iterator[SsoFakes]:
    """IAM Identity Center (``sso-oidc`` + ``sso``) whose role keys are moto's."""
    with SsoFakes.of(IdentityCenter(minter=MotoKeys(moto))) as fakes:
        yield fakes
    _no_crash(fakes.crashes)


@pytest.fixture
def cloudtrail_fake(moto) -> Iterator[CloudTrail]:
    """CloudTrail that knows every key moto issued."""
    with CloudTrail(resolver=moto_caller) as trail:
        yield trail
    _no_crash(trail.crashes)


@pytest.fixture
def federation_fake() -> Iterator[ConsoleFederation]:
    with ConsoleFederation() as federation:
        yield federation
    _no_crash(federation.crashes)
