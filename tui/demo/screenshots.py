"""Regenerate ``screenshots/`` (SVG and PNG) from the demo world with a fixed clock.

    python -m tui.demo.screenshots [OUTDIR]

Real assumptions against the demo's moto server fill the board (several live sessions,
an MFA role, a chain); then the clock is frozen so every countdown is what the file
shows. PNGs are converted from the SVGs with cairosvg (the ``screenshots`` extra) or
``rsvg-convert``; without either, only SVGs are written.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

SIZE = (150, 36)
ROOT = Path(__file__).resolve().parent.parent
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"


def _mono_svg(text: str) -> str:
    """The SVG with a monospace font converters find, spaced to Textual's cell width.

    Textual's SVG names Fira Code and relies on ``textLength`` to keep each run of text
    on its cells; cairosvg ignores ``textLength`` and falls back to a proportional font
    when Fira Code is missing, so long runs (the board's header, "Assume <role>") drift
    off their columns. A font that is installed, plus a letter spacing that makes its
    advance exactly one cell, puts every character where the terminal puts it.
    """
    found = re.search(r"font-family: [^;]*monospace;\s*font-size: ([\d.]+)px", text)
    size = float(found.group(1)) if found else 20.0
    cell = 0.61 * size  # Textual's export: char width = font size * 0.61
    spacing = cell - _advance(size)
    return re.sub(r"font-family: [^;]*monospace;",
                  f"font-family: {MONO}; letter-spacing: {spacing:.3f}px;", text)


def _advance(size: float) -> float:
    """The width cairo gives one character of the monospace font at ``size``."""
    try:
        import cairocffi
    except ImportError:
        return 0.6 * size
    surface = cairocffi.ImageSurface(cairocffi.FORMAT_ARGB32, 1, 1)
    context = cairocffi.Context(surface)
    context.select_font_face(MONO.split(",")[0])
    context.set_font_size(size)
    return context.text_extents("M")[4]


def to_png(svg: Path) -> bool:
    """Convert the SVG (see :func:`_mono_svg`) to a PNG beside it."""
    text = _mono_svg(svg.read_text())
    png = svg.with_suffix(".png")
    try:
        import cairosvg

        cairosvg.svg2png(bytestring=text.encode(), write_to=str(png), output_width=1800)
        return True
    except ImportError:
        pass
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", "-w", "1800", "-o", str(png)], input=text.encode(),
                       check=True)
        return True
    return False


async def shoot(out: Path) -> list[Path]:
    from profiles.sessions.cache import SessionCache
    from profiles.workspace import Workspace
    from tui.board.app import RolecallApp
    from tui.screens.modals import AssumeModal

    frozen = [time.time()]
    ws = Workspace(clock=lambda: frozen[0], cache=SessionCache())
    durations = {"dev-deploy": "1h", "staging-deploy": "20m", "prod-deploy": "45m",
                 "audit": "2h", "prod-readonly": "30m"}
    for name, duration in durations.items():
        ws.assume(name, duration=duration)
    ws.assume("dev-admin", mfa_code="123456")
    ws.chain("audit", ws.inventory.role("tools-readonly").role_arn, label="audit>tools-ro")
    ws.write("dev-deploy", ws.assume("dev-deploy").session)
    frozen[0] += 16 * 60 + 13  # staging-deploy is now inside the refresh window
    shots: list[Path] = []

    async def save(app: RolecallApp, name: str) -> None:
        path = out / f"{name}.svg"
        path.write_text(app.export_screenshot(simplify=True))
        shots.append(path)

    app = RolecallApp(clock=lambda: frozen[0], workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.loaded()
        app.board.select("prod-deploy")
        await pilot.pause()
        await save(app, "board")
        app.board.select("audit>tools-ro")
        await pilot.pause()
        await save(app, "detail-chain")
        app.board.select("dev-admin")
        await pilot.pause()
        await save(app, "detail-mfa")
        await pilot.press("slash", *"prod")
        await pilot.pause()
        await save(app, "filter")
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        await save(app, "help")
        await pilot.press("escape")
        mfa = next(s for s in ws.engine.plan("prod-admin").steps if s.kind == "mfa")
        ws.forget(mfa.label)  # the MFA session ended: assuming asks for a code
        app.reload(select="prod-admin")
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.board.select("prod-admin")
        await pilot.press("enter")
        while not isinstance(app.screen, AssumeModal):
            await pilot.pause(0.05)
        await pilot.press(*"4821")
        await pilot.pause()
        await save(app, "assume-mfa")
    return shots


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else ROOT / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    from tui.demo.world import demo_world

    with demo_world():
        shots = asyncio.run(shoot(out))
    converted = [to_png(svg) for svg in shots]
    for svg, png in zip(shots, converted, strict=True):
        print(f"{svg}" + (f"  {svg.with_suffix('.png').name}" if png else "  (no PNG: "
                          "pip install 'rolecall[screenshots]' or install rsvg-convert)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
