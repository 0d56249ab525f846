"""Inference precision: bf16 autocast and int8 linear layers give nearly the fp32 vectors, in every family,
and a library remembers the precision it embeds at."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
import tomli_w
from click.testing import CliRunner

from radsearch import open_library
from radsearch.cli import main
from radsearch.errors import LibraryCorrupt
from radsearch.models import RadsearchModel, load_encoder, runtime, set_precision
from radsearch.models.standins import write_standin


def _images(model, n: int = 4) -> np.ndarray:
    profile = model.profile
    return np.random.default_rng(0).random((n, profile.channels, profile.size, profile.size)).astype(np.float32)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_lower_precision_keeps_the_vectors_of_full_precision(tiny_model, precision):
    batch, texts = _images(RadsearchModel.from_pretrained(tiny_model)), ["left pleural effusion", "normal chest"]
    full = RadsearchModel.from_pretrained(tiny_model)
    low = set_precision(RadsearchModel.from_pretrained(tiny_model), precision)
    ours, reference = low.encode_image(batch), full.encode_image(batch)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(ours * reference, axis=1)) > 0.95  # the same direction, not the same bits
    assert not np.array_equal(ours, reference)  # and it did run at the lower precision
    words, full_words = low.encode_text(texts), full.encode_text(texts)
    if precision == "bf16":  # texts never run in bf16: a batch's padding would move their vectors
        np.testing.assert_array_equal(words, full_words)
    else:  # int8 linear layers serve both towers
        assert np.min(np.sum(words * full_words, axis=1)) > 0.95 and not np.array_equal(words, full_words)
    assert low.model_id == full.model_id  # the weights file is the model's identity, whatever the precision


def test_a_text_embeds_the_same_alone_or_in_any_batch_at_the_default_precision(tiny_model):
    model = set_precision(RadsearchModel.from_pretrained(tiny_model), "bf16")
    alone = model.encode_text(["effusion"])
    padded = model.encode_text(["effusion", "large left pleural effusion with compressive atelectasis of the lung"])
    np.testing.assert_allclose(padded[:1], alone, atol=1e-6)


@pytest.mark.parametrize("kind", ["rad-dino", "clip", "biomedclip"])
def test_every_family_embeds_at_the_precision_it_is_given(kind, tmp_path):
    directory = write_standin(kind, tmp_path / kind)
    reference = load_encoder(directory)
    batch = _images(reference)
    for precision in ("bf16", "int8"):
        model = set_precision(load_encoder(directory), precision)
        vectors = model.encode_image(batch)
        assert np.min(np.sum(vectors * reference.encode_image(batch), axis=1)) > 0.95, precision
        assert not np.array_equal(vectors, reference.encode_image(batch)), precision


def test_auto_is_bf16_only_where_the_processor_computes_it_natively(tiny_model, monkeypatch):
    for flags, expected in (({"avx2", "avx512f", "avx512_bf16"}, "bf16"), ({"avx2", "avx512f"}, "fp32")):
        monkeypatch.setattr(runtime, "cpu_flags", lambda flags=flags: flags)
        assert runtime.resolve_precision("auto") == expected
        assert set_precision(RadsearchModel.from_pretrained(tiny_model), "auto").precision == expected


def test_an_unknown_precision_or_undoing_int8_is_refused_with_the_way_out(tiny_model):
    model = RadsearchModel.from_pretrained(tiny_model)
    with pytest.raises(ValueError, match="fp32, bf16, int8"):
        set_precision(model, "fp16")
    set_precision(model, "int8")
    with pytest.raises(ValueError, match="load it again"):
        set_precision(model, "fp32")


def test_a_library_remembers_its_precision_and_searches_at_it(tiny_model, tiny_archive, tmp_path):
    library = tmp_path / "lib"
    done = CliRunner().invoke(main, ["index", str(tiny_archive), "--library", str(library), "--model",
                                     str(tiny_model), "--precision", "bf16"])
    assert done.exit_code == 0, done.output
    lib = open_library(library)
    assert lib.store.config.precision == "bf16" and lib.encoder.precision == "bf16"
    assert lib.search("left pleural effusion", k=3)  # text queries embed at bf16 too
    lib.set_precision("int8")
    assert open_library(library).encoder.precision == "int8"
    lib.set_precision("fp32")
    assert lib.encoder.precision == "fp32"  # int8 cannot be undone in place: the model was loaded again


def test_a_wrong_precision_in_the_library_file_names_the_file(tiny_model, tiny_archive, tmp_path):
    library = tmp_path / "lib"
    assert CliRunner().invoke(main, ["index", str(tiny_archive), "--library", str(library), "--model",
                                     str(tiny_model)]).exit_code == 0
    config = library / "radsearch.toml"
    data = tomllib.loads(config.read_text())
    config.write_text(tomli_w.dumps(data | {"precision": "half"}))
    with pytest.raises(LibraryCorrupt, match="radsearch.toml.*fp32, bf16, int8"):
        open_library(library).encoder  # noqa: B018
