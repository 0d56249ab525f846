"""Images per second of each published encoder family at its released architecture and input size, through
radsearch's path (decode-side preprocessing in numpy/PIL, batches) against transformers' own pipeline-style
loop (its image processor and model, one image at a time), fp32 and bf16, in the same run.

Random-weight stand-ins in the published layouts (radsearch.models.standins, `published=True`) replace the
real checkpoints, which cannot be downloaded here; speed depends on the architecture and input size, not the
weights. Each family's radsearch vectors are also compared with the peer's (max |difference|, fp32) and the
bf16 vectors with the fp32 ones (mean cosine). BiomedCLIP's peer is its converted transformers ViT fed by a
CLIPImageProcessor with open_clip's settings (transformers has no open_clip pipeline of its own).

    python benchmarks/encoders.py [--images 8] [--families rad-dino clip ...] [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from transformers import AutoImageProcessor, AutoModel, CLIPImageProcessorPil
from transformers.utils import logging as hf_logging

from radsearch.datasets.synthetic import render
from radsearch.imaging import Radiograph
from radsearch.models import embed_radiographs, load_encoder
from radsearch.models.standins import KINDS, write_standin

FAMILIES = [kind for kind in KINDS if kind != "bert"]
BATCH = 64  # radsearch's default; models.batching caps it by input size (6 at 224 px, 1 at 518 px)


def radiographs(n: int) -> list[Radiograph]:
    """Non-square synthetic chest films of a real archive's size (512 x 420), 8-bit like the real-dev PNGs."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        pixels = render(rng, "CHEST", "PA", size=(512, 420)).pixels
        out.append(Radiograph(np.round(pixels * 255).astype(np.float32) / 255))
    return out


def peer(kind: str, directory: Path, encoder) -> Callable[[Radiograph], torch.Tensor]:  # noqa: ANN001
    """transformers' own loop for one image: PIL image, its processor, its model, the authors' readout."""
    if kind == "biomedclip":
        processor = CLIPImageProcessorPil(size={"shortest_edge": encoder.profile.size},
                                          crop_size={"height": encoder.profile.size, "width": encoder.profile.size},
                                          image_mean=list(encoder.profile.mean), image_std=list(encoder.profile.std),
                                          resample=3)

        def run(pixels: torch.Tensor) -> torch.Tensor:
            return encoder.head(encoder.vision(pixel_values=pixels).last_hidden_state[:, 0])
    else:
        processor = AutoImageProcessor.from_pretrained(directory, local_files_only=True)
        model = AutoModel.from_pretrained(directory, local_files_only=True).eval()
        readout = encoder.info.get("readout", "")

        def run(pixels: torch.Tensor) -> torch.Tensor:
            if kind in ("clip", "siglip"):
                out = model.get_image_features(pixel_values=pixels)
                return out if isinstance(out, torch.Tensor) else out.pooler_output
            out = model(pixel_values=pixels)
            return out.last_hidden_state[:, 0] if readout == "cls" else out.pooler_output

    def one(rg: Radiograph) -> torch.Tensor:
        image = Image.fromarray(np.round(rg.pixels * 255).astype(np.uint8)).convert("RGB")
        with torch.inference_mode():
            return F.normalize(run(processor(images=image, return_tensors="pt")["pixel_values"]), dim=-1)[0]

    return one


def precision(name: str) -> contextlib.AbstractContextManager:
    return torch.autocast("cpu", dtype=torch.bfloat16) if name == "bf16" else contextlib.nullcontext()


def measure(kind: str, images: list[Radiograph], work: Path) -> dict:
    directory = write_standin(kind, work / kind, published=True)
    encoder = load_encoder(directory)
    theirs = peer(kind, directory, encoder)
    row: dict = {"family": kind, "size": encoder.profile.size, "kind": encoder.info.get("family")}
    vectors = {}
    for name in ("fp32", "bf16"):
        with precision(name):
            embed_radiographs(encoder, images, BATCH)  # warm-up: the first call of each shape is slower
            theirs(images[0])
            started = time.perf_counter()
            vectors[name] = embed_radiographs(encoder, images, BATCH).astype(np.float32)
            row[f"radsearch {name}"] = len(images) / (time.perf_counter() - started)
            started = time.perf_counter()
            reference = np.stack([theirs(rg).float().numpy() for rg in images])
            row[f"transformers {name}"] = len(images) / (time.perf_counter() - started)
        if name == "fp32":
            row["max |diff|"] = float(np.abs(vectors["fp32"] - reference).max())
    row["bf16 cosine"] = float(np.mean(np.sum(vectors["fp32"] * vectors["bf16"], axis=1)))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8, help="images timed per family and precision")
    parser.add_argument("--families", nargs="+", default=FAMILIES, choices=FAMILIES)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    hf_logging.disable_progress_bar()
    images = radiographs(args.images)
    print(f"{args.images} images of 512x420 per family and precision; {args.threads} torch threads; "
          f"radsearch in batches (models.batching.image_batch), transformers one image at a time\n")
    print("| family | input | radsearch fp32 img/s | transformers fp32 img/s | speed-up | radsearch bf16 img/s | "
          "transformers bf16 img/s | bf16 vs fp32 cosine | max abs diff to transformers (fp32) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as work:
        for kind in args.families:
            row = measure(kind, images, Path(work))
            print(f"| {kind} | {row['size']} | {row['radsearch fp32']:.2f} | {row['transformers fp32']:.2f} | "
                  f"{row['radsearch fp32'] / row['transformers fp32']:.2f}x | {row['radsearch bf16']:.2f} | "
                  f"{row['transformers bf16']:.2f} | {row['bf16 cosine']:.4f} | {row['max |diff|']:.1e} |",
                  flush=True)


if __name__ == "__main__":
    main()
