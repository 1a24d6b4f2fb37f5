"""One sign-in for many callers, and a token whenever one can be had.

When a token is missing or near its end, every caller that needs it (``process`` under
parallel SDKs, ``run``'s threads, ``serve``, the board, ``sso login``) takes its turn
under one lock per SSO session, a file in rolecall's state dir (keyed by the keyring
service and the session, as the token's record is). The first renews the token with
the refresh token, or signs in if it can (one browser tab); the others wait for it,
for at most :data:`WAIT` seconds (the message names the bound if it passes), then find
the new token and go on. A caller that waited while another's sign-in failed does not
start one of its own (no tab after tab): it says how to sign in. Which sign-in runs
where: the browser's (authorization code with PKCE) wherever a browser can open here,
else the device code (:func:`method`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from profiles import paths
from profiles.config.sso_roles import SsoSession
from profiles.doors import statefiles
from profiles.errors import UsageError
from profiles.estate import tokens
from profiles.estate.tokens import LoginRequired, Token, TokenStore

WAIT = 330  # a waiter gives the sign-in it waits for this long: pkce.TIMEOUT and 30 s
STEP = 0.2  # seconds between tries of a busy lock (and looks at a cancel event)
SSH = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")

SignIn = Callable[[SsoSession, TokenStore], Token]


def browser_here(env: dict[str, str] | None = None) -> bool:
    """Whether a browser on this machine can be opened and reach the loopback callback:
    a desktop (macOS, Windows, X11 or Wayland) or ``$BROWSER``; in an SSH session only
    when a display is forwarded (a browser there would be a text one, or none)."""
    env = os.environ if env is None else env  # type: ignore[assignment]
    display = bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    if any(env.get(name) for name in SSH) and not display:
        return False
    if env.get("BROWSER") or display:
        return True
    import sys  # lazy: only the platform test needs it

    return sys.platform in ("darwin", "win32")


def method(session: SsoSession, device_code: bool = False) -> str:
    """``code`` (the browser's sign-in) or ``device``: the device code when asked for,
    for a legacy profile (the AWS CLI signs those in so too), or where no browser can
    open."""
    return "device" if device_code or session.legacy or not browser_here() else "code"


def _digest(session: SsoSession, store: TokenStore) -> str:
    key = f"{store.secrets.service}\n{session.name}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


def lock_path(session: SsoSession, store: TokenStore) -> Path:
    return paths.state_dir() / "sso" / f"{_digest(session, store)}.lock"


def _tried(lock: Path) -> tuple[int, int] | None:
    """The mark the last finished sign-in left beside the lock (inode, mtime)."""
    try:
        st = os.stat(lock.with_suffix(".tried"))
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _seconds(bound: float) -> str:
    minutes, seconds = divmod(int(bound), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{bound:g}s"


@contextlib.contextmanager
def _turn(session: SsoSession, lock: Path, bound: float, say: Callable[[str], None] | None,
          cancelled: threading.Event | None) -> Iterator[bool]:
    """Hold the session's lock; yields whether another caller held it first."""
    # lazy: filelock only when a token must be renewed or signed in for
    from filelock import FileLock, Timeout

    paths.ensure_private_dir(lock.parent)
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(lock).st_mode
        if not stat.S_ISREG(mode):
            raise UsageError(f"the lock file {lock} is {statefiles.kind(mode)}; rolecall "
                             "will not use it", fix=f"remove {lock}")
    guard = FileLock(str(lock), mode=0o600)
    waited = False
    try:
        guard.acquire(timeout=0)
    except Timeout:
        waited = True
        if say is not None:
            say(f"waiting for the sign-in to {session.name!r} that another rolecall "
                f"started (at most {_seconds(bound)})")
        deadline = time.monotonic() + bound
        while True:
            if cancelled is not None and cancelled.is_set():
                raise tokens.LoginRequired(session.name, "was not signed in (cancelled "
                                           "while another rolecall signed in)") from None
            try:
                guard.acquire(timeout=STEP, poll_interval=0.05)
                break
            except Timeout:
                if time.monotonic() >= deadline:
                    raise LoginRequired(
                        session.name, f"was not signed in within {_seconds(bound)} by the "
                        "sign-in another rolecall started") from None
    try:
        yield waited
    finally:
        guard.release()


def _attempt(session: SsoSession, store: TokenStore, lock: Path, sign_in: SignIn) -> Token:
    """Sign in, then leave the mark that tells waiters a sign-in was tried."""
    try:
        return sign_in(session, store)
    finally:
        with contextlib.suppress(Exception):  # the mark only spares a second tab
            statefiles.write_private(lock.with_suffix(".tried"), b"", durable=False)


def token(session: SsoSession, store: TokenStore, *, sign_in: SignIn | None = None,
          clock: Callable[[], float] = time.time, bound: float = WAIT,
          say: Callable[[str], None] | None = None,
          cancelled: threading.Event | None = None, refused: Token | None = None) -> Token:
    """A token for ``session`` with time left. One inside its last 15 minutes is renewed
    with the refresh token under the lock; with none to be had, ``sign_in`` runs (None:
    LoginRequired), unless another caller's sign-in ran while this one waited. A
    ``refused`` token (the portal said so) counts as expired."""

    def good(token: Token | None, margin: float) -> bool:
        return token is not None and token.expires_at - clock() > margin and (
            refused is None or token.access_token != refused.access_token)

    found = tokens.current(session, store)
    if good(found, tokens.REFRESH_WINDOW):
        return found  # type: ignore[return-value]
    lock = lock_path(session, store)
    before = _tried(lock)
    with _turn(session, lock, bound, say, cancelled) as waited:
        found = tokens.current(session, store)
        if good(found, tokens.REFRESH_WINDOW):
            return found  # type: ignore[return-value]  # renewed while this one waited
        if found is not None:
            fresh = tokens.refreshed(session, store, found, clock())
            if fresh is not None:
                return fresh
            if good(found, tokens.MIN_LEFT):
                return found  # type: ignore[return-value]
        if sign_in is None:
            if refused is not None and found is not None and not good(found, 0):
                raise LoginRequired(session.name, "is no longer logged in (the portal "
                                    "refused its token)", code="UnauthorizedException")
            raise tokens.needs_login(session, found)
        if waited and _tried(lock) != before:
            raise LoginRequired(session.name, "was not signed in: the sign-in another "
                                "rolecall started did not finish")
        return _attempt(session, store, lock, sign_in)


def sign_in(session: SsoSession, store: TokenStore, flow: SignIn, *,
            clock: Callable[[], float] = time.time, bound: float = WAIT,
            say: Callable[[str], None] | None = None,
            cancelled: threading.Event | None = None) -> tuple[Token, bool]:
    """Sign in (``sso login``, the board) in the session's turn: ``(token, True)``; or,
    when another caller's sign-in finished while this one waited, ``(its token,
    False)``."""
    lock = lock_path(session, store)
    before = _tried(lock)
    with _turn(session, lock, bound, say, cancelled) as waited:
        if waited and _tried(lock) != before:
            found = tokens.current(session, store)
            if found is not None and found.expires_at - clock() > tokens.REFRESH_WINDOW:
                return found, False
        return _attempt(session, store, lock, flow), True
