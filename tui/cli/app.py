"""The board and the demo: the commands that open the TUI (imported only when run)."""

from __future__ import annotations

import argparse

from tui.cli.parser import Commands


def cmd_board(ns: argparse.Namespace) -> int:
    # lazy: Textual only when the board opens
    from tui.board.app import run_app

    return run_app()


def cmd_demo(ns: argparse.Namespace) -> int:
    # lazy: the demo's world (moto) only when the demo opens
    from tui.demo.world import run_demo

    return run_demo()


def register(commands: Commands) -> None:
    commands.default(cmd_board)
    commands.add("demo", cmd_demo, "open the TUI against a sandbox AWS on loopback", role=False)
