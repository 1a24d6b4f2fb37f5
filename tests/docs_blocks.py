"""The commands the README and docs/ show, as the docs-examples test runs them.

The convention (also in docs/development.md, "Examples in the docs"):

- A fenced block in a shell's language (```sh, ```bash, ```zsh, ```fish) is commands: every
  line that is not blank and not a ``#`` comment is one command (a line ending in ``\\``
  goes on to the next). A block runs in one shell of its language, line by line, so
  ``eval "$(rolecall env ROLE)"`` carries over to the next line.
- Each command must exit 0, or the status its trailing comment names: ``... # exit 1``.
- A block that cannot run here (real AWS, a browser, a terminal app, a tool this machine
  lacks) has ``<!-- not run: REASON -->`` on the line before it; so may a block in any
  other language. The test reports each one, with its reason, as skipped.
- Every other fence (```text, ```json, ```toml, ```ini, ...) is output or configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHELLS = {"sh": ["sh"], "bash": ["bash"], "zsh": ["zsh", "-f"], "fish": ["fish", "--no-config"]}
FENCE = re.compile(r"^```(\S*)\s*$")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(.*?)\s*-->\s*$")
STATUS = re.compile(r"#\s*exit (\d+)\b")


@dataclass(frozen=True)
class Block:
    path: str  # relative to the repository
    line: int  # of the opening fence
    language: str
    commands: tuple[tuple[str, int], ...]  # (command, expected status)
    not_run: str | None  # the reason, when marked

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def commands(lines: list[str]) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    pending = ""
    for raw in lines:
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        command = pending + line
        pending = ""
        found = STATUS.search(command)
        out.append((command.strip(), int(found.group(1)) if found else 0))
    return tuple(out)


def blocks(path: Path, root: Path = ROOT) -> list[Block]:
    """Every fenced block of ``path`` that is commands or is marked not run."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened or not opened.group(1):
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        marked = NOT_RUN.match(lines[i - 1]) if i else None
        language = opened.group(1)
        if language in SHELLS or marked:
            found.append(Block(str(path.relative_to(root)), i + 1, language,
                               commands(lines[i + 1:end]),
                               marked.group(1) if marked else None))
        i = end + 1
    return found


def all_blocks() -> list[Block]:
    return [b for page in pages() for b in blocks(page)]


def script(block: Block) -> str:
    """The block as one script that stops at the first command whose status is wrong."""
    out: list[str] = []
    for number, (command, status) in enumerate(block.commands, 1):
        out.append(command)
        where = f"{block.id} command {number}"
        if block.language == "fish":
            out.append(f"set __s $status; if test $__s -ne {status}; echo '{where}: exit '"
                       f"$__s', not {status}' >&2; exit 97; end")
        else:
            out.append(f"__s=$?; if [ $__s -ne {status} ]; then echo '{where}: exit '"
                       f"$__s', not {status}' >&2; exit 97; fi")
    return "\n".join(out) + "\n"
