"""The demo works wherever it runs: with no D-Bus session (SSH, a container, a CI
runner) it brings its own store (a private Secret Service when gnome-keyring is
installed, else the kernel keyring), so its tour behaves as on a desktop: the subshell's
``rolecall sessions`` lists the board's session, no MFA code is asked again, no notice
is repeated, no traceback reaches the screen, and nothing is left behind."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from profiles.sessions import kernel_keyring
from tests.conftest import ISOLATED
from tests.test_demo import wait_for
from tests.tui_world import Tmux

pytestmark = pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")


@pytest.mark.parametrize("store", ["private", "kernel"])
def test_the_tour_with_no_dbus_session(tmp_path, store):
    if store == "private" and not shutil.which("gnome-keyring-daemon"):
        pytest.skip("needs gnome-keyring")
    if store == "kernel" and kernel_keyring.probe() is not None:
        pytest.skip(f"no kernel keyring here: {kernel_keyring.probe()}")
    home = tmp_path / "home"
    home.mkdir()
    tmpdir, out = tmp_path / "tmp", tmp_path / "out"
    tmpdir.mkdir()
    out.mkdir()
    status = tmp_path / "status"
    env = {k: v for k, v in os.environ.items()
           if k not in ISOLATED and not k.startswith(("DBUS_", "XDG_"))}
    # no D-Bus session; "kernel": no gnome-keyring either (the PATH has only tmux)
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "tmux").symlink_to(shutil.which("tmux"))
    env.update(HOME=str(home), TMPDIR=str(tmpdir), SHELL="/bin/sh",
               PATH="/usr/bin:/bin" if store == "private" else str(bare))
    term = Tmux(f"anywhere-{store}", f"{sys.executable} -m tui demo; echo $? > {status}; "
                "sleep 30", (100, 30), env, home)
    try:
        term.wait("rolecall demo · 13 roles", timeout=60)
        term.keys("/")
        term.wait("filter: name")
        term.keys("-l", "prod-admin")
        term.keys("Enter")
        term.wait("Assume prod-admin")
        term.keys("-l", "123456")
        term.keys("Enter")
        term.wait("1 live", timeout=30)
        assert "Traceback" not in term.screen()
        assert "keyring" not in term.screen()  # no notice on the board: the demo said where
        term.keys("s")
        term.wait("every rolecall command works here")
        asked = out / "asked"
        hook = f"echo asked >> {asked}; echo 123456"
        for index, command in enumerate((
                "rolecall sessions --json",
                f"ROLECALL_MFA_PROMPT='{hook}' rolecall assume dev-admin --json",
                "rolecall sessions")):
            term.keys("-l", f"{command} > {out}/{index}.out 2> {out}/{index}.err; "
                      f"echo $? > {out}/{index}.rc")
            term.keys("Enter")
            wait_for(lambda i=index: (out / f"{i}.rc").exists(), term.screen)
        results = [((out / f"{i}.rc").read_text().strip(), (out / f"{i}.out").read_text(),
                    (out / f"{i}.err").read_text()) for i in range(3)]
        assert [rc for rc, _, _ in results] == ["0", "0", "0"], results
        assert {s["role"] for s in json.loads(results[0][1])} >= {"prod-admin"}
        assert not asked.exists()  # the board's MFA session served dev-admin
        assert json.loads(results[1][1])["assumed_role_arn"]
        assert "dev-admin" in results[2][1] and "prod-admin" in results[2][1]
        assert all(err == "" for _, _, err in results), results  # no notice, no traceback
        term.keys("-l", "exit")
        term.keys("Enter")
        term.wait("exited with")
        assert "Traceback" not in term.screen()
        term.keys("q")
        wait_for(status.exists, term.screen)
    finally:
        term.close()
    assert status.read_text().strip() == "0"
    assert list(tmpdir.iterdir()) == []
    assert not _daemons_left(tmpdir)


def _daemons_left(root: Path) -> list[str]:
    """D-Bus or keyring daemons still running from this test's demo (their environment
    names its TMPDIR)."""
    left = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            if ("dbus-daemon" in cmdline or "gnome-keyring" in cmdline) and \
                    str(root).encode() in (entry / "environ").read_bytes():
                left.append(cmdline)
        except OSError:
            continue
    return left
