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
