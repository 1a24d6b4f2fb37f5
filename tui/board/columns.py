"""What the board's columns hold and how wide each is at a given width.

Columns give way in order of value: the role, its session state and the countdown never
disappear; CHAIN shortens from the middle; PROFILES goes first, then ACCOUNT (in the
name and time sorts) shrinks to the alias. Pure functions: the Board widget draws them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size

if TYPE_CHECKING:
    from profiles.workspace import RoleRow

GAP = 2  # cells between columns
LEAD = 2  # cells before the first column (the cursor's margin)
STATE_W = 10  # "expiring", "refreshing…" is cut
LEFT_W = 8  # "11:59:59", "expired"
ROLE_MIN = 10
ROLE_FAIR = 24  # a long role name gives way to the chain down to this
CHAIN_MIN = 12
CHAIN_FAIR = 20
CHAIN_CLAIM = 30  # the chain length PROFILES waits for
ELLIPSIS = "…"
SEP = " › "


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    right: bool = False  # right-aligned (the countdown), title included
    middle: bool = False  # shortened from the middle (the chain), else from the end

    def fit(self, plain: str) -> str:
        """``plain`` in exactly ``width`` cells: padded, or shortened with an ellipsis."""
        used = cell_len(plain)
        if used > self.width:
            if not self.middle:
                return set_cell_size(plain, self.width - 1) + ELLIPSIS
            plain = shorten_middle(plain, self.width)
            used = cell_len(plain)
        pad = " " * (self.width - used)
        return pad + plain if self.right else plain + pad


@dataclass(frozen=True)
class Widths:
    """The widest text of each variable column, over every row (filtering never moves a
    column): what each would like."""

    role: int
    account: int
    alias: int  # the account column without the id
    chain: int  # at most CHAIN_CLAIM: the layout asks no more of it
    profiles: int  # 0: no role is written anywhere


def widest(texts: Iterable[str], least: int, most: int) -> int:
    """The widest text in cells, within ``least`` and ``most`` (stops at ``most``;
    printable ASCII is one cell a character, so only other text asks rich)."""
    best = least
    for text in texts:
        used = len(text) if text.isascii() and text.isprintable() else cell_len(text)
        if used > best:
            best = used
            if best >= most:
                return most
    return best


def shorten_middle(text: str, width: int) -> str:
    """``text`` in ``width`` cells with its middle replaced by an ellipsis; a chain keeps
    its first and last hop whole when they fit (``base › … › target``)."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    hops = text.split(SEP)
    if len(hops) > 2:
        kept = f"{hops[0]}{SEP}{ELLIPSIS}{SEP}{hops[-1]}"
        if cell_len(kept) <= width:
            return kept
    tail = (width - 1) // 2
    head = width - 1 - tail
    end = _last_cells(text, tail)
    return set_cell_size(text, head).rstrip() + ELLIPSIS + end


def _last_cells(text: str, cells: int) -> str:
    """The longest end of ``text`` that takes at most ``cells`` cells."""
    out, used = "", 0
    for char in reversed(text):
        used += cell_len(char)
        if used > cells:
            break
        out = char + out
    return out


def account_label(row: RoleRow) -> str:
    account = row.account
    return f"{account.alias} ({account.id})" if account.alias else account.id


def chain_text(chain: tuple[str, ...]) -> str:
    """``base › mfa:operator › audit``: MFA serials shortened to the device name."""
    return SEP.join(
        "mfa:" + label.rsplit("/", 1)[-1] if label.startswith("mfa:") else label
        for label in chain
    )


def measure(rows: Iterable[RoleRow]) -> Widths:
    """What each column would like, over every row. A first-frame cost at 5,000 roles:
    accounts are measured once each, and the chain only up to what the layout asks of
    it (its length in cells, MFA labels at full length: an upper bound)."""
    rows = list(rows)
    accounts = list({r.account.id: r.account for r in rows}.values())
    longest = 0
    for row in rows:
        chain = row.chain
        used = sum(map(len, chain)) + len(SEP) * (len(chain) - 1)
        if used > longest:
            longest = used
            if longest >= CHAIN_CLAIM:
                break
    return Widths(
        role=widest((r.name for r in rows), 4, 40),
        account=widest((f"{a.alias} ({a.id})" if a.alias else a.id for a in accounts), 7, 30),
        alias=widest((a.alias or a.id for a in accounts), 7, 30),
        chain=min(longest, CHAIN_CLAIM),
        profiles=widest((", ".join(r.profiles) for r in rows if r.profiles), 0, 24))


def layout(width: int, wanted: Widths, grouped: bool) -> tuple[Column, ...]:
    """The columns that fit ``width`` cells, in display order.

    The role, state and countdown always; then the account (name and time sorts) at
    its alias; then the chain, which takes what is left; PROFILES only while the chain
    keeps its length (up to ``CHAIN_CLAIM``); the account grows to show its id last.
    """
    room = width - LEAD
    role = wanted.role
    essential = STATE_W + GAP + LEFT_W
    account = 0 if grouped else wanted.alias
    chain = room - role - GAP - essential - GAP - (account + GAP if account else 0)
    for fair, least in ((CHAIN_FAIR, ROLE_FAIR), (CHAIN_MIN, ROLE_MIN)):
        if chain < fair and role > least:  # a long name shares with the chain, down to
            cut = min(fair - chain, role - least)  # a readable width, then to none
            role, chain = role - cut, chain + cut
    profiles = max(8, wanted.profiles)
    if chain - profiles - GAP >= min(wanted.chain, CHAIN_CLAIM):
        chain -= profiles + GAP
    else:
        profiles = 0
    if account and wanted.account > account and chain - GAP > wanted.chain:
        grow = min(wanted.account - account, chain - wanted.chain)
        account, chain = account + grow, chain - grow
    cols = [Column("role", "ROLE", role, middle=True)]
    if account:
        cols.append(Column("account", "ACCOUNT", account))
    if chain >= CHAIN_MIN:
        cols.append(Column("chain", "CHAIN", chain, middle=True))
    cols += [Column("state", "SESSION", STATE_W), Column("left", "LEFT", LEFT_W, right=True)]
    if profiles:
        cols.append(Column("profiles", "PROFILES", profiles))
    return tuple(cols)


def haystack(row: RoleRow) -> str:
    """What `/` matches: name, account id, alias, tags, role ARN and registry."""
    account = row.account
    return "\n".join((row.name, account.id, account.alias or "", *account.tags,
                      row.role_arn, row.registry or "")).lower()


def matches(hay: str, query: str) -> bool:
    """Every whitespace-separated word of the query appears somewhere."""
    return all(word in hay for word in query.lower().split())
