"""Starting the user's web browser as a child like any other.

``webbrowser`` picks the browser (``$BROWSER``, ``xdg-open``, ``open``, the desktop's
default) but starts it with this process's environment, AWS credentials and all, and a
browser started so may outlive rolecall by days. So ``webbrowser`` runs in a child Python
whose environment is the door's (:mod:`profiles.doors.children`); the browser it starts
inherits that. What is opened is in the browser's argv, readable by every local user:
never pass a URL that grants access (the console goes through :mod:`handoff`).
"""

from __future__ import annotations

import subprocess
import sys
import threading

from profiles.doors import children

SETTLE = 10.0  # seconds to learn whether the browser command failed (most return at once)
# -I: no user site, no PYTHON* variables, not the working directory on sys.path
_OPEN = "import sys, webbrowser; sys.exit(0 if webbrowser.open(sys.argv[1], new=2) else 1)"


def open_url(url: str, settle: float = SETTLE) -> bool:
    """Open ``url`` (never a secret) in the browser; False when no browser could start."""
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-c", _OPEN, url],
                                env=children.environ(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False
    try:
        return proc.wait(settle) == 0
    except subprocess.TimeoutExpired:  # a browser that stays in the foreground: it runs
        threading.Thread(target=proc.wait, daemon=True, name="browser").start()
        return True
