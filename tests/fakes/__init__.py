"""Local HTTP fakes for the AWS services moto lacks, speaking their real wire protocols.

- :class:`SsoFakes` (``sso-oidc`` + ``sso`` portal over one :class:`IdentityCenter`),
- :class:`CloudTrail` (``LookupEvents``), :func:`assume_role_event`,
- :class:`ConsoleFederation` (``getSigninToken`` and ``login``).

Each is a context manager serving ``http://127.0.0.1:PORT``; ``fake.env`` is what a
client needs (``AWS_ENDPOINT_URL_SSO``, ``AWS_ENDPOINT_URL_SSO_OIDC``,
``AWS_ENDPOINT_URL_CLOUDTRAIL``, ``ROLECALL_FEDERATION_URL``); ``fake.calls`` logs every
request; ``fake.throttle`` and ``fake.fail_next`` shape failures. See README.md here.
"""

from tests.fakes.base import FakeService, ServiceError
from tests.fakes.calls import Call, CallLog, Throttle
from tests.fakes.clock import FakeClock
from tests.fakes.cloudtrail import CloudTrail
from tests.fakes.credentials import MotoKeys, RandomKeys, reserved_role_name
from tests.fakes.federation import ConsoleFederation
from tests.fakes.identity_center import DEVICE_GRANT, IdentityCenter
from tests.fakes.moto_keys import Caller, moto_caller
from tests.fakes.sso import SsoFakes
from tests.fakes.sso_oidc import SsoOidc
from tests.fakes.sso_portal import SsoPortal
from tests.fakes.trail_events import TrailEvent, assume_role_event, trail_event

__all__ = [
    "DEVICE_GRANT", "Call", "CallLog", "Caller", "CloudTrail", "ConsoleFederation",
    "FakeClock", "FakeService", "IdentityCenter", "MotoKeys", "RandomKeys", "ServiceError",
    "SsoFakes", "SsoOidc", "SsoPortal", "Throttle", "TrailEvent", "assume_role_event",
    "moto_caller", "reserved_role_name", "trail_event",
]
