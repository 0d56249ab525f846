"""The README is the front door: short, with the two commands CI runs, and a link to every guide."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_BYTES = 15_500  # "about 15 KB": what a newcomer reads before the guides


def test_the_readme_is_short_and_links_to_every_guide():
    text = README.read_text()
    assert len(text.encode()) <= MAX_README_BYTES, f"README.md is {len(text.encode())} bytes"
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", text))
    guides = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert guides <= linked, f"guides the README does not link: {sorted(guides - linked)}"
    assert "(ARCHITECTURE.md)" in text


def test_every_relative_link_in_the_docs_points_at_a_file():
    for page in [README, ROOT / "ARCHITECTURE.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_ci_finds_its_test_command_after_the_marker():
    lines = README.read_text().splitlines()
    after = lines[next(i for i, line in enumerate(lines) if "ci:test-command" in line) + 1:]
    command = next(line for line in after if line.strip() and not line.startswith("```"))
    assert "pip install" in command and "pytest" in command
