"""One error base class; each failure carries its exit status and a one-line fix."""

from __future__ import annotations


class RolecallError(Exception):
    """A failure the user can act on. ``str()`` is the message shown after ``rolecall: ``."""

    exit_code = 1
    code: str | None = None  # AWS's error code, when AWS refused (for the journal)

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class UsageError(RolecallError):
    """Bad usage or bad input: unknown role, invalid duration or session name."""

    exit_code = 2


class ConfigError(UsageError):
    """A malformed AWS config, credentials file or catalog."""


class AwsError(RolecallError):
    """An AWS call failed: denied, expired, throttled, unreachable."""


class KeyringError(RolecallError):
    """The OS keyring refused or failed."""


class FileWriteError(RolecallError):
    """A file could not be written; the original is untouched."""


def plain_error_page(response_dict: dict, **_: object) -> None:
    """botocore ``before-parse`` handler: an error answer that is not AWS's (an HTML page
    from a proxy, a load balancer or a server that failed) loses its body, so botocore
    reports it by its HTTP status alone ("500: Internal Server Error"): one line, never
    the page. AWS's own error bodies (JSON or XML) are kept."""
    body = response_dict.get("body")
    if response_dict.get("status_code", 0) < 300 or not isinstance(body, bytes) or not body:
        return
    head = body.lstrip()[:16].lower()
    aws = head.startswith(b"{") or (head.startswith(b"<") and not head.startswith(
        (b"<!doctype", b"<html", b"<head", b"<body")))
    if not aws:
        response_dict["body"] = b""


def one_line_errors(session) -> None:
    """Register :func:`plain_error_page` on a botocore session (once)."""
    session.register("before-parse", plain_error_page, unique_id="rolecall-plain-errors")
