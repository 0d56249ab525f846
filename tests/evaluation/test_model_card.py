"""Every model `radsearch train` makes carries a card: held-out figures beside pixels and random weights from
the same run, a verdict that `radsearch index` repeats, and --require-better for pipelines."""

from __future__ import annotations

import json
from dataclasses import replace

from click.testing import CliRunner

from radsearch.cli import main
from radsearch.datasets import read_manifest, write_manifest
from radsearch.evaluation.model_card import held_out_rows
from radsearch.training import TrainSettings

TRAIN = ["--epochs", "2", "--batch-size", "8"]


def _train(manifest, out, *extra):
    return CliRunner().invoke(main, ["train", "--manifest", str(manifest), "--out", str(out), *TRAIN, *extra])


def test_train_says_what_auto_chose_and_writes_the_card_with_baselines(tiny_archive, tmp_path):
    result = _train(tiny_archive / "manifest.csv", tmp_path / "model")
    assert result.exit_code == 0, result.output
    assert "recipe auto: contrastive, because" in result.output and "with a report" in result.output
    card = (tmp_path / "model" / "README.md").read_text()
    assert "## Evaluation on held-out images" in card and "**Verdict" in card
    assert "pixels" in card and "random-init" in card and "val split" in card
    summary = json.loads((tmp_path / "model" / "evaluation.json").read_text())
    figures = summary["figures"]
    assert {"model", "pixels", "random-init"} <= set(figures)
    assert summary["recipe"] == "contrastive" and summary["data"]["images"] > 0
    assert summary["verdict"] in result.output


def test_a_crippled_run_is_called_worse_and_require_better_fails_the_pipeline(tiny_archive, tmp_path):
    result = _train(tiny_archive / "manifest.csv", tmp_path / "bad", "--lr", "100", "--require-better")
    assert result.exit_code == 1
    assert "WORSE than a baseline" in result.output and "--require-better" in result.output
    assert (tmp_path / "bad" / "model.safetensors").is_file()  # the model is kept, with its card
    summary = json.loads((tmp_path / "bad" / "evaluation.json").read_text())
    assert summary["better_than_baselines"] is False and summary["shortfalls"]
    indexed = CliRunner().invoke(main, ["index", str(tiny_archive), "--library", str(tmp_path / "lib"),
                                        "--model", str(tmp_path / "bad"), "--workers", "0"])
    assert indexed.exit_code == 0, indexed.output
    assert "model card: WORSE than a baseline" in indexed.output  # the verdict travels with the model


def test_without_a_val_split_a_share_of_patients_is_held_out_and_never_trained_on(tiny_archive, tmp_path):
    many = [replace(r, split="", patient_id=f"{r.patient_id}-{n}", study_id=f"{r.study_id}-{n}")
            for n in range(8) for r in read_manifest(tiny_archive / "manifest.csv")]
    manifest = write_manifest(many, tmp_path / "unsplit.csv")
    kept, held, how = held_out_rows(manifest, TrainSettings())
    assert held and "held out from training" in how
    assert not {r.patient_id for r in kept} & {r.patient_id for r in held}  # no patient on both sides
    assert len(kept) + len(held) == len(many) and all(r.split == "val" for r in held)
