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


def test_every_command_has_help_and_is_documented_in_the_readme_or_a_guide(runner):
    docs = README.read_text() + "".join(p.read_text() for p in (README.parent / "docs").glob("*.md"))
    commands = [([name], command) for name, command in main.commands.items()]
    commands += [([name, sub], subcommand) for name, command in main.commands.items()
                 for sub, subcommand in getattr(command, "commands", {}).items()]
    for words, command in commands:
        result = runner.invoke(main, [*words, "--help"])
        assert result.exit_code == 0 and command.get_short_help_str(), words
        assert f"radsearch {' '.join(words)}" in docs, f"no guide mentions `radsearch {' '.join(words)}`"


def test_the_import_formats_offered_are_the_importers_radsearch_has():
    from radsearch.cli.data import IMPORT_FORMATS
    from radsearch.datasets.importers import IMPORTERS
    assert sorted(IMPORT_FORMATS) == sorted(IMPORTERS)


def test_missing_library_is_one_line_without_traceback(runner, tmp_path):
    result = runner.invoke(main, ["search", "--library", str(tmp_path), "--text", "effusion"])
    assert result.exit_code == 1
    assert "not a radsearch library" in result.output and "Traceback" not in result.output


def test_search_needs_exactly_one_query(runner, tiny_library):
    result = runner.invoke(main, ["search", "--library", str(tiny_library)])
    assert result.exit_code != 0 and "exactly one of --image, --text or --like" in result.output


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


def test_heads_from_the_command_line(runner, tiny_library, tiny_archive, tmp_path):
    import shutil

    from radsearch.datasets import read_manifest
    library = tmp_path / "lib"
    shutil.copytree(tiny_library, library)
    lib = ["--library", str(library)]
    made = runner.invoke(main, ["heads", "train", *lib, "--name", "zs", "--prompt", "pleural effusion",
                                "--negative", "no pleural effusion"])
    assert made.exit_code == 0 and "head zs (zero-shot, 1 target) saved" in made.output, made.output
    listed = runner.invoke(main, ["heads", "list", *lib])
    assert listed.exit_code == 0 and "zs  (zero-shot, binary" in listed.output
    image = read_manifest(tiny_archive / "manifest.csv")[0].path
    overlay = tmp_path / "overlay.png"
    answer = runner.invoke(main, ["heads", "predict", *lib, "--head", "zs", "--image", image, "--json",
                                  "--overlay", str(overlay)])
    assert answer.exit_code == 0, answer.output
    assert 0 <= json.loads(answer.output)["targets"]["zs"]["probability"] <= 1 and overlay.stat().st_size > 0
    explained = runner.invoke(main, ["heads", "explain", *lib, "--image", image, "--text", "pleural effusion",
                                     "--out", str(tmp_path / "text.png")])
    assert explained.exit_code == 0 and "strongest match for 'pleural effusion'" in explained.output
    stored = runner.invoke(main, ["heads", "predict", *lib, "--head", "zs", "--store"])
    assert stored.exit_code == 0 and "stored zs predictions for" in stored.output
    filtered = runner.invoke(main, ["search", *lib, "--text", "chest", "--where", "head:zs=0..1", "--json"])
    assert filtered.exit_code == 0 and json.loads(filtered.output)
    too_few = runner.invoke(main, ["heads", "train", *lib, "--column", "body_part"])
    assert too_few.exit_code == 1 and "Traceback" not in too_few.output and "at least two classes" in too_few.output
    gone = runner.invoke(main, ["heads", "remove", *lib, "zs"])
    assert gone.exit_code == 0
    missing = runner.invoke(main, ["heads", "predict", *lib, "--head", "zs", "--image", image])
    assert missing.exit_code == 1 and "no head 'zs'" in missing.output


def test_a_memory_budget_is_recorded_with_the_library_and_a_wrong_one_is_refused(runner, tiny_model, tiny_archive,
                                                                                 tmp_path):
    from radsearch.config import budget_bytes, read_config
    library = tmp_path / "lib"
    wrong = runner.invoke(main, ["index", str(tiny_archive), "--library", str(library), "--model", str(tiny_model),
                                 "--memory-budget", "lots"])
    assert wrong.exit_code != 0 and "16G" in wrong.output and not library.exists()  # refused before anything is made
    done = runner.invoke(main, ["index", str(tiny_archive), "--library", str(library), "--model", str(tiny_model),
                                "--memory-budget", "1.5G"])
    assert done.exit_code == 0, done.output
    assert budget_bytes(read_config(library).memory_budget) == int(1.5 * 2**30)
    assert budget_bytes("") > budget_bytes("1K")  # unset: a share of this machine's memory


def test_collections_from_the_command_line_and_eval_of_judged_queries(runner, tiny_library, tmp_path):
    import shutil

    from radsearch import open_library
    library = tmp_path / "library"
    shutil.copytree(tiny_library, library)
    lib = open_library(library)
    ids = [str(h.id) for h in lib.search("nodule", k=2)]
    added = runner.invoke(main, ["collections", "add", "--library", str(library), "nodules", *ids, "--note", "x"])
    assert added.exit_code == 0 and "2 added to nodules" in added.output
    listed = runner.invoke(main, ["collections", "list", "--library", str(library)])
    assert listed.output.startswith("nodules  2 items")
    shown = runner.invoke(main, ["collections", "show", "--library", str(library), "nodules"])
    assert all(f"image {i} " in shown.output for i in ids)
    out = tmp_path / "nodules.csv"
    exported = runner.invoke(main, ["collections", "export", "--library", str(library), "nodules", "--out", str(out)])
    assert exported.exit_code == 0 and out.is_file()
    missing = runner.invoke(main, ["collections", "show", "--library", str(library), "board"])
    assert missing.exit_code == 1 and "no collection named 'board'" in missing.output
    assert "Traceback" not in missing.output
    nothing = runner.invoke(main, ["eval", "--library", str(library)])
    assert nothing.exit_code != 0 and "no judged queries yet" in nothing.output
    first = lib.search("nodule", k=10)
    lib.feedback.mark("nodule", first[0].id, True)
    lib.feedback.mark("nodule", first[1].id, False)
    judged = runner.invoke(main, ["eval", "--library", str(library), "--json"])
    figures = json.loads(judged.output)["judged"]
    assert figures["precision_at_k"] == pytest.approx(0.1) and figures["judged_at_k"] == pytest.approx(0.2)
