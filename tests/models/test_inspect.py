"""`radsearch models inspect` says what radsearch sees in a directory; `radsearch models standin` writes the tiny
checkpoints the tests and the bake-off use."""

from __future__ import annotations

import json

from click.testing import CliRunner

from radsearch.cli import main


def test_inspect_reports_family_towers_input_and_normalisation_of_a_clip_model(tmp_path):
    runner = CliRunner()
    made = runner.invoke(main, ["models", "standin", "clip", str(tmp_path / "clip"), "--image-size", "48"])
    assert made.exit_code == 0, made.output
    facts = json.loads(runner.invoke(main, ["models", "inspect", str(tmp_path / "clip"), "--json"]).output)
    assert facts["family"] == "hf-clip" and facts["towers"] == ["image", "text"] and facts["text_search"]
    assert facts["input"]["size"] == 48 and facts["input"]["channels"] == 3 and facts["input"]["gray_to_rgb"]
    assert facts["normalisation"]["mean"] == [0.481455, 0.457828, 0.408211]  # CLIP's own, channel by channel
    assert facts["embed_dim"] == 24


def test_inspect_of_an_image_backbone_says_why_text_search_is_impossible_and_the_fix(tmp_path):
    runner = CliRunner()
    runner.invoke(main, ["models", "standin", "swin", str(tmp_path / "swin")])
    result = runner.invoke(main, ["models", "inspect", str(tmp_path / "swin")])
    assert result.exit_code == 0, result.output
    assert "hf-image" in result.output and "text search:    no" in result.output
    assert "radsearch align --model" in result.output


def test_inspect_of_a_folder_radsearch_cannot_read_lists_what_it_reads(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    result = CliRunner().invoke(main, ["models", "inspect", str(tmp_path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "model_type 'whisper'" in result.output and "open_clip_config.json" in result.output


def test_standin_of_an_unknown_kind_names_the_kinds(tmp_path):
    result = CliRunner().invoke(main, ["models", "standin", "resnet", str(tmp_path / "x")])
    assert result.exit_code == 1 and "rad-dino" in result.output and "siglip" in result.output
