"""Every command the README and docs/ show runs, against the demo's world.

The world is the one ``rolecall demo`` opens (moto on loopback seeded as an organisation,
its AWS files, catalog and state in a temporary directory, a keyring service of its own),
with a real Secret Service; commands run from the repository's root, with this checkout's
``rolecall`` and ``aws`` first on the PATH, as in the demo's subshell. The convention for
what is a command, its expected status and blocks that are not run: ``tests/docs_blocks``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ISOLATED
from tests.docs_blocks import ROOT, SHELLS, Block, all_blocks, blocks, script

BLOCKS = all_blocks()


@pytest.fixture(scope="module")
def demo_env(secret_service, tmp_path_factory):
    """The demo's world, and the environment its subshell gives a command."""
    from tui.demo.world import demo_world

    home = tmp_path_factory.mktemp("docs-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        for key in ISOLATED:
            mp.delenv(key, raising=False)
        with demo_world() as world:
            env = dict(os.environ)
            env.update(SHELL="/bin/sh", PATH=os.pathsep.join(
                [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
            yield world, env


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_example_runs(block: Block, demo_env, tmp_path):
    if block.not_run is not None:
        pytest.skip(f"not run: {block.not_run}")
    shell = SHELLS[block.language]
    if shutil.which(shell[0]) is None:
        message = f"{block.id} needs {shell[0]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    _, env = demo_env
    path = tmp_path / f"example.{block.language}"
    path.write_text(script(block))
    # its own session, so a timeout stops every process the block started
    proc = subprocess.Popen([*shell, str(path)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{block.id} did not finish in 300 s\n{out}\n{err}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # nothing a block started outlives it
    shown = f"stdout:\n{out}\nstderr:\n{err}"
    assert proc.returncode == 0, shown
    assert "Traceback" not in out + err, shown
    assert "internal error" not in err, shown


def test_every_shown_command_is_run_or_says_why():
    """A block of commands with nothing in it, a marker with no reason, or a marker that
    is not followed by a block would let an example go untested unnoticed."""
    assert BLOCKS, "no examples found"
    for block in BLOCKS:
        assert block.commands or block.not_run is not None, f"{block.id}: an empty block"
        assert block.not_run is None or len(block.not_run) > 10, f"{block.id}: say why"
    for page in (ROOT / "docs").rglob("*.md"):
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("<!-- not run"):
                assert i + 1 < len(lines) and lines[i + 1].startswith("```"), \
                    f"{page}:{i + 1}: a not-run marker must sit right above its block"


def test_the_convention_reads_what_a_reader_sees(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n\n```sh\n# a comment\nrolecall list\nrolecall doctor x   # exit 1\n"
                    "rolecall run a \\\n  -- true\n```\n\n<!-- not run: it needs a browser -->\n"
                    "```sh\nrolecall console x\n```\n\n```text\nrolecall list\n```\n")
    first, second = blocks(page, tmp_path)
    assert (first.id, first.language, first.not_run) == ("page.md:3", "sh", None)
    assert first.commands == (("rolecall list", 0), ("rolecall doctor x   # exit 1", 1),
                              ("rolecall run a    -- true", 0))
    assert (second.not_run, second.commands) == ("it needs a browser",
                                                 (("rolecall console x", 0),))
    checked = subprocess.run(["sh"], input=script(first).replace("rolecall", "false"),
                             capture_output=True, text=True)
    assert checked.returncode == 97 and "page.md:3 command 1: exit 1, not 0" in checked.stderr
