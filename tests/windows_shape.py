"""Run ``python -m tui ARGS`` with rolecall's own code seeing what Windows' Python has:
``python tests/windows_shape.py ARGS``. For imports made by ``profiles`` and ``tui``
modules, the POSIX-only modules are missing (``fcntl``, ``termios``, ``pwd``...) and
``os``, ``signal`` and ``select`` lack their POSIX-only names (``os.fchmod``,
``os.O_NOCTTY``, ``os.fork``, ``signal.SIGKILL``, ``select.poll``...), as on Windows.
Libraries keep the real modules (on Windows they have their own code paths). What this
proves: no unguarded POSIX-only name on the paths these commands take."""

from __future__ import annotations

import builtins
import runpy
import sys
import types

OURS = ("profiles", "tui")
MISSING_MODULES = {"fcntl", "termios", "pwd", "grp", "resource", "tty", "pty", "posix"}
MISSING_NAMES = {
    "os": {"fchmod", "fchown", "getuid", "geteuid", "getgid", "getegid", "killpg",
           "getpgid", "getpgrp", "setsid", "setpgid", "getsid", "fork", "forkpty",
           "posix_spawn", "posix_spawnp", "pidfd_open", "sched_getaffinity", "tcgetpgrp",
           "mkfifo", "O_NOCTTY", "O_NONBLOCK", "O_NOFOLLOW", "O_CLOEXEC", "O_DIRECTORY",
           "WNOHANG", "getloadavg", "sync"},
    "signal": {"SIGKILL", "SIGHUP", "SIGQUIT", "SIGCHLD", "SIGPIPE", "SIGXFSZ", "SIGALRM",
               "SIGTSTP", "SIGCONT", "SIGUSR1", "SIGUSR2", "pthread_sigmask", "sigtimedwait",
               "sigwait", "sigwaitinfo", "setitimer", "alarm", "pthread_kill", "siginterrupt"},
    "select": {"poll", "epoll", "kqueue", "devpoll"},
}


class Shaped(types.ModuleType):
    """``module`` without ``missing``."""

    def __init__(self, module: types.ModuleType, missing: set[str]) -> None:
        super().__init__(module.__name__, module.__doc__)
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_missing", missing)

    def __getattr__(self, name: str):
        if name in self._missing:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r} "
                                 "(as on Windows)")
        return getattr(self._module, name)


_real_import = builtins.__import__
_shaped = {}


def _import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
    importer = (globals or {}).get("__name__", "")
    if level == 0 and importer.split(".")[0] in OURS:
        top = name.split(".")[0]
        if top in MISSING_MODULES:
            raise ImportError(f"No module named {name!r} (as on Windows)")
        if name in MISSING_NAMES:
            if name not in _shaped:
                _shaped[name] = Shaped(_real_import(name), MISSING_NAMES[name])
            return _shaped[name]
    return _real_import(name, globals, locals, fromlist, level)


if __name__ == "__main__":
    builtins.__import__ = _import
    sys.argv = ["rolecall", *sys.argv[1:]]
    runpy.run_module("tui", run_name="__main__", alter_sys=True)
