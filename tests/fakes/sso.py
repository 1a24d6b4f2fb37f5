"""Both halves of a fake IAM Identity Center, started and stopped together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from tests.fakes.identity_center import IdentityCenter
from tests.fakes.sso_oidc import SsoOidc
from tests.fakes.sso_portal import SsoPortal


@dataclass
class SsoFakes:
    center: IdentityCenter
    oidc: SsoOidc
    portal: SsoPortal

    @classmethod
    def of(cls, center: IdentityCenter, **kwargs: Any) -> Self:
        """``kwargs`` (``tps``, ``latency``) apply to both servers."""
        return cls(center, SsoOidc(center, **kwargs), SsoPortal(center, **kwargs))

    def __enter__(self) -> Self:
        self.oidc.start()
        self.portal.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.portal.stop()
        self.oidc.stop()

    @property
    def env(self) -> dict[str, str]:
        """``AWS_ENDPOINT_URL_SSO`` and ``AWS_ENDPOINT_URL_SSO_OIDC``."""
        return {**self.oidc.env, **self.portal.env}

    @property
    def crashes(self) -> list[str]:
        return self.oidc.crashes + self.portal.crashes
