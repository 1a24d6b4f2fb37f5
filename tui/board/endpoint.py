"""The board's credential endpoint (see docs/architecture.md, Credential endpoint): `e` starts or
stops the same endpoint
``rolecall serve`` runs (recorded in the runtime dir, so ``rolecall env ROLE --server``
in another terminal points an SDK at it), and the header says it runs. While it runs,
the MFA codes its renewals need are asked in the board's MFA dialog, so an SDK in another
terminal keeps working across an MFA session's expiry. Renewals it makes show on the
board at once; a failed one is a notification.

A mixin of ``BoardScreen``. The endpoint has an engine of its own on the board's
inventory and cache (the journal says ``serve``), following edits to the AWS files and
the catalog as ``rolecall serve`` does; starting and stopping run in a worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from profiles.errors import RolecallError

if TYPE_CHECKING:
    from profiles.ops.renewal import Event, MfaDesk
    from profiles.ops.server import CredentialServer


class EndpointKeys:
    """`e` and the header's indicator, for a screen with ``rc``, ``ws`` and ``reload``."""

    endpoint: CredentialServer | None = None
    _endpoint_desk: MfaDesk | None = None
    _endpoint_busy = False
    _endpoint_logins: frozenset[str] = frozenset()  # SSO sessions whose sign-in was offered

    def endpoint_label(self) -> str:
        """The header's words for the endpoint: where it listens, what it awaits."""
        if self.endpoint is None:
            return ""
        label = f"endpoint 127.0.0.1:{self.endpoint.port}"
        desk = self._endpoint_desk
        if desk is not None and desk.pending():
            label += " (MFA code wanted)"
        return label

    def action_endpoint(self) -> None:
        if self._endpoint_busy:
            return
        if self.ws is None:
            self.rc.say("still loading the roles", severity="warning")
            return
        self._endpoint_busy = True
        if self.endpoint is None:
            self.run_worker(self._start_endpoint, thread=True, group="endpoint")
        else:
            server, self.endpoint = self.endpoint, None
            self.run_worker(lambda: self._stop_endpoint(server), thread=True, group="endpoint")

    def _start_endpoint(self) -> None:
        # lazy: the endpoint's modules only when e is pressed, off the board's first frame
        from profiles.config.follow import Follower
        from profiles.ops import endpoint_file
        from profiles.ops.renewal import MfaDesk, Renewer
        from profiles.sessions.engine import Engine

        ws = self.ws
        assert ws is not None
        engine = Engine(ws.inventory, ws.cache, clock=ws.engine.clock, via="serve")
        desk = MfaDesk(self._endpoint_mfa, where="in the board")
        renewer = Renewer(engine, desk, on_event=self._endpoint_event,
                          follow=Follower(ws.inventory))
        call = self.app.call_from_thread
        try:
            server = endpoint_file.open_shared(renewer).start()
        except RolecallError as exc:
            call(self._endpoint_failed, exc)
            return
        call(self._endpoint_started, server, desk)

    def _endpoint_started(self, server: CredentialServer, desk: MfaDesk) -> None:
        self.endpoint, self._endpoint_desk, self._endpoint_busy = server, desk, False
        self._endpoint_logins = frozenset()
        self.rc.say(f"{server.url()}/role/ROLE, token in the runtime dir; in a shell: "
                    'eval "$(rolecall env ROLE --server)"', title="endpoint started",
                    timeout=8)
        self.update_status()

    def _endpoint_failed(self, exc: RolecallError) -> None:
        self._endpoint_busy = False
        self.rc.fail("endpoint", exc)

    def _stop_endpoint(self, server: CredentialServer) -> None:
        # lazy: see _start_endpoint
        from profiles.ops import endpoint_file

        endpoint_file.close_shared(server)
        self.app.call_from_thread(self._endpoint_stopped)

    def _endpoint_stopped(self) -> None:
        self._endpoint_busy, self._endpoint_desk = False, None
        self.rc.say("endpoint stopped", timeout=3)
        self.update_status()

    def stop_endpoint_now(self) -> None:
        """On the way out: stop it here and now."""
        server, self.endpoint = self.endpoint, None
        if server is None:  # the usual case: quitting imports no endpoint code
            return
        # lazy: see _start_endpoint
        from profiles.ops import endpoint_file

        endpoint_file.close_shared(server)

    # -- from the endpoint's threads ------------------------------------------------------

    def _endpoint_mfa(self, serial: str, role: str) -> str:
        """The desk's prompt (its own thread): the board's MFA dialog."""
        self.app.call_from_thread(self.update_status)
        return self.rc.prompt_mfa(serial, role, hint="the credential endpoint needs it to "
                                  f"renew the session of {role}")

    def _endpoint_event(self, event: Event) -> None:
        self.app.call_from_thread(self._endpoint_show, event)

    def _endpoint_show(self, event: Event) -> None:
        if event.kind == "renewed":
            self.reload(select=self.board.selected if self.board else None)
        elif event.kind == "failed" and self._endpoint_login(event):
            pass
        elif event.kind == "failed":
            message, _, fix = event.detail.partition("\n  fix: ")
            self.rc.fail(f"endpoint: renewing {event.role}",
                         RolecallError(message, fix=fix or None))
        self.update_status()

    def _endpoint_login(self, event: Event) -> bool:
        """A renewal that needs an IAM Identity Center login: the board's sign-in is offered,
        once per session while the endpoint runs (requests meanwhile get a 503 naming
        ``sso login``). False for any other failure."""
        # lazy: the core's SSO tokens and the sign-in dialog only when a login is needed
        from profiles.estate.tokens import LoginRequired
        from tui.screens.sso_login import offer

        error = event.error
        if not isinstance(error, LoginRequired):
            return False
        if error.session not in self._endpoint_logins:
            self._endpoint_logins = self._endpoint_logins | {error.session}
            offer(self, error.session, event.role)  # type: ignore[arg-type]
        return True
