"""A POSIX-portable core: the credential commands (``list``, ``assume``, ``env --format
powershell``, ``process``, ``exec``, ``write``) run with rolecall's code seeing what
Windows' Python has (``tests/windows_shape.py``) and a keyring with only the generic API
(``tests/generic_keyring.py``, as the Windows Credential Locker offers); what Windows
cannot do (process groups for ``run``, signal masks for ``serve`` and ``exec --server``)
is one ``rolecall:`` line. Nothing on the generic path reads ``/proc``, uses pidfd or
imports a Linux-only module unless a feature test chose it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.generic_keyring import FILE, NAME
from tests.helpers import assert_fails, chain_config, environ

ROOT = Path(__file__).resolve().parent.parent
SHAPE = str(Path(__file__).with_name("windows_shape.py"))


def shaped(world, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = environ(world, PYTHON_KEYRING_BACKEND=NAME, PYTHONPATH=str(ROOT),
                   **{FILE: str(world.home.parent / "keychain.json")}, **env)
    return subprocess.run([sys.executable, SHAPE, *args], capture_output=True, text=True,
                          env=full, cwd=world.home, timeout=120, stdin=subprocess.DEVNULL)


def test_the_credential_commands_run_as_on_windows(world, tmp_path):
    chain_config(world)
    listed = shaped(world, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {r["name"] for r in json.loads(listed.stdout)} >= {"hop1", "hop2", "hop3"}
    assumed = shaped(world, "assume", "hop2", "--json")
    assert assumed.returncode == 0, assumed.stderr
    assert json.loads(assumed.stdout)["cached"] is False
    process = shaped(world, "process", "hop2")
    assert process.returncode == 0, process.stderr
    creds = json.loads(process.stdout)
    powershell = shaped(world, "env", "hop2", "--format", "powershell")
    assert powershell.returncode == 0, powershell.stderr
    assert f"$Env:AWS_SESSION_TOKEN = '{creds['SessionToken']}'" in powershell.stdout
    script = "import os, sys; print(os.environ['AWS_ACCESS_KEY_ID']); sys.exit(7)"
    ran = shaped(world, "exec", "hop2", "--", sys.executable, "-c", script)
    assert ran.returncode == 7, ran.stderr  # a child's status, as exec gives it
    assert ran.stdout.split() == [creds["AccessKeyId"]]
    wrote = shaped(world, "write", "hop2", "--as", "win")
    assert wrote.returncode == 0, wrote.stderr
    assert creds["SessionToken"] in world.credentials.read_text()
    assert "[win]" in world.credentials.read_text()


def test_what_windows_cannot_do_is_one_line(world):
    chain_config(world)
    for args, needs in ((["run", "hop1", "--", "true"], "process groups"),
                        (["serve"], "signal masks"),
                        (["exec", "--server", "hop1", "--", "true"], "signal masks")):
        err = assert_fails(shaped(world, *args), 2, "cannot run on this system", needs)
        assert "WSL" in err


POSIX_ONLY = re.compile(r"/proc\b|pidfd|import (fcntl|termios|pwd|grp|resource|pty|tty)\b"
                        r"|os\.(fchmod|killpg|getuid|setsid|fork)\b|select\.(poll|epoll)\b"
                        r"|signal\.(SIGKILL|SIGHUP|SIGQUIT|SIGCHLD|sigtimedwait|pthread_sigmask)\b")


def test_every_posix_only_name_in_the_core_is_behind_a_feature_test():
    """Each line of ``profiles/`` and ``tui/`` naming a POSIX- or Linux-only thing is in
    a module or function that tests for it first (listed here with the test it makes),
    so a new one is a failure until it is guarded and listed."""
    guarded = {  # file -> the feature test guarding its POSIX-only names
        "profiles/sessions/kernel_keyring.py": "sys.platform, then probe()",
        "profiles/sessions/mfa.py": 'hasattr(os, "killpg")',
        "profiles/xdg.py": "_native() (Linux only), ImportError",
        "profiles/ops/run/executor.py": "run: common.require(killpg, poll)",
        "profiles/estate/handoff.py": "(a comment on /proc)",
        "tui/cli/__init__.py": "AttributeError",
        "tui/cli/prompt.py": "/dev/tty open, then msvcrt",
        "tui/cli/roles.py": "ImportError",
        "tui/cli/run.py": "common.require / hasattr",
        "tui/cli/serve.py": "common.require(pthread_sigmask), getattr(sigtimedwait)",
        "tui/cli/keys.py": "/dev/tty open",
        "tui/board/lifeline.py": "watchable(): ImportError, getattr(signal, ...)",
        "tui/demo/store.py": "_die_with_us(): OSError, AttributeError",
        "tui/demo/world.py": "SIGHUP where it exists",
        "tui/cli/child.py": 'hasattr(os, "fork"), getattr(signal, ...)',
        "profiles/doors/statefiles.py": 'hasattr(os, "fchmod")',
        "profiles/sessions/cache.py": 'hasattr(os, "fchmod")',
        "profiles/output/target.py": 'hasattr(os, "fchmod")',
        "profiles/ops/endpoint_file.py": 'hasattr(os, "getuid")',
        "profiles/registries/git.py": 'hasattr(os, "killpg")',
        "profiles/registries/sync.py": "import fcntl: ImportError",
    }
    found = set()
    for path in sorted([*ROOT.glob("profiles/**/*.py"), *ROOT.glob("tui/**/*.py")]):
        text = path.read_text()
        if POSIX_ONLY.search(text):
            found.add(str(path.relative_to(ROOT)))
    assert found <= set(guarded), sorted(found - set(guarded))
