"""Signing in to IAM Identity Center from the command line: the sign-in ``sso login``
runs (the browser's, or the device code's), what it says on stderr, and the sign-in
``process`` may start by itself where a browser can open."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from profiles.doors.terminal import shown


def say(*lines: str) -> None:
    """Lines on stderr, each shown as one line (outside text in them escaped)."""
    for line in lines:
        print(shown(line), file=sys.stderr, flush=True)


def browser_prompt(prompt) -> None:
    """What the browser's sign-in asks of the person, on stderr."""
    minutes = max(1, int(prompt.expires_at - time.time() + 30) // 60)
    if prompt.opened is None:
        say(f"rolecall: sign in to IAM Identity Center ({prompt.session}) in the browser "
            f"(waiting up to {minutes} minutes)")
    elif prompt.opened is False:
        say(f"rolecall: open this URL in a browser on this machine to sign in to IAM "
            f"Identity Center ({prompt.session}):", f"  {prompt.url}",
            "  (to sign in from another device, use --device-code)")


def flow(kind: str, device_show: Callable, browser: bool = True):
    """The sign-in of ``kind`` (``code`` or ``device``) as a ``signin.SignIn``."""
    # lazy: the core's sign-ins when a command signs in
    from profiles.estate import pkce, sso

    if kind == "device":
        return lambda session, store: sso.login(session, store, show=device_show)
    return lambda session, store: pkce.login(session, store, show=browser_prompt,
                                             browser=browser)


def for_process(ws) -> None:
    """Let ``process`` sign in by itself, in the browser, where one can open here; the
    others waiting on the same session's lock then use that one sign-in."""
    # lazy: the core's sign-ins only for a process call that misses the cache
    from profiles.estate import signin

    if signin.browser_here():
        ws.engine.sign_in = flow("code", None)
