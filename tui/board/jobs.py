"""Blocking work for a screen, in thread workers: the role is marked busy meanwhile, the
result (or the failure, as a notification with its fix) comes back on the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work

from profiles.errors import RolecallError


class PromptCancelled(Exception):
    """The operator dismissed an MFA prompt that a worker was waiting on."""


class Jobs:
    """A mixin for a screen with ``board``, ``rc`` (the app), ``reload`` and
    ``show_detail``: runs one job per call in the ``core`` worker group."""

    def background(self, name: str, busy: str | None, job: Callable[[], Any],
                   done: Callable[[Any], None], *, verb: str, auto: bool = False,
                   reload: bool = True,
                   failed: Callable[[RolecallError], None] | None = None) -> None:
        """Run ``job`` in a worker (``name`` shown as ``busy`` on the board), then
        ``done(result)``, or ``failed(error)`` after the failure is shown."""
        if busy is not None and self.board is not None:
            self.board.set_busy(name, busy)
            self.show_detail()
        self._run_job(name, job, done, verb, auto, reload, failed, busy is not None)

    @work(thread=True, group="core")
    def _run_job(self, name: str, job: Callable[[], Any], done: Callable[[Any], None],
                 verb: str, auto: bool, reload: bool,
                 failed: Callable[[RolecallError], None] | None, busy: bool) -> None:
        call = self.app.call_from_thread
        try:
            value = job()
        except PromptCancelled:
            call(self.rc.say, f"{verb} {name} cancelled", timeout=3)
        except RolecallError as exc:
            call(self._job_failed, f"{verb} {name}", self.explained(name, verb, exc), failed)
        except Exception as exc:  # noqa: BLE001 - a worker must not take the app down
            call(self._job_failed, f"{verb} {name}",
                 RolecallError(f"internal error: {type(exc).__name__}: {exc}",
                               fix="run `rolecall --debug` with the same command line "
                               "and report it"), None)
        else:
            call(done, value)
        finally:
            call(self._job_over, name, auto, reload, busy)

    def explained(self, name: str, verb: str, exc: RolecallError) -> RolecallError:
        """The failure of ``verb name`` as this screen says it (a mixin may add its key)."""
        return exc

    def _job_failed(self, what: str, exc: RolecallError,
                    failed: Callable[[RolecallError], None] | None) -> None:
        self.rc.fail(what, exc)
        if failed is not None:
            failed(exc)

    def _job_over(self, name: str, auto: bool, reload: bool, busy: bool) -> None:
        if busy and self.board is not None:
            self.board.set_busy(name, None)
        if auto:
            self._auto_running = False
        if reload:
            self.reload(select=self.board.selected if self.board else None)
        self.show_detail()
