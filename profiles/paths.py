"""Where rolecall's own files live. Every location can be moved by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

from profiles import xdg
from profiles.errors import UsageError

APP = "rolecall"


def _expand(value: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(value)))


def aws_config_file() -> Path:
    return _expand(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config")


def aws_credentials_file() -> Path:
    return _expand(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")


def catalog_file() -> Path:
    if value := os.environ.get("ROLECALL_CONFIG"):
        return _expand(value)
    return Path(_user_dir("config", "ROLECALL_CONFIG")) / "config.toml"


def state_dir() -> Path:
    """Non-secret state: the session index and locks. Created 0700 on demand."""
    if value := os.environ.get("ROLECALL_STATE_DIR"):
        return _expand(value)
    return Path(_user_dir("state", "ROLECALL_STATE_DIR"))


def runtime_dir() -> Path:
    """Files that live as long as the login: the credential endpoint's port and token.
    ``$ROLECALL_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/rolecall`` (a private tmpfs) when
    that is absolute, else the state dir. Created 0700 on demand."""
    if value := os.environ.get("ROLECALL_RUNTIME_DIR"):
        return _expand(value)
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    return Path(base) / APP if base.startswith("/") else state_dir()


def _user_dir(kind: str, override: str) -> str:
    """platformdirs' user dir of ``kind`` (``profiles/xdg.py``: no platformdirs import on
    Linux); a home that cannot be found is bad input, not a crash."""
    try:
        return xdg.user_dir(kind, APP)
    except RuntimeError as exc:  # xdg.HomeUnknown, or platformdirs' own on other systems
        raise UsageError(f"cannot place rolecall's {kind} directory: {exc}",
                         fix=f"set HOME to your home directory, or set {override}") from exc


def keyring_service() -> str:
    """The keyring service name under which sessions are stored (the demo uses its own)."""
    return os.environ.get("ROLECALL_KEYRING_SERVICE") or APP


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700 for the leaf."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (path.stat().st_mode & 0o777) != 0o700:
        os.chmod(path, 0o700)
    return path
