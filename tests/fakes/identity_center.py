"""IAM Identity Center's state, shared by the ``sso-oidc`` and ``sso`` (portal) fakes.

Users, the accounts and permission sets assigned to them, OIDC client registrations,
device authorizations, authorization codes (PKCE) and the access tokens they yield. A
test drives it directly: ``center.approve(user_code)`` is the person clicking "Allow" in
the browser for a device code, ``center.consent = "deny"`` is the person refusing on the
page ``/authorize`` leads to, and ``center.issue_token()`` skips both flows.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import threading
import time
from dataclasses import dataclass, field

from tests.fakes.clock import Clock
from tests.fakes.credentials import Keys, Minter, RandomKeys

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_START_URL = "https://d-9067c1b3a5.awsapps.com/start"
DEFAULT_USER = "operator@example.com"


@dataclass
class Account:
    account_id: str
    name: str
    email: str
    roles: dict[str, int] = field(default_factory=dict)  # permission set -> session seconds


@dataclass
class Client:
    client_id: str
    client_secret: str
    name: str
    scopes: list[str]
    grant_types: list[str]
    issued_at: int
    expires_at: int
    redirect_uris: list[str] = field(default_factory=list)
    issuer_url: str | None = None


@dataclass
class DeviceAuth:
    device_code: str
    user_code: str
    client_id: str
    start_url: str
    expires_at: float
    interval: int
    state: str = "pending"  # pending, approved, denied, used
    user: str | None = None
    last_poll: float | None = None


@dataclass
class AuthCode:
    """An authorization code (``/authorize``), bound to its client, redirect URI and the
    PKCE challenge; exchanged once, within ``code_ttl``."""

    code: str
    client_id: str
    redirect_uri: str
    challenge: str
    user: str
    start_url: str
    scopes: list[str]
    expires_at: float
    used: bool = False


def s256(verifier: str) -> str:
    """RFC 7636's S256 challenge of ``verifier`` (base64url, no padding)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Token:
    access_token: str
    user: str
    start_url: str
    expires_at: float
    client_id: str | None = None
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class Instance:
    """One Identity Center instance (one start URL): its accounts and assignments."""

    start_url: str
    accounts: dict[str, Account] = field(default_factory=dict)
    assignments: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # user->acct->roles


def _code(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class IdentityCenter:
    """The directory and token store; thread-safe; every time is from ``clock``."""

    def __init__(self, clock: Clock | None = None, *, region: str = "us-east-1",
                 start_url: str = DEFAULT_START_URL, user: str = DEFAULT_USER,
                 minter: Minter | None = None, token_ttl: int = 28800, device_ttl: int = 600,
                 interval: int = 1, slow_down_penalty: int = 5,
                 registration_ttl: int = 90 * 86400, code_ttl: int = 300) -> None:
        self.clock: Clock = clock or time.time
        self.region = region
        self.start_url = start_url
        self.user = user
        self.minter: Minter = minter or RandomKeys()
        self.token_ttl = token_ttl  # CreateToken expiresIn
        self.device_ttl = device_ttl  # StartDeviceAuthorization expiresIn
        self.interval = interval  # polling interval the service asks for
        self.slow_down_penalty = slow_down_penalty  # RFC 8628 3.5: +5 s after slow_down
        self.enforce_interval = True  # polls inside the interval get slow_down
        self.registration_ttl = registration_ttl
        self.code_ttl = code_ttl  # an authorization code's life
        self.consent = "allow"  # what the person does on the sign-in page: allow or deny
        self.instances: dict[str, Instance] = {start_url: Instance(start_url)}
        self.clients: dict[str, Client] = {}
        self.devices: dict[str, DeviceAuth] = {}  # by device code
        self.codes: dict[str, AuthCode] = {}  # by authorization code
        self.tokens: dict[str, Token] = {}  # by access token
        self.refresh_tokens: dict[str, Token] = {}
        self.issued: list[Keys] = []  # every role credential handed out
        self.lock = threading.RLock()  # held while state is read or changed

    # directory
    def instance(self, start_url: str | None = None) -> Instance:
        url = start_url or self.start_url
        with self.lock:
            return self.instances.setdefault(url, Instance(url))

    def add_account(self, account_id: str, name: str | None = None, *, email: str | None = None,
                    roles: tuple[str, ...] | list[str] = ("AdministratorAccess",),
                    users: tuple[str, ...] | None = None, session_duration: int = 3600,
                    start_url: str | None = None) -> Account:
        """An account with permission sets, assigned to ``users`` (default: the user)."""
        with self.lock:
            inst = self.instance(start_url)
            account = inst.accounts.setdefault(account_id, Account(
                account_id, name or f"account-{account_id}",
                email or f"aws+{account_id}@example.com"))
            for role in roles:
                account.roles.setdefault(role, session_duration)
                for user in users or (self.user,):
                    self.assign(user, account_id, role, start_url=start_url)
            return account

    def assign(self, user: str, account_id: str, role: str, *,
               start_url: str | None = None) -> None:
        with self.lock:
            inst = self.instance(start_url)
            inst.accounts[account_id].roles.setdefault(role, 3600)
            inst.assignments.setdefault(user, {}).setdefault(account_id, set()).add(role)

    def unassign(self, user: str, account_id: str, role: str, *,
                 start_url: str | None = None) -> None:
        with self.lock:
            self.instance(start_url).assignments.get(user, {}).get(account_id, set()).discard(role)

    def accounts_of(self, token: Token) -> list[Account]:
        with self.lock:
            inst = self.instance(token.start_url)
            mine = inst.assignments.get(token.user, {})
            return [a for a in inst.accounts.values() if mine.get(a.account_id)]

    def roles_of(self, token: Token, account_id: str) -> list[str]:
        with self.lock:
            inst = self.instance(token.start_url)
            mine = inst.assignments.get(token.user, {}).get(account_id, set())
            account = inst.accounts.get(account_id)
            return [r for r in account.roles if r in mine] if account else []

    def credentials(self, token: Token, account_id: str, role: str) -> tuple[Keys, int] | None:
        """Keys and expiry (epoch ms) for an assigned role, or None when not assigned."""
        if role not in self.roles_of(token, account_id):
            return None
        duration = self.instance(token.start_url).accounts[account_id].roles[role]
        keys = self.minter.mint(account_id, role, token.user, duration)
        with self.lock:
            self.issued.append(keys)
        return keys, int((self.clock() + duration) * 1000)

    # OIDC
    def register_client(self, name: str, scopes: list[str] | None = None,
                        grant_types: list[str] | None = None,
                        redirect_uris: list[str] | None = None,
                        issuer_url: str | None = None) -> Client:
        now = int(self.clock())
        client = Client(_code(string.ascii_letters + string.digits, 22),
                        "eyJraWQiOiJrZXktMTU2NDAy" + secrets.token_urlsafe(120), name,
                        list(scopes or []), list(grant_types or []), now,
                        now + self.registration_ttl, list(redirect_uris or []), issuer_url)
        with self.lock:
            self.clients[client.client_id] = client
        return client

    def client(self, client_id: str, client_secret: str | None) -> Client | None:
        """A registered, unexpired client whose secret matches (None otherwise)."""
        with self.lock:
            client = self.clients.get(client_id)
        if client is None or client.expires_at <= self.clock():
            return None
        if client_secret is not None and not secrets.compare_digest(
                client.client_secret, client_secret):
            return None
        return client

    def start_device(self, client: Client, start_url: str) -> DeviceAuth:
        letters = "BCDFGHJKLMNPQRSTVWXZ"
        device = DeviceAuth(secrets.token_urlsafe(48), f"{_code(letters, 4)}-{_code(letters, 4)}",
                            client.client_id, start_url, self.clock() + self.device_ttl,
                            self.interval)
        with self.lock:
            self.devices[device.device_code] = device
        return device

    def device(self, user_code: str | None = None) -> DeviceAuth:
        """The device authorization with ``user_code`` (default: the latest one)."""
        with self.lock:
            if user_code is None:
                if not self.devices:
                    raise LookupError("no device authorization was started")
                return list(self.devices.values())[-1]
            for device in self.devices.values():
                if device.user_code == user_code:
                    return device
        raise LookupError(f"no device authorization with user code {user_code}")

    def approve(self, user_code: str | None = None, user: str | None = None) -> DeviceAuth:
        """The person signs in and clicks Allow for ``user_code`` (default: the latest)."""
        with self.lock:
            device = self.device(user_code)
            device.state, device.user = "approved", user or self.user
            return device

    def deny(self, user_code: str | None = None) -> DeviceAuth:
        with self.lock:
            device = self.device(user_code)
            device.state = "denied"
            return device

    def grant_code(self, client: Client, redirect_uri: str, challenge: str,
                   scopes: list[str], user: str | None = None) -> AuthCode:
        """The person signed in and allowed: a code for ``client`` (``/authorize``)."""
        code = AuthCode(secrets.token_urlsafe(48), client.client_id, redirect_uri, challenge,
                        user or self.user, client.issuer_url or self.start_url, scopes,
                        self.clock() + self.code_ttl)
        with self.lock:
            self.codes[code.code] = code
        return code

    def issue_token(self, user: str | None = None, *, start_url: str | None = None,
                    expires_in: int | None = None, client_id: str | None = None,
                    refresh: bool = False) -> Token:
        """A valid access token (the device flow's result, without the flow)."""
        token = Token("aoa" + secrets.token_urlsafe(200), user or self.user,
                      start_url or self.start_url,
                      self.clock() + (self.token_ttl if expires_in is None else expires_in),
                      client_id, "aor" + secrets.token_urlsafe(200) if refresh else None)
        with self.lock:
            self.tokens[token.access_token] = token
            if token.refresh_token:
                self.refresh_tokens[token.refresh_token] = token
        return token

    def token(self, access_token: str | None) -> Token | None:
        """The token if it is known, not logged out and not expired by the clock."""
        with self.lock:
            token = self.tokens.get(access_token or "")
        if token is None or token.revoked or token.expires_at <= self.clock():
            return None
        return token

    def revoke(self, access_token: str) -> None:
        """Logout: the token stops working (its refresh token too)."""
        with self.lock:
            token = self.tokens.get(access_token)
            if token is not None:
                token.revoked = True
                self.refresh_tokens.pop(token.refresh_token or "", None)

    def expire(self, access_token: str | None = None) -> None:
        """Expire one token (default: every token) as if its lifetime had passed."""
        with self.lock:
            for token in self.tokens.values():
                if access_token is None or token.access_token == access_token:
                    token.expires_at = self.clock()
