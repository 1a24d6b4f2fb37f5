"""What each board line shows and how it is drawn: a mixin of ``Board``.

Cells are cached ``Text`` (one style each) of names through the terminal door (a name
a shared config sneaks an escape into is spelled out); a role's line goes straight to
segments, runs of the line's own style joined, the selected line in the cursor's one
style (so its contrast is the cursor's own). The once-a-second tick replaces only the countdown
and state cells on screen whose text changed and repaints only their lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip

from profiles.doors import terminal
from profiles.durations import format_countdown
from tui.board import columns as cols
from tui.board.columns import GAP, LEAD, Column, account_label, chain_text

if TYPE_CHECKING:
    from profiles.workspace import RoleRow

MARK = "● "  # in the lead of a marked role's line (LEAD cells)
WARNING_TAGS = frozenset({"prod", "production", "live", "critical", "pci"})


def row_error(row: RoleRow) -> str | None:
    """Why a role cannot be used (a broken profile), if the core says so."""
    return getattr(row, "error", None)


def short_error(error: str) -> str:
    """A broken row's error without the file it names first (the pane shows it whole)."""
    where, _, what = error.partition(": ")
    return what if what and "/" in where else error


class BoardCells:
    """Cells, columns and lines of the ``Board`` (which holds the rows and the cursor)."""

    # -- cells ----------------------------------------------------------------------------

    def countdown_cell(self, row: RoleRow) -> Text:
        if row.session is None:
            return Text("")
        left = row.session.seconds_left(self.now)
        style = "board--expired" if left <= 0 else "board--warning" if left <= self.window \
            else "board--active"
        return Text(format_countdown(left), style=self._style(style),
                    justify="right")

    def state_cell(self, row: RoleRow) -> Text:
        busy = self.busy.get(row.name)
        if busy:
            return Text(busy, style=self._style("board--busy"))
        if row_error(row):
            return Text("broken", style=self._style("board--broken"))
        state = row.state(self.now, self.window)
        if state == "none":
            return Text("·", style=self._style("board--dim"))
        style = {"active": "board--active", "expiring": "board--warning",
                 "expired": "board--expired", "broken": "board--broken"}[state]
        return Text(state, style=self._style(style))

    def update_cell(self, name: str, column: str, value: Text) -> None:
        """Replace one cell's text and repaint only its line."""
        self.updates += 1
        self._cells[(name, column)] = value
        self._invalidate(name)

    def _invalidate(self, name: str) -> None:
        line = self._line_of.get(name)
        if line is None:
            return
        for key in [k for k in self._strips if k[0] == line]:
            del self._strips[key]
        y = line + 1 - int(self.scroll_offset.y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def tick(self, now: float) -> int:
        """Advance the clock: update the countdown (and state) cells on screen whose text
        changed. Returns how many cells changed."""
        self.now = now
        top = int(self.scroll_offset.y)
        changed = 0
        for line in range(top, min(top + self.size.height, len(self._lines))):
            kind, name = self._lines[line]
            if kind != "role":
                continue
            row = self.rows[name]
            if row.session is None:
                continue
            for column, make in (("left", self.countdown_cell), ("state", self.state_cell)):
                cell = make(row)
                shown = self._cells.get((name, column))
                if shown is None or shown.plain != cell.plain or shown.style != cell.style:
                    self.update_cell(name, column, cell)
                    changed += 1
        return changed

    # -- layout and rendering -------------------------------------------------------------

    def columns(self, width: int) -> tuple[Column, ...]:
        if self._layout and self._layout[0] == width:
            return self._layout[1]
        if self._widths is None:  # from every row, so filtering never moves a column
            self._widths = cols.measure(self.rows.values())
        self._layout = (width, cols.layout(width, self._widths, self.sort == "account"))
        return self._layout[1]

    def _cell(self, row: RoleRow, key: str) -> Text:
        if (row.name, key) in self._cells:
            return self._cells[(row.name, key)]
        if key == "role":
            cell = Text(terminal.shown(row.name))
        elif key == "account":
            cell = Text(terminal.shown(account_label(row)),
                        style=self._tag_style(row.account.tags))
        elif key == "chain":
            error = row_error(row)
            cell = Text(terminal.shown(short_error(error)), style=self._style("board--broken")) \
                if error else Text(terminal.shown(chain_text(row.chain)),
                                   style=self._style("board--dim"))
        elif key == "state":
            cell = self.state_cell(row)
        elif key == "left":
            cell = self.countdown_cell(row)
        else:
            cell = Text(terminal.shown(", ".join(row.profiles)))
        self._cells[(row.name, key)] = cell
        return cell

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _tag_style(self, tags: tuple[str, ...]) -> Style:
        if any(t.lower() in WARNING_TAGS for t in tags):
            return self._style("board--prod")
        return Style()

    def _group_line(self, account_id: str) -> Text:
        account = self._accounts[account_id]
        text = Text(" ")
        if account.alias:
            text.append(terminal.shown(account.alias), self._style("board--group"))
            text.append(f"  {terminal.shown(account.id)}", self._style("board--dim"))
        else:
            text.append(terminal.shown(account.id), self._style("board--group"))
        for tag in account.tags:
            style = "board--prod" if tag.lower() in WARNING_TAGS else "board--tag"
            text.append("  ")
            text.append(f" {terminal.shown(tag)} ", self._style(style))
        return text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            columns = self.columns(width)
            # The same fit and crop as the cells below, so every title sits on its column.
            header = " " * LEAD + "".join(c.fit(c.title) + " " * GAP for c in columns)
            style = base + self._style("board--header")
            return Strip([Segment(header, style)]).crop_extend(0, width, style)
        line = y - 1 + int(self.scroll_offset.y)
        if not self.rows and self.empty:  # a first run: what to do instead of a blank table
            text = self.empty[line] if line < len(self.empty) else ""
            return Strip([Segment(" " * LEAD + text, base)]).crop_extend(0, width, base)
        if line >= len(self._lines):
            return Strip.blank(width, base)
        selected = bool(self._role_lines) and line == self._role_lines[self.cursor]
        key = (line, width, selected, self.has_focus)
        if key in self._strips:
            return self._strips[key]
        kind, name = self._lines[line]
        if kind == "group":
            strip = self._strip(self._group_line(name), width, base)
        else:
            overlay = self._style("board--cursor") if selected else None
            strip = self._row_strip(self.rows[name], self.columns(width), width, base, overlay)
        if len(self._strips) > 4000:
            self._strips.clear()
        self._strips[key] = strip
        return strip

    def shown(self, row: RoleRow, column: Column, cell: Text | None = None) -> str:
        """What ``column`` shows of ``row``: its cell fitted to the column's width."""
        plain = (cell or self._cell(row, column.key)).plain
        if column.key == "account" and cell_len(plain) > column.width:
            plain = terminal.shown(row.account.alias) or plain  # the alias, not a cut id
        return column.fit(plain)

    def _row_strip(self, row: RoleRow, columns: tuple[Column, ...], width: int, base: Style,
                   overlay: Style | None) -> Strip:
        """A role's line straight to segments (each cell has one style; the selected
        line is one style, the cursor's, so its contrast is the cursor's own)."""
        line = base + overlay if overlay else base
        segments: list[Segment] = []
        text = " " * LEAD  # runs of the line's own style joined: fewer segments to crop
        if row.name in self.marked:
            if overlay:
                text = MARK
            else:
                segments.append(Segment(MARK, base + self._style("board--marked")))
                text = ""
        for column in columns:
            cell = self._cell(row, column.key)
            plain = self.shown(row, column, cell)
            own = None if overlay else cell.style if isinstance(cell.style, Style) else (
                Style.parse(cell.style) if cell.style else None)
            if own is None:
                text += plain + " " * GAP
                continue
            segments.append(Segment(text, line))
            segments.append(Segment(plain, base + own))
            text = " " * GAP
        segments.append(Segment(text, line))
        return Strip(segments).crop_extend(0, width, line)

    def _strip(self, text: Text, width: int, base: Style, overlay: Style | None = None) -> Strip:
        """One line: the widget's style, the text's own styles, then the cursor on top."""
        text.truncate(width, overflow="ellipsis", pad=True)
        line = base + overlay if overlay else base
        segments = [Segment(s.text, (base + s.style + overlay if overlay else base + s.style)
                            if s.style else line)
                    for s in text.render(self.app.console)]
        return Strip(segments, width).crop_extend(0, width, line)
