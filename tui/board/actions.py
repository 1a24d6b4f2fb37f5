"""The board's role actions (see docs/architecture.md, The board): assume, chain, write, shell,
refresh, forget.

A mixin of ``BoardScreen``: each action asks what it needs in a dialog, then runs the
blocking part (STS, keyring, files) through ``Jobs`` in a thread worker and shows the
answer. Every name on screen goes through ``Content``/``Text`` or ``say``: literally.
"""

from __future__ import annotations

import configparser
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import SuspendNotSupported

from profiles import paths
from profiles.doors.terminal import block, shown
from profiles.durations import format_countdown
from profiles.errors import RolecallError, UsageError
from profiles.output import environment
from profiles.workspace import ChangesChains
from tui.board.jobs import Jobs
from tui.board.render import row_error
from tui.board.shell import nested_guard, run_shell

if TYPE_CHECKING:
    from profiles.model import Session
    from profiles.workspace import RoleRow
    from tui.screens.assume import AssumeRequest
    from tui.screens.chain import ChainRequest
    from tui.screens.write import WriteRequest

# The dialogs are imported on first use: the first frame does without them.


class RoleActions(Jobs):
    """What the board's keys do to the selected role."""

    asked: dict[str, int]  # role -> the duration the operator asked for (renewals too)
    denied: set[str]  # denied with no external id configured: the dialog offers one
    chain_options: dict[str, str | None]  # ad-hoc chain label -> the external id it used

    def _picked(self) -> str | None:
        """The selected role's name once the roles are loaded, else None (and why)."""
        if self.ws is None or self.snap is None or self.board is None:
            self.rc.say("still loading the roles", severity="warning")
            return None
        if self.board.selected is None:
            self.rc.say("no role selected", severity="warning")
        return self.board.selected

    def _selected(self, need_session: bool = False) -> RoleRow | None:
        if (name := self._picked()) is None:
            return None
        row = self.row(name)
        if row is None:
            self.rc.say("no role selected", severity="warning")
            return None
        if error := row_error(row):
            self.rc.fail(row.name, UsageError(f"{row.name} is broken: {error}",
                                              fix="correct the profile in the AWS config "
                                              "or the catalog"))
            return None
        if row.name in self.board.busy:
            self.rc.say(f"{row.name}: {self.board.busy[row.name]} already", severity="warning")
            return None
        if need_session and (row.session is None or row.session.seconds_left(self.now()) <= 0):
            self.rc.say(f"{row.name} has no active session", severity="warning",
                        title="press enter to assume it first")
            return None
        return row

    def _source(self, name: str) -> str | None:
        return self.snap.adhoc.get(name) if self.snap else None

    # -- assume ---------------------------------------------------------------------------

    def action_assume(self) -> None:
        row = self._selected()
        if row is None:
            return
        if self._source(row.name):
            self._refresh(row.name)  # an ad-hoc chain: assumed again from its source
            return
        self._prepare_assume(row.name)

    def _prepare_assume(self, name: str) -> None:
        ws = self.ws
        assert ws is not None
        denied = name in self.denied

        def needs() -> Any:
            from tui.screens.assume import needs_of  # dialogs load on first use

            return needs_of(ws, name, denied, self.rc.hints.mfa)

        def ask(found: Any) -> None:
            from tui.screens.assume import AssumeModal  # dialogs load on first use

            self.app.push_screen(AssumeModal(found), self._assume_chosen)

        self.background(name, None, needs, ask, verb="assume", reload=False)

    def _assume_chosen(self, request: AssumeRequest | None) -> None:
        if request is None or self.ws is None:
            return
        ws = self.ws
        if request.duration is not None:
            self.asked[request.role] = request.duration
        # A cached session asked with other options is a miss (the core's rule).
        job = partial(ws.assume, request.role, duration=request.duration,
                      external_id=request.external_id, mfa_code=request.mfa_code)
        self.background(request.role, "assuming…", job, partial(self._assumed, request.role),
                        verb="assume", failed=partial(self._assume_failed, request))

    def _assume_failed(self, request: AssumeRequest, exc: RolecallError) -> None:
        from profiles.estate.tokens import LoginRequired  # the core's, loaded by the failure

        if isinstance(exc, LoginRequired):  # no token, or an expired one: offer to sign in
            from tui.screens.sso_login import offer  # dialogs load on first use

            offer(self, exc.session, request.role)  # type: ignore[arg-type]
            return
        denied = getattr(exc, "code", None) == "AccessDenied" or " denied" in exc.message
        if denied and request.external_id is None and self.ws is not None:
            role = self.ws.inventory.roles.get(request.role)
            if role is not None and role.external_id is None:
                self.denied.add(request.role)

    def _assumed(self, name: str, result: Any, verb: str = "assume") -> None:
        session: Session = result.session
        origin = "cached" if result.cached[-1] else "new"
        left = format_countdown(session.seconds_left(self.now()))
        self.rc.say(f"{session.arn}\n{origin} session, {left} left", title=f"{verb} {name}",
                    timeout=5)
        warning = self.ws.cache.warning if self.ws else None
        for note in result.notes:
            if note == warning:
                self.rc.note_once(note, title="keyring")
            else:
                self.rc.say(note, title=name, severity="warning", timeout=10)
        self._live.add(name)
        self._retry_at.pop(name, None)
        self.denied.discard(name)

    def action_refresh(self) -> None:
        row = self._selected()
        if row is not None:
            self._refresh(row.name)

    def _refresh(self, name: str, auto: bool = False) -> None:
        """A new session now, with the duration the operator asked for (this board's, or
        the one the session records from whoever assumed it)."""
        ws = self.ws
        assert ws is not None
        row = self.row(name)
        recorded = row.session.params.get("requested") if row and row.session else None
        duration = self.asked.get(name) or recorded
        if source := self._source(name):
            assert row is not None
            external = self.chain_options.get(name)
            job = partial(ws.chain, source, row.role_arn, label=name, duration=duration,
                          external_id=external)
        else:
            job = partial(ws.assume, name, refresh=True, duration=duration)
        verb = "renew" if auto else "refresh"
        self.background(name, "renewing…" if auto else "refresh…", job,
                        partial(self._assumed, name, verb=verb), verb=verb, auto=auto)

    # -- chain ----------------------------------------------------------------------------

    def action_chain(self) -> None:
        row = self._selected(need_session=True)
        if row is None or self.ws is None:
            return
        from tui.screens.chain import ChainModal  # dialogs load on first use

        self.app.push_screen(ChainModal(row.name, sorted(self.ws.inventory.roles)),
                             self._chain_chosen)

    def _chain_chosen(self, request: ChainRequest | None) -> None:
        if request is None or self.ws is None:
            return
        ws = self.ws
        label = f"{request.source}>{request.target}" if request.target else None
        if request.target is not None:
            role = ws.inventory.role(request.target)
            if request.source in ws.engine.plan(request.target).labels:
                # Its own configuration already chains through the source: assume it.
                job = partial(ws.assume, request.target, duration=request.duration)
                label = request.target
            else:
                job = partial(ws.chain, request.source, role.role_arn, label=label,
                              duration=request.duration, external_id=role.external_id)
                self.chain_options[label] = role.external_id
        else:
            assert request.role_arn is not None
            job = partial(ws.chain, request.source, request.role_arn, label=label,
                          duration=request.duration)

        def done(result: Any) -> None:
            name = result.session.role
            if request.duration is not None:
                self.asked[name] = request.duration
            self._assumed(name, result, verb="chain")
            self.reload(select=name)

        self.background(request.source, "chaining…", job, done, verb="chain", reload=False)

    # -- write ----------------------------------------------------------------------------

    def action_write(self) -> None:
        row = self._selected(need_session=True)
        if row is None:
            return
        from tui.screens.write import WriteModal  # dialogs load on first use

        self.app.push_screen(WriteModal(row.name, str(paths.aws_credentials_file())),
                             self._write_chosen)

    def _write_chosen(self, request: WriteRequest | None, force: bool = False) -> None:
        if request is None or self.ws is None:
            return
        row = self.row(request.role)
        if row is None:
            return
        ws = self.ws
        target = paths.aws_credentials_file()

        def job() -> object:
            session = credentials_of(ws, row)
            try:
                return ws.write(row.name, session, request.profile, force=force)
            except ChangesChains as exc:
                return exc  # other roles would chain from it: ask first
            except UsageError:
                if force or not _unmanaged_section(target, request.profile):
                    raise
                return None  # a section rolecall did not write: ask before replacing it

        def done(outcome: object) -> None:
            if outcome is None or isinstance(outcome, ChangesChains):
                from tui.screens.confirm import rechain, replace_profile  # on first use

                ask = replace_profile(request.profile, str(target)) if outcome is None \
                    else rechain(request.profile, outcome.message)
                self.app.push_screen(ask, lambda yes: self._write_chosen(request, True)
                                     if yes else None)
                return
            self.rc.say(f"wrote [{request.profile}] to {outcome}", title=f"write {row.name}",
                        timeout=5)

        self.background(row.name, "writing…", job, done, verb="write")

    # -- shell, forget --------------------------------------------------------------------

    def action_shell(self) -> None:
        try:
            nested_guard()
        except UsageError as exc:
            self.rc.fail("shell", exc)
            return
        row = self._selected(need_session=True)
        if row is None:
            return
        self.background(row.name, "shell…", partial(self._shell_env, row),
                        partial(self.open_shell, row.name), verb="shell")

    def _shell_env(self, row: RoleRow) -> dict[str, str]:
        assert self.ws is not None
        session = credentials_of(self.ws, row)
        if self._source(row.name):
            assert session.credentials is not None
            return environment.build(row.name, session.credentials.to_process_json(),
                                     session.region, self.ws.refresh_window)
        return self.ws.environment(row.name, session)

    def open_shell(self, name: str, variables: dict[str, str]) -> None:
        """Suspend the TUI, run $SHELL with the session, come back when it exits."""
        try:
            with self.app.suspend():
                print(f"rolecall: shell with {shown(name)}; exit to return to the board",
                      flush=True)
                if self.rc.hints.shell:
                    print(block(self.rc.hints.shell), flush=True)
                lifeline = getattr(self.app, "lifeline", None)
                status = run_shell(variables, lifeline.run_child if lifeline else None)
        except SuspendNotSupported:
            self.rc.say("this terminal cannot suspend the TUI", title="shell",
                        severity="error")
            return
        except RolecallError as exc:
            self.rc.fail(f"shell {name}", exc)
            return
        self.rc.say(f"shell for {name} exited with status {status}", timeout=4)

    def action_forget(self) -> None:
        row = self._selected()
        if row is None or self.ws is None:
            return
        ws = self.ws
        self.background(row.name, "forget…", partial(ws.forget, row.name),
                        lambda n: self.rc.say(f"forgot {n} session{'s' * (n != 1)} of "
                                              f"{row.name}"), verb="forget")


    # -- kubeconfig (the palette's "kubeconfig: ROLE CLUSTER") ---------------------------

    def kubeconfig(self, name: str, cluster: str) -> None:
        """Write the kubeconfig entry of ``name`` for one of its catalog's clusters, as
        ``rolecall eks kubeconfig`` does (the cluster described by EKS as the role)."""
        if self.board is None or not self.board.select(name):
            return
        row = self._selected(need_session=True)
        if row is None or self.ws is None:
            return
        # lazy: the kubeconfig writer (PyYAML) on first use
        from profiles.eks import kubeconfig

        def done(result: tuple[Any, Any]) -> None:
            where, added = result
            self.rc.say(f"context {added.entry.context} in {where}, now kubectl's current "
                        "context", title="kubeconfig")

        self.background(name, "kubeconfig…", partial(kubeconfig.add, self.ws, name, cluster),
                        done, verb="kubeconfig")


def credentials_of(ws: Any, row: RoleRow) -> Session:
    """The row's session with its secrets (a keyring read: workers only)."""
    assert ws is not None and row.session is not None
    session = ws.cache.get(row.session.key)
    if session is None or session.credentials is None:
        raise UsageError(f"the session of {row.name} is no longer in the keyring",
                         fix="press enter to assume it again")
    return session


def _unmanaged_section(path: Any, profile: str) -> bool:
    """Whether the credentials file holds a section ``profile`` rolecall did not write."""
    from profiles.output import credfile  # the writer, in the worker that writes

    parser = configparser.RawConfigParser(default_section="\x00", interpolation=None,
                                          strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeError):
        return False
    managed = {s.name for s in credfile.managed(path)}
    return parser.has_section(profile) and profile not in managed
