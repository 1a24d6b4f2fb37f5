"""Benchmark scripts: each prints figures and asserts nothing."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def compile_checkout() -> None:
    """Write the checkout's bytecode, as pip does when it installs rolecall: with
    PYTHONDONTWRITEBYTECODE set (as on this machine) an editable checkout would
    otherwise be recompiled from source in every measured process (~20 ms for the TUI)."""
    import compileall

    for package in ("profiles", "tui"):
        compileall.compile_dir(ROOT / package, quiet=1)
