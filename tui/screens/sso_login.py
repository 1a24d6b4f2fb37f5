"""Signing in to IAM Identity Center from the board: offered when an assumption needs a
login (no token, or an expired one). The sign-in runs in a worker, in the session's turn
(one sign-in for every caller that needs it): in the browser where one can open here,
this dialog waiting until the browser brings the sign-in back (it shows the URL if no
browser opened); else the device code, the dialog showing the verification URL and
code until the person approves them (or cancels). Then the session's roles are listed
if they are stale and the role that needed the login is assumed again."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from tui.screens.confirm import ConfirmModal
from tui.screens.dialog import Dialog, literal, markup

if TYPE_CHECKING:
    from tui.board.screen import BoardScreen


class SignInModal(ConfirmModal):
    """Sign in? The focus is on yes: signing in loses nothing."""

    OK_VARIANT = "primary"

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()


class LoginModal(Dialog):
    """The URL and code to approve; dismisses with None when cancelled."""

    def __init__(self, session: str) -> None:
        super().__init__(markup("Sign in to IAM Identity Center: [b]$name[/b]",
                                             name=session))

    def fields(self) -> ComposeResult:
        yield Static(literal("starting the sign-in…"), id="sso-url")
        yield Static(literal(""), id="sso-code", classes="label")
        yield Static(literal("waiting for approval in the browser…"), classes="hint")

    def buttons(self) -> Horizontal:
        return Horizontal(Button("Cancel", id="cancel"), classes="buttons")

    def key_hints(self) -> list[tuple[str, str, str]]:
        return [("escape", "esc", "Cancel")]

    def show_prompt(self, url: str, code: str) -> None:
        self.query_one("#sso-url", Static).update(
            markup("Open [b]$url[/b]", url=url))
        self.query_one("#sso-code", Static).update(
            markup("and check that it shows the code [b]$code[/b]", code=code))

    def show_browser(self, url: str, opened: bool | None) -> None:
        """The browser's sign-in: opening it, or (none opened) the URL to open here."""
        if opened is None:
            self.query_one("#sso-url", Static).update(
                literal("Sign in in the browser that opened."))
            return
        self.query_one("#sso-url", Static).update(
            markup("No browser opened: open [b]$url[/b]", url=url))
        self.query_one("#sso-code", Static).update(literal("in a browser on this machine"))

    def show_note(self, text: str) -> None:
        self.query_one("#sso-code", Static).update(literal(text))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()


def offer(screen: BoardScreen, session: str, role: str) -> None:
    """Ask to sign in to ``session`` (``role`` needed it); on yes, sign in."""
    question = SignInModal(
        markup("Sign in to [b]$name[/b]?", name=session),
        markup("[b]$role[/b] needs a login to IAM Identity Center session "
               "[b]$name[/b]: the board opens your browser to sign in (or "
               "shows a code to approve), then assumes it.", role=role, name=session),
        yes="Sign in")
    screen.app.push_screen(question, lambda yes: sign_in(screen, session, role) if yes
                           else None)


def sign_in(screen: BoardScreen, name: str, role: str | None) -> None:
    from tui.board.jobs import PromptCancelled  # lazy: the board imports this screen

    ws = screen.ws
    assert ws is not None
    modal = LoginModal(name)
    cancelled = threading.Event()
    screen.app.push_screen(modal, lambda _: cancelled.set())

    def job() -> Any:
        # lazy: the core's SSO modules in the worker, off the board's first frame
        from profiles.estate import discovery, pkce, signin, sso
        from profiles.estate.tokens import LoginRequired, TokenStore
        from profiles.workspace import Workspace

        session = sso.resolve(ws.inventory, name)
        store = TokenStore.of(ws.cache)
        call = screen.app.call_from_thread

        def show(prompt: sso.Prompt) -> None:
            if prompt.code:
                call(modal.show_prompt, prompt.url, prompt.code)
            else:
                call(modal.show_browser, prompt.url, prompt.opened)

        def flow(session, store):
            if signin.method(session) == "device":
                return sso.login(session, store, wait=cancelled.wait, show=show)
            return pkce.login(session, store, show=show, cancelled=cancelled)

        try:
            signin.sign_in(session, store, flow, cancelled=cancelled,
                           say=lambda text: call(modal.show_note, text))
        except (sso.Cancelled, LoginRequired):
            if cancelled.is_set():
                raise PromptCancelled(name) from None
            raise
        screen.app.call_from_thread(modal.dismiss, True)
        if not discovery.stale({session.name: session}, ws.inventory.settings.sso_ttl,
                               screen.rc.clock()):
            return None
        found, _ = discovery.run(ws.inventory, ws.cache, session)
        rc = screen.rc  # a workspace that knows the new roles, made here (it reads files)
        return found.role_count, Workspace(clock=rc.clock, mfa_prompt=rc.prompt_mfa,
                                           via="board")

    def done(listed: tuple[int, Any] | None) -> None:
        if listed is None:
            screen.rc.say("signed in", title=name, timeout=5)
        else:
            screen.rc.say(f"signed in; {listed[0]} roles listed", title=name, timeout=5)
            screen.rc.ws = listed[1]
            screen.reload(select=role)
        if role is not None:  # then assume the role that was waiting for the login
            screen.run_on("assume", role)

    def failed(_: object) -> None:
        if modal.is_current:
            modal.dismiss(None)

    screen.background(name, None, job, done, verb="sign in", reload=False, failed=failed)
