"""The README and docs/ speak to users: no working words, no design-section numbers, no
issue numbers, in them or in the code; every citation of docs/architecture.md names one
of its headings; the README fits on a page, its links lead somewhere, and its test
command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# Built from pieces, so this file does not match itself.
SECTION = re.compile("DESIGN" + r"\s*§")
ISSUE = re.compile(r"\bissues?[ -]#?\d+|\bissue #\d+", re.IGNORECASE)
WORKING = re.compile(r"\bwave[- ]?\d|\bwaves?\b|\bthe seed\b|\bseed's\b|\bthe house\b",
                     re.IGNORECASE)
CITATION = re.compile(r"docs/architecture\.md,\s+")
# Pages other changes bring; the README links them already (drop each as it lands).
ARRIVING: set[str] = set()


def code_files() -> list[Path]:
    files = [*ROOT.joinpath("profiles").rglob("*"), *ROOT.joinpath("tui").rglob("*"),
             *ROOT.joinpath("tests").rglob("*"), *ROOT.joinpath(".ci").rglob("*"),
             ROOT / "pyproject.toml", ROOT / "mkdocs.yml"]
    return [f for f in files if f.is_file() and "__snapshots__" not in f.parts
            and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".png", ".svg")]


def user_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(ROOT.joinpath("docs").rglob("*.md"))]


def hits(pattern: re.Pattern[str], files: list[Path]) -> list[str]:
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_design_section_numbers_or_issue_numbers_in_code_readme_or_docs():
    files = code_files() + user_pages()
    assert hits(SECTION, files) == []
    assert hits(ISSUE, files) == []


def test_no_working_words_in_readme_or_docs():
    assert hits(WORKING, user_pages()) == []


def headings() -> set[str]:
    return {line.lstrip("#").strip() for line in ARCHITECTURE.read_text().splitlines()
            if line.startswith("## ")}


def test_every_citation_names_a_heading_of_the_architecture_page():
    known = sorted(headings(), key=len, reverse=True)
    cited = 0
    for path in code_files():
        if path.suffix != ".py":
            continue
        # a citation may wrap onto the next line (of a docstring or of ``#`` comments)
        text = re.sub(r"\s*\n\s*(?:#\s*)?", " ", path.read_text())
        for match in CITATION.finditer(text):
            rest = text[match.end():]
            while True:
                heading = next((h for h in known if rest.startswith(h)), None)
                assert heading is not None, f"{path.relative_to(ROOT)}: {rest[:60]!r}"
                cited += 1
                rest = rest[len(heading):]
                if not rest.startswith("; "):
                    break
                rest = rest[2:]
    assert cited >= 40  # the code does cite it


def test_the_architecture_headings_code_cites_are_there():
    assert {"Domain rules", "Where roles come from", "Command-line contract", "The board",
            "Layers and layout", "Testing with real parts", "Trust boundary",
            "Run across accounts", "Doctor and lint", "Credential endpoint",
            "Audit and journal", "IAM Identity Center",
            "Console, discovery and long-lived keys", "Doors"} <= headings()


def test_the_readme_fits_on_a_page_and_its_links_lead_somewhere():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if target.startswith(("http://", "https://")) or target in ARRIVING:
            continue
        assert (ROOT / target).exists(), target


def test_the_readme_test_command_is_what_ci_runs():
    command = ("python3 -m venv .venv && .venv/bin/pip install -q -e '.[test,demo]' && "
               ".venv/bin/python -m pytest -n auto")
    assert command in (ROOT / "README.md").read_text()
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_patterns_catch_what_they_are_for():
    issue = "iss" + "ue"
    assert SECTION.search("see " + "DESIGN" + " §7") and ISSUE.search(f"({issue} 9, class 2)")
    assert ISSUE.search(f"the {issue}-2 suite") and WORKING.search("wave-2 screens")
    assert WORKING.search("the seed's loop") and not ISSUE.search("aws-vault#888")
    assert not WORKING.search("moto's random seed")
