"""Shared helpers for the CLI suite: worlds with chains, and checks on CLI failures."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

from tests.conftest import ISOLATED, World

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
MFA_SERIAL = "arn:aws:iam::000000000000:mfa/operator"


def assert_fails(proc: subprocess.CompletedProcess, code: int = 2, *needles: str) -> str:
    """Exit ``code``, exactly one ``rolecall: `` line on stderr (a ``fix:`` line may
    follow), nothing on stdout, no traceback; returns stderr."""
    err = proc.stderr
    assert proc.returncode == code, (proc.returncode, err)
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert lines and lines[0].startswith("rolecall: "), err
    assert sum(line.startswith("rolecall: ") for line in lines) == 1, err
    assert all(line.startswith("  fix: ") for line in lines[1:]), err
    assert "internal error" not in err, err
    assert proc.stdout == "", proc.stdout
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def environ(world: World, **extra: str) -> dict[str, str]:
    """The environment ``world.run`` gives the CLI, for other subprocesses (aws, sh)."""
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED}
    env.update(world.env)
    env.update(extra)
    return env


def run_detached(world: World, *args: str, env: dict | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess:
    """The CLI in a new session: no controlling terminal, stdin closed."""
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                          text=True, env=environ(world, **(env or {})), timeout=timeout,
                          cwd=world.home, stdin=subprocess.DEVNULL, start_new_session=True)


def chain_config(world: World, extra: str = "") -> dict[str, str]:
    """[base] with real keys, hop1 -> hop2 -> hop3 across three accounts, plus ``extra``."""
    arns = {f"a{i}": world.moto.create_role(ACCOUNTS[i - 1], f"Hop{i}") for i in (1, 2, 3)}
    world.write_config(
        "[profile base]\nregion = us-east-1\n\n"
        f"[profile hop1]\nrole_arn = {arns['a1']}\nsource_profile = base\n\n"
        f"[profile hop2]\nrole_arn = {arns['a2']}\nsource_profile = hop1\n\n"
        f"[profile hop3]\nrole_arn = {arns['a3']}\nsource_profile = hop2\n" + extra)
    if not world.credentials.exists() or "[base]" not in world.credentials.read_text():
        world.base_profile()
    return arns


def ok_json(proc: subprocess.CompletedProcess):
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def process_creds(world: World, role: str) -> dict:
    return ok_json(world.run("process", role))


class StsCalls(list):
    """The ``dict(params)`` of every STS call made through ``profiles.sessions.sts.client``
    while it is active (a context manager): the engine's real clients, observed through
    botocore's own ``provide-client-params`` hook."""

    @contextlib.contextmanager
    def active(self):
        from profiles.sessions import sts

        original = sts.client

        def client(*args, **kwargs):
            made = original(*args, **kwargs)
            made.meta.events.register("provide-client-params.sts",
                                      lambda params, **_: self.append(dict(params)))
            return made

        sts.client = client
        try:
            yield self
        finally:
            sts.client = original
