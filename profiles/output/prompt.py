"""The prompt segment: the role a rolecall shell holds and its countdown, read from the
environment rolecall gave that shell, spelled for each prompt.

``ROLECALL_ROLE`` names the role, ``AWS_CREDENTIAL_EXPIRATION`` says when its keys end and
``ROLECALL_REFRESH_WINDOW`` (seconds) is the catalog's refresh window as it was when the
shell started, so the prompt warns exactly when the board does. Nothing else is read: no
keyring, no config file, no clock but the local one. Import-free (``json`` only for
``--format json``): a prompt runs this on every line.

The role name is outside text (a shared catalog or AWS config names it): anything in it a
terminal would act on goes through the terminal door, and each shell's spelling quotes it
by that shell's prompt rules, so no name can add a prompt escape (bash's ``\\[``, zsh's
``%``) or a command.
"""

from profiles.countdown import epoch, format_countdown

TYPE_CHECKING = False  # typing's flag without importing typing: a prompt pays for imports
if TYPE_CHECKING:
    from collections.abc import Mapping

ROLE, EXPIRATION, WINDOW = "ROLECALL_ROLE", "AWS_CREDENTIAL_EXPIRATION", "ROLECALL_REFRESH_WINDOW"
ENDPOINT = "AWS_CONTAINER_CREDENTIALS_FULL_URI"  # `exec --server`: renewed, no expiry to show
DEFAULT_WINDOW = 300  # the catalog's default refresh window
SHELLS = ("bash", "zsh", "fish", "powershell")
FORMATS = ("plain", *SHELLS, "starship", "json")
# SGR per state: green while valid, bold yellow inside the refresh window, red once the
# keys have ended (every command in that shell now fails: worth more than the board's dim).
STYLES = {"active": "32", "expiring": "1;33", "expired": "31"}
WARNING_MARK = "\u26a0"  # starship styles a module itself: the window shows as a sign


class Segment:
    """What the prompt shows: ``role``, ``state`` (active, expiring, expired; endpoint or
    unknown when there is no expiry to count down to), ``left`` seconds (None then)."""

    __slots__ = ("role", "state", "left", "expires", "window")

    def __init__(self, role: str, state: str, left: float | None, expires: float | None,
                 window: int) -> None:
        self.role, self.state, self.left, self.expires, self.window = (
            role, state, left, expires, window)

    @property
    def text(self) -> str:
        """``prod-admin 42:10``, ``prod-admin 1:02:03``, ``prod-admin expired``; the role
        alone when there is nothing to count down to."""
        name = self.role
        if not name.isprintable():  # the door's own test (terminal.safe): escape through it
            # lazy: the terminal door only for a name with something to escape
            from profiles.doors.terminal import shown

            name = shown(name)
        return name if self.left is None else f"{name} {format_countdown(self.left)}"


def window(value: str | None) -> int:
    """The refresh window from its variable: whole seconds, else the default."""
    if value and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return DEFAULT_WINDOW


def segment(env: "Mapping[str, str]", now: float) -> Segment | None:
    """The segment for a shell with environment ``env`` at ``now``; None outside a
    rolecall shell."""
    role = env.get(ROLE)
    if not role:
        return None
    span = window(env.get(WINDOW))
    expires: float | None
    try:
        expires = epoch(env.get(EXPIRATION) or "")
    except (ValueError, OverflowError):
        expires = None
    if expires is None:
        return Segment(role, "endpoint" if env.get(ENDPOINT) else "unknown", None, None, span)
    left = expires - now
    state = "expired" if left <= 0 else "expiring" if left <= span else "active"
    return Segment(role, state, left, expires, span)


def _styled(seg: Segment, open_mark: str, close_mark: str, text: str) -> str:
    style = STYLES.get(seg.state)
    if style is None:
        return text
    return f"{open_mark}\x1b[{style}m{close_mark}{text}{open_mark}\x1b[0m{close_mark}"


def render(seg: Segment | None, fmt: str, color: bool) -> str:
    """The segment as ``fmt`` prints it. ``plain`` and ``starship``: a line of text;
    the shells: the segment and one space, no newline, to put in front of a prompt
    (empty outside a rolecall shell); ``json``: always one object."""
    if fmt == "json":
        return _json(seg)
    if seg is None:
        return ""
    text = seg.text
    if fmt == "starship":
        return f"{text} {WARNING_MARK}\n" if seg.state == "expiring" else text + "\n"
    if fmt == "plain":
        return (_styled(seg, "", "", text) if color else text) + "\n"
    if fmt == "zsh":  # prompt_subst output is read for %-escapes: every % stays a %
        text = text.replace("%", "%%")
    if not color:
        return text + " "
    if fmt == "bash":  # readline's markers around what takes no columns (what \[ \] make)
        return _styled(seg, "\x01", "\x02", text) + " "
    if fmt == "zsh":
        return _styled(seg, "%{", "%}", text) + " "
    return _styled(seg, "", "", text) + " "


def _json(seg: Segment | None) -> str:
    # lazy: json only for --format json
    import json
    import time

    if seg is None:
        data: dict[str, object] = {"role": None, "state": "none", "expires_at": None,
                                   "seconds_left": None, "refresh_window": None, "text": ""}
    else:
        data = {"role": seg.role, "state": seg.state,
                "expires_at": None if seg.expires is None else time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(seg.expires)),
                "seconds_left": None if seg.left is None else max(0, int(seg.left)),
                "refresh_window": seg.window, "text": seg.text}
    return json.dumps(data) + "\n"


def wants_color(fmt: str, isatty: bool, env: "Mapping[str, str]") -> bool:
    """Colour for the shells' formats, and for ``plain`` on a terminal; never with
    ``NO_COLOR`` set (no-color.org)."""
    if env.get("NO_COLOR"):
        return False
    return fmt in SHELLS or (fmt == "plain" and isatty)
