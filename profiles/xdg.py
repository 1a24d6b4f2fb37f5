"""The user's state and config dirs, exactly as ``platformdirs`` finds them, but on Linux
without importing it: platformdirs pulls in pathlib, tempfile, shutil and more, which
cost the credential_process hot path more than its own work. Standard library only (the
fast path imports this module); other platforms ask platformdirs itself.

Linux rules (the XDG Base Directory spec, as platformdirs applies them): ``$XDG_STATE_HOME``
or ``$XDG_CONFIG_HOME`` counts only if it is absolute (unset, empty, relative or ``~/..``
values are ignored) and is used verbatim; otherwise ``~/.local/state`` or ``~/.config``
under HOME if HOME is absolute, else under the passwd entry's home. ``tests/test_paths.py``
compares every case with platformdirs.
"""


import os
import sys

_DIRS = {"state": ("XDG_STATE_HOME", "/.local/state"), "config": ("XDG_CONFIG_HOME", "/.config")}


class HomeUnknown(RuntimeError):
    """Neither the XDG variable, HOME nor the passwd entry gives an absolute directory."""


def _native() -> bool:
    """Linux, and not Android (where platformdirs has rules of its own)."""
    if sys.platform != "linux" or hasattr(sys, "getandroidapilevel"):
        return False
    return not (os.environ.get("ANDROID_DATA") == "/data"
                and os.environ.get("ANDROID_ROOT") == "/system")


def _home() -> str:
    home = os.environ.get("HOME", "")
    if home.startswith("/"):
        return home
    try:  # HOME unset, empty or relative: the passwd entry, as os.path.expanduser does
        # lazy: pwd only when HOME is unusable
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError) as exc:
        raise HomeUnknown("the home directory is unknown") from exc


def user_dir(kind: str, app: str) -> str:
    """``platformdirs.user_{kind}_dir(app)`` for ``kind`` "state" or "config"."""
    if not _native():
        # lazy: platformdirs only off Linux (it costs the hot path ~5 ms)
        import platformdirs

        return getattr(platformdirs, f"user_{kind}_dir")(app)
    variable, default = _DIRS[kind]
    base = os.environ.get(variable, "")
    if not base.startswith("/"):
        base = _home().rstrip("/") + default
        if not base.startswith("/"):
            raise HomeUnknown(f"the home directory is not absolute (needed for ~{default})")
    return os.path.join(base, app)
