"""The layering ARCHITECTURE.md describes is enforced: import-linter's contracts in pyproject.toml hold, and
they would catch a module that broke them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint(package_parent: Path, cwd: Path) -> subprocess.CompletedProcess:
    script = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_the_import_contracts_hold():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    names = " | ".join(c["name"] for c in contracts)
    assert "Layers" in names and "SQLAlchemy" in names and "transformers" in names and "Front ends" in names
    result = _lint(ROOT, ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{len(contracts)} kept, 0 broken" in result.stdout


def test_a_query_engine_that_wrote_sql_itself_would_be_caught(tmp_path):
    shutil.copytree(ROOT / "radsearch", tmp_path / "radsearch", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "radsearch" / "search" / "shortcut.py").write_text("from sqlalchemy import select  # noqa: F401\n")
    result = _lint(tmp_path, tmp_path)
    assert result.returncode != 0 and "radsearch.search.shortcut -> sqlalchemy" in result.stdout, result.stdout[-2000:]
