"""One fresh process to its first painted frame, headless (the process-level measure of
``tui_first_frame``). Prints ``frame <time.monotonic()>`` once the frame is painted —
for the board, the first frame with rows — then exits. Nothing else is printed.

    python -m tests.benchmarks.first_frame_runner empty|board
"""

from __future__ import annotations

import sys
import time

SIZE = (160, 45)


def painted(app) -> None:
    sys.stdout.write(f"frame {time.monotonic():.6f}\n")
    sys.stdout.flush()
    app.exit()


def empty() -> None:
    from textual.app import App
    from textual.widgets import Footer, Static

    class Empty(App):
        def compose(self):
            yield Static("empty")
            yield Footer()

        def on_mount(self) -> None:
            self.call_after_refresh(painted, self)

    Empty().run(headless=True, size=SIZE)


def board() -> None:
    from tui.board.app import RolecallApp
    from tui.board.screen import BoardScreen

    class TimedBoard(BoardScreen):
        def apply_snapshot(self, snap, select=None) -> None:
            super().apply_snapshot(snap, select)
            if self.board is not None and self.board.rows:
                self.app.call_after_refresh(painted, self.app)

    class Timed(RolecallApp):
        board_class = TimedBoard

    Timed(auto_renew=False, ticking=False).run(headless=True, size=SIZE)


if __name__ == "__main__":
    {"empty": empty, "board": board}[sys.argv[1]]()
