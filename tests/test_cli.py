"""The `radsearch` command: every verb documented, errors as one line, JSON that parses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from radsearch.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_every_command_has_help_and_a_readme_mention(runner):
    readme = README.read_text()
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and command.get_short_help_str(), name
        assert f"radsearch {name}" in readme, f"README does not mention `radsearch {name}`"


def test_missing_library_is_one_line_without_traceback(runner, tmp_path):
    result = runner.invoke(main, ["search", "--library", str(tmp_path), "--text", "effusion"])
    assert result.exit_code == 1
    assert "not a radsearch library" in result.output and "Traceback" not in result.output


def test_search_needs_exactly_one_query(runner, tiny_library):
    result = runner.invoke(main, ["search", "--library", str(tiny_library)])
    assert result.exit_code != 0 and "exactly one of --image or --text" in result.output


def test_text_search_as_json(runner, tiny_library):
    result = runner.invoke(main, ["search", "--library", str(tiny_library), "--text", "pleural effusion", "-k", "3",
                                  "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 3 and {"id", "score", "path", "metadata", "labels", "report"} <= set(hits[0])


def test_image_search_with_a_filter(runner, tiny_library, tiny_archive):
    from radsearch.datasets import read_manifest
    record = read_manifest(tiny_archive / "manifest.csv")[0]
    result = runner.invoke(main, ["search", "--library", str(tiny_library), "--image", record.path, "-k", "2",
                                  "--where", f"body_part={record.body_part}", "--json"])
    assert result.exit_code == 0, result.output
    assert all(h["metadata"]["body_part"] == record.body_part for h in json.loads(result.output))


def test_bad_filter_column_is_reported(runner, tiny_library):
    result = runner.invoke(main, ["search", "--library", str(tiny_library), "--text", "x", "--where", "colour=red"])
    assert result.exit_code == 1 and "cannot filter by 'colour'" in result.output


def test_report_search_prints_report_text(runner, tiny_library):
    result = runner.invoke(main, ["search", "--library", str(tiny_library), "--text", "nodule", "--reports", "-k", "2"])
    assert result.exit_code == 0 and "IMPRESSION" in result.output


def test_sentence_search_brackets_the_sentence_that_matched(runner, tiny_library):
    result = runner.invoke(main, ["search", "--library", str(tiny_library), "--text", "No pneumothorax.",
                                  "--sentences", "-k", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3 and all("[" in line and "]" in line for line in lines)


def test_synth_then_index_then_eval_json(runner, tiny_model, tmp_path):
    assert runner.invoke(main, ["synth", str(tmp_path / "arch"), "--studies", "4", "--seed", "9"]).exit_code == 0
    result = runner.invoke(main, ["index", str(tmp_path / "arch"), "--library", str(tmp_path / "lib"),
                                  "--model", str(tiny_model)])
    assert result.exit_code == 0 and "added" in result.output, result.output
    result = runner.invoke(main, ["eval", "--library", str(tmp_path / "lib"), "--queries",
                                  str(tmp_path / "arch" / "manifest.csv"), "--split", "", "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["k"] == 3 and report["queries"] > 0 and 0 <= report["model"]["image_precision_at_k"] <= 1


def test_demo_without_ui_prints_the_kinds_of_search_and_a_draft(runner, demo_dir):
    result = runner.invoke(main, ["demo", "--dir", str(demo_dir), "--no-ui"])
    assert result.exit_code == 0, result.output
    for heading in ("image -> image", "text -> image", "image -> report", "draft report for"):
        assert heading in result.output
    assert "reusing" in result.output  # the finished demo is not rebuilt


def test_search_by_study_prints_studies(runner, tiny_library):
    result = runner.invoke(main, ["search", "--library", str(tiny_library), "--text", "nodule", "--by", "study",
                                  "-k", "2"])
    assert result.exit_code == 0, result.output
    assert [line.split()[2] for line in result.output.strip().splitlines()] == ["study", "study"]
