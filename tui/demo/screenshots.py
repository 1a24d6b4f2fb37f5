"""Regenerate ``screenshots/`` (SVG and PNG) from the demo world with a frozen clock.

    python -m tui.demo.screenshots [OUTDIR]

Real assumptions against the demo's moto server fill the board (several live sessions,
an MFA role, a long hand-made chain ``prod-admin>prod-readonly``). Time is frozen for
everything that shows it: the board's and the workspace's clock are injected, moto's
STS issues its expiries from the same instant (its clock is set, in this process), the
session names are given and the time zone is UTC, so two runs write identical files.
The run's elapsed times are measured on the same frozen clock (``run_clock``) and the
journal's entry times come from it too (:func:`freeze_journal`).
The views are drawn at 140x40, the board and the doctor also at 80x24. PNGs are
converted from the SVGs with cairosvg (the ``screenshots`` extra) or ``rsvg-convert``;
without either, only SVGs are written.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from rich.cells import cell_len

from profiles.doors import children
from profiles.doors.terminal import shown
from profiles.ops import journal
from profiles.sessions.cache import SessionCache
from profiles.workspace import Workspace
from tui.board.app import RolecallApp
from tui.demo.world import demo_world, hints
from tui.screens.assume import AssumeModal
from tui.screens.audit import AuditPage
from tui.screens.doctor import DoctorPage
from tui.screens.run import RunModal, RunScreen

SIZE = (140, 40)
SMALL = (80, 24)
FROZEN = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
ROOT = Path(__file__).resolve().parent.parent.parent
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
RUN_ON = ("dev-deploy", "staging-deploy", "prod-deploy")
RUN_COMMAND = "aws sts get-caller-identity --query Arn --output text"
TEXT = re.compile(r"<text([^>]*)>([^<]*)</text>")


def _placed(match: re.Match[str]) -> str:
    """One ``<text>`` run with an x position per character, on Textual's cells."""
    attrs, body = match.group(1), match.group(2)
    x = re.search(r'\bx="([\d.]+)"', attrs)
    length = re.search(r'textLength="([\d.]+)"', attrs)
    text = html.unescape(body)
    cells = cell_len(text)
    if x is None or length is None or not cells:
        return match.group(0)
    cell, start = float(length.group(1)) / cells, float(x.group(1))
    xs, used = [], 0
    for char in text:
        xs.append(f"{start + used * cell:.2f}")
        used += cell_len(char)
    attrs = re.sub(r'\bx="[\d.]+"', f'x="{" ".join(xs)}"', attrs)
    attrs = re.sub(r'\s*textLength="[\d.]+"', "", attrs)
    return f"<text{attrs}>{escape(text)}</text>"


def _mono_svg(text: str) -> str:
    """The SVG with a monospace font converters find and every character on its cell.

    Textual's SVG names Fira Code and relies on ``textLength`` to keep each run of text
    on its cells; converters ignore ``textLength`` and use their own advance (bold and
    regular differ, a missing font falls back to a proportional one), so long runs
    drift off their columns. An installed font, and an x position for each character,
    put every character where the terminal puts it.
    """
    text = re.sub(r"font-family: [^;]*monospace;", f"font-family: {MONO};", text)
    return TEXT.sub(_placed, text)


def to_png(svg: Path) -> bool:
    """Convert the SVG (see :func:`_mono_svg`) to a PNG beside it."""
    text = _mono_svg(svg.read_text())
    png = svg.with_suffix(".png")
    try:
        import cairosvg  # an optional extra (rolecall[screenshots])

        cairosvg.svg2png(bytestring=text.encode(), write_to=str(png), output_width=1800)
        return True
    except ImportError:
        pass
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", "-w", "1800", "-o", str(png)], input=text.encode(),
                       check=True, env=children.environ())
        return True
    return False


def freeze_sts() -> None:
    """moto's STS (in this process) issues expiries from ``FROZEN``, as the clocks."""
    import moto.sts.models  # an optional extra (rolecall[demo])

    frozen = datetime.fromtimestamp(FROZEN, UTC).replace(tzinfo=None)  # moto's are naive
    moto.sts.models.utcnow = lambda: frozen  # type: ignore[attr-defined]


def freeze_journal(clock: list[float]) -> None:
    """The journal (in this process) stamps its entries with ``clock[0]``, not wall time."""
    wall = journal.now_iso
    journal.now_iso = lambda moment=None: wall(clock[0] if moment is None else moment)


def sessions(ws) -> None:
    """Live sessions for the board: real assumptions with fixed names and durations."""
    name = f"alice-{int(FROZEN)}"
    for role, duration in {"dev-deploy": "1h", "staging-deploy": "20m", "prod-deploy": "45m",
                           "audit": "2h", "prod-readonly": "30m"}.items():
        ws.assume(role, duration=duration, session_name=name)
    ws.assume("dev-admin", mfa_code="123456", session_name=name)
    ws.assume("prod-admin", session_name=name)
    ws.chain("prod-admin", ws.inventory.role("prod-readonly").role_arn,
             label="prod-admin>prod-readonly", session_name=name)
    ws.write("dev-deploy", ws.assume("dev-deploy").session)


async def shoot(out: Path, world) -> list[Path]:
    clock = [FROZEN]
    freeze_journal(clock)
    ws = Workspace(clock=lambda: clock[0], cache=SessionCache(memory_only=True))
    sessions(ws)
    # renewals (the doctor's) take the same given name, not the catalog's {user}-{unix}
    ws.engine.inventory.settings = replace(ws.engine.inventory.settings,
                                           session_name=f"alice-{int(FROZEN)}")
    clock[0] += 16 * 60 + 13  # staging-deploy is now inside the refresh window
    quiet = replace(hints(world), welcome="")
    shots: list[Path] = []

    def app() -> RolecallApp:
        return RolecallApp(clock=lambda: clock[0], workspace=ws, auto_renew=False,
                           ticking=False, hints=quiet, run_clock=lambda: clock[0])

    async def save(board: RolecallApp, name: str) -> None:
        await board.workers.wait_for_complete()
        path = out / f"{name}.svg"
        path.write_text(board.export_screenshot(simplify=True))
        shots.append(path)

    small = app()
    async with small.run_test(size=SMALL) as pilot:
        await small.board_screen.loaded()
        small.board_screen.board.select("prod-admin>prod-readonly")
        await pilot.pause()
        await save(small, "board-80x24")

    board = app()
    async with board.run_test(size=SIZE) as pilot:
        screen = board.board_screen
        await screen.loaded()
        for name, select in (("board", "prod-deploy"), ("detail-chain", "prod-admin>prod-readonly"),
                             ("detail-mfa", "dev-admin")):
            screen.board.select(select)
            await pilot.pause()
            await save(board, name)
        await pilot.press("slash", *"prod")
        await pilot.pause()
        await save(board, "filter")
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        await save(board, "help")
        await pilot.press("escape")
        mfa = next(s for s in ws.engine.plan("prod-admin").steps if s.kind == "mfa")
        ws.forget(mfa.label)  # the MFA session ended: assuming asks for a code
        screen.reload(select="prod-admin")
        await board.workers.wait_for_complete()
        await pilot.pause()
        screen.board.select("prod-admin")
        await pilot.press("enter")
        while not isinstance(board.screen, AssumeModal):
            await pilot.pause(0.05)
        await pilot.press(*"4821")
        await pilot.pause()
        await save(board, "assume-mfa")

    # last: the doctor reads through (and so renews) sessions the views above show
    for size, name in ((SIZE, "doctor"), (SMALL, "doctor-80x24")):
        doctor = app()
        async with doctor.run_test(size=size) as pilot:
            await doctor.board_screen.loaded()
            doctor.board_screen.board.select("staging-admin")  # never granted to alice
            await pilot.press("d")
            while not (isinstance(doctor.screen, DoctorPage) and doctor.screen.report):
                await pilot.pause(0.05)
            await save(doctor, name)

    board = app()
    async with board.run_test(size=SIZE) as pilot:
        screen = board.board_screen
        await screen.loaded()
        for name in RUN_ON:
            screen.board.select(name)
            await pilot.press("space")
        await pilot.press("exclamation_mark")
        while not isinstance(board.screen, RunModal):
            await pilot.pause(0.05)
        await pilot.press(*RUN_COMMAND, "enter")
        while not (isinstance(board.screen, RunScreen) and board.screen.reported):
            await pilot.pause(0.05)
        await pilot.pause()
        await save(board, "run")
        await pilot.press("escape")
        screen.board.select("staging-deploy")  # assumed, then renewed by the doctor
        await pilot.press("a")
        while not (isinstance(board.screen, AuditPage) and board.screen.entries is not None):
            await pilot.pause(0.05)
        await pilot.pause()
        await save(board, "audit")
    return shots


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else ROOT / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    os.environ["TZ"] = "UTC"  # expiries in the detail pane, in local time
    time.tzset()
    here = os.path.dirname(sys.executable)  # the run's `aws`: this venv's (the extra's)
    os.environ["PATH"] = os.pathsep.join([here, os.environ.get("PATH", "")])
    freeze_sts()
    with demo_world() as world:
        shots = asyncio.run(shoot(out, world))
    converted = [to_png(svg) for svg in shots]
    for svg, png in zip(shots, converted, strict=True):
        print(shown(svg) + (f"  {shown(svg.with_suffix('.png').name)}" if png else "  (no PNG: "
                          "pip install 'rolecall[screenshots]' or install rsvg-convert)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
