"""IAM Identity Center tokens: each SSO session's access token (with its refresh token)
and the OIDC client registration it came from, in the OS keyring under a service of
their own (``<service>:sso``: ``forget --all`` never logs anyone out). The only
plaintext copy is the AWS CLI's cache file (``~/.aws/sso/cache/<sha1>.json``, 0600),
written when the user asks for it (``sso login --share``); a token the AWS CLI cached
itself (``aws sso login``) is used when rolecall has none, exactly as botocore would.

A token with less than 15 minutes left is refreshed (``CreateToken`` with the refresh
token, as botocore does) when the registration allows it; one that is missing or
expired is :class:`LoginRequired` (exit 1), whose fix is ``rolecall sso login NAME``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import stat
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from profiles import paths
from profiles.doors import statefiles
from profiles.errors import AwsError, ConfigError, FileWriteError
from profiles.sessions.keyring_store import KeyringStore

if TYPE_CHECKING:
    from profiles.config.sso_roles import SsoSession
    from profiles.sessions.cache import SessionCache

REFRESH_WINDOW = 15 * 60  # botocore's SSOTokenProvider refreshes inside this
MIN_LEFT = 60  # a token with less than this left is not handed to the portal


def stamp(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def parse_time(text: object) -> float | None:
    """``expiresAt`` as the AWS CLI and botocore write it (``...Z``, ``+00:00``, or the
    CLI's old ``...UTC``), in epoch seconds; None if it is none of these."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    value = value[:-3] + "+00:00" if value.endswith("UTC") else value.replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class Token:
    """An access token and what refreshing it takes; ``source`` is ``keyring`` or the
    AWS CLI cache file it was read from."""

    access_token: str = field(repr=False)
    expires_at: float
    refresh_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    registration_expires_at: float | None = None
    source: str = "keyring"

    def to_json(self, session: SsoSession) -> dict[str, str]:
        """The AWS CLI's cache-file shape (the keyring item holds the same)."""
        data = {"startUrl": session.start_url, "region": session.region,
                "accessToken": self.access_token, "expiresAt": stamp(self.expires_at)}
        if not session.legacy and self.client_id and self.client_secret:
            data.update(clientId=self.client_id, clientSecret=self.client_secret)
            if self.registration_expires_at is not None:
                data["registrationExpiresAt"] = stamp(self.registration_expires_at)
            if self.refresh_token:
                data["refreshToken"] = self.refresh_token
        return data

    @classmethod
    def from_json(cls, data: object, source: str) -> Token | None:
        if not isinstance(data, dict):
            return None
        access, expires = data.get("accessToken"), parse_time(data.get("expiresAt"))
        if not isinstance(access, str) or not access or expires is None:
            return None

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(access, expires, text("refreshToken"), text("clientId"),
                   text("clientSecret"), parse_time(data.get("registrationExpiresAt")), source)


@dataclass(frozen=True)
class Registration:
    """An OIDC client registration (``RegisterClient``): reused until it expires. Its
    grant types say which sign-in it serves (the device code, or the browser's
    authorization code), as the AWS CLI's cache records them."""

    client_id: str
    client_secret: str = field(repr=False)
    expires_at: float
    scopes: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"clientId": self.client_id, "clientSecret": self.client_secret,
                "expiresAt": stamp(self.expires_at), "scopes": list(self.scopes),
                "grantTypes": list(self.grant_types)}

    @classmethod
    def from_json(cls, data: object) -> Registration | None:
        if not isinstance(data, dict):
            return None
        cid, secret = data.get("clientId"), data.get("clientSecret")
        expires, scopes = parse_time(data.get("expiresAt")), data.get("scopes", [])
        grants = data.get("grantTypes", [])
        if not (isinstance(cid, str) and isinstance(secret, str) and expires is not None
                and isinstance(scopes, list) and isinstance(grants, list)):
            return None
        return cls(cid, secret, expires, tuple(s for s in scopes if isinstance(s, str)),
                   tuple(g for g in grants if isinstance(g, str)))


class LoginRequired(AwsError):
    """No usable token for an SSO session: the fix is to log in (the board offers it)."""

    def __init__(self, session: str, why: str, code: str | None = None) -> None:
        super().__init__(f"IAM Identity Center session {session!r} {why}",
                         fix=f"run `rolecall sso login {shlex.quote(session)}`")
        self.session = session
        self.code = code


CLIENT_KEYS = {"device": "client", "code": "client-code"}  # registrations, by sign-in kind
_memory: dict[str, TokenStore] = {}
_memory_lock = threading.Lock()


class TokenStore:
    """The keyring half: ``token:NAME`` and ``client:NAME`` items per SSO session."""

    def __init__(self, service: str, backend: object | None = None,
                 memory_only: bool = False) -> None:
        self.secrets = KeyringStore(f"{service}:sso", backend, memory_only)

    @classmethod
    def of(cls, cache: SessionCache) -> TokenStore:
        """The store beside a session cache: same service name, same backend (with no
        secure backend, one in-memory store per service for the whole process)."""
        backend = cache.backend
        if backend is not None:
            return cls(cache.service, backend)
        with _memory_lock:
            store = _memory.get(cache.service)
            if store is None:
                store = _memory[cache.service] = cls(cache.service, None, True)
            return store

    @property
    def memory_only(self) -> bool:
        return self.secrets.backend is None

    def _read(self, key: str) -> object:
        raw = self.secrets.get(key)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def token(self, name: str) -> Token | None:
        return Token.from_json(self._read(f"token:{name}"), "keyring")

    def put_token(self, session: SsoSession, token: Token) -> None:
        key = f"token:{session.name}"  # the payload names its key: rolecall's item
        self.secrets.set_many({key: (
            json.dumps({**token.to_json(replace(session, legacy=False)), "Key": key}),
            f"rolecall IAM Identity Center token: {session.name}")})

    def registration(self, name: str, kind: str = "device") -> Registration | None:
        """The client registration for the device flow, or (``kind="code"``) for the
        browser's authorization code: each its own item, so neither replaces the other."""
        return Registration.from_json(self._read(f"{CLIENT_KEYS[kind]}:{name}"))

    def put_registration(self, name: str, registration: Registration,
                         kind: str = "device") -> None:
        what = "client" if kind == "device" else "browser sign-in client"
        key = f"{CLIENT_KEYS[kind]}:{name}"  # the payload names its key: rolecall's item
        self.secrets.set_many({key: (
            json.dumps({**registration.to_json(), "Key": key}),
            f"rolecall IAM Identity Center {what}: {name}")})

    def drop_registration(self, name: str, kind: str) -> None:
        self.secrets.delete([f"{CLIENT_KEYS[kind]}:{name}"])

    def drop(self, name: str, registration: bool = False) -> None:
        clients = [f"{key}:{name}" for key in CLIENT_KEYS.values()] if registration else []
        self.secrets.delete([f"token:{name}", *clients])


# -- the AWS CLI's cache file ---------------------------------------------------------------

def cli_cache_file(session: SsoSession) -> Path:
    """Where the AWS CLI and botocore look: the SHA-1 of the sso-session's name, or of
    the start URL for a legacy profile (botocore.utils.SSOTokenLoader)."""
    key = session.start_url if session.legacy else session.name
    directory = Path(os.path.expanduser(os.path.join("~", ".aws", "sso", "cache")))
    return directory / f"{hashlib.sha1(key.encode('utf-8')).hexdigest()}.json"


def read_cli_cache(session: SsoSession) -> Token | None:
    """The AWS CLI's token for ``session``, if its file is a readable regular file."""
    file = cli_cache_file(session)
    try:
        data = statefiles.read_bytes(file, dangling_ok=True)  # the AWS CLI's file: as it reads
        return Token.from_json(json.loads(data), str(file)) if data else None
    except (ConfigError, ValueError):
        return None


def write_cli_cache(session: SsoSession, token: Token) -> Path:
    """Write ``token`` where the AWS CLI reads it (0600, atomically). A symlink to a
    regular file is written through; one to anything else is refused."""
    file = cli_cache_file(session)
    paths.ensure_private_dir(file.parent)
    target = Path(os.path.realpath(file))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise FileWriteError(f"cannot write {file}: {exc.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise FileWriteError(f"cannot write {file}: it is not a regular file",
                             fix="remove it, then log in again with --share")
    try:
        statefiles.write_private(target, json.dumps(token.to_json(session), indent=2).encode())
    except OSError as exc:
        raise FileWriteError(f"cannot write {file}: {exc.strerror or exc}") from None
    return file


# -- a usable token ---------------------------------------------------------------------------

def _refreshed(session: SsoSession, token: Token, now: float) -> Token | None:
    """``CreateToken`` with the refresh token (None when it cannot be, or fails)."""
    # lazy: botocore only when a token is refreshed
    from profiles.estate import clients

    if not (token.refresh_token and token.client_id and token.client_secret) or \
            (token.registration_expires_at is not None and token.registration_expires_at <= now):
        return None
    try:
        answer = clients.bearer("sso-oidc", session.region).create_token(
            grantType="refresh_token", clientId=token.client_id,
            clientSecret=token.client_secret, refreshToken=token.refresh_token)
    except Exception:  # noqa: BLE001 - a failed refresh means logging in again
        return None
    return replace(token, access_token=answer["accessToken"],
                   expires_at=now + int(answer.get("expiresIn", 3600)),
                   refresh_token=answer.get("refreshToken") or token.refresh_token)


def save(session: SsoSession, store: TokenStore, token: Token,
         replaced: Token | None = None) -> None:
    """Keep a new token where the one it replaces came from; the AWS CLI's file too
    when it held the token replaced (a ``--share`` login)."""
    if token.source == "keyring":
        store.put_token(session, token)
        shared = read_cli_cache(session) if replaced is not None else None
        if shared is not None and replaced is not None and \
                shared.access_token == replaced.access_token:
            write_cli_cache(session, token)
    else:
        write_cli_cache(session, token)


def current(session: SsoSession, store: TokenStore) -> Token | None:
    """The session's token as it is: rolecall's, else the AWS CLI's (no refresh)."""
    return store.token(session.name) or read_cli_cache(session)


def refreshed(session: SsoSession, store: TokenStore, token: Token, now: float
              ) -> Token | None:
    """``token`` renewed with its refresh token and kept where it came from; None when
    it cannot be (no refresh token, an expired registration, a refusal)."""
    fresh = _refreshed(session, token, now)
    if fresh is not None:
        save(session, store, fresh, token)
    return fresh


def needs_login(session: SsoSession, token: Token | None) -> LoginRequired:
    if token is None:
        return LoginRequired(session.name, "is not logged in")
    return LoginRequired(session.name, f"has expired (at {stamp(token.expires_at)})")


def usable(session: SsoSession, store: TokenStore, now: float | None = None) -> Token:
    """A token for ``session`` with time left: rolecall's, else the AWS CLI's; refreshed
    inside 15 minutes when it can be. Raises LoginRequired. (``signin.token`` does the
    same under the session's lock, and can sign in.)"""
    now = time.time() if now is None else now
    token = current(session, store)
    if token is None:
        raise needs_login(session, None)
    if token.expires_at - now > REFRESH_WINDOW:
        return token
    fresh = refreshed(session, store, token, now)
    if fresh is not None:
        return fresh
    if token.expires_at - now > MIN_LEFT:
        return token
    raise needs_login(session, token)
