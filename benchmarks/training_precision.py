"""Training step time in bf16 autocast against fp32, alternated in one process on this machine's CPU.

One optimizer step of a preset's image tower (forward, backward, AdamW) on a batch of random images, as the
training loop runs it, repeated in fp32 and in bf16 autocast turn by turn so that both see the same load. The
CPU's bf16-related flags are printed beside the figures, because `--precision auto` trains in fp32 on every
CPU (training.loop.training_precision) and this is the measurement behind that rule.

    python benchmarks/training_precision.py [--preset tiny-grid4] [--batch 64] [--rounds 5] [--steps 6]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from radsearch.imaging import PreprocessProfile
from radsearch.models import RadsearchModel, load_preset, train_wordpiece
from radsearch.models.runtime import cpu_flags, precision_context
from radsearch.threads import threads_for


def step_seconds(model: RadsearchModel, optimizer: torch.optim.Optimizer, batch: torch.Tensor, precision: str,
                 steps: int) -> float:
    """Mean seconds of one training step of the image tower in `precision`."""
    start = time.perf_counter()
    for _ in range(steps):
        with precision_context("cpu", precision):
            loss = model.image_features(batch).float().square().sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny-grid4")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(threads_for("train"))
    preset = load_preset(args.preset)
    tokenizer = train_wordpiece(["no acute finding", "fracture of the distal radius"], preset.vocab_size)
    model = RadsearchModel.from_preset(preset, tokenizer, PreprocessProfile(size=preset.image_size,
                                                                            channels=preset.channels))
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    batch = torch.randn(args.batch, preset.channels, preset.image_size, preset.image_size)
    flags = sorted(cpu_flags() & {"avx512_bf16", "amx_bf16", "amx_tile", "bf16", "avx512f"})
    print(f"CPU flags: {', '.join(flags) or 'none of avx512f, avx512_bf16, amx'}; {torch.get_num_threads()} threads; "
          f"{args.preset}, batch {args.batch}, {preset.image_size} px")
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for precision in times:  # warm-up: oneDNN picks and caches its kernels on the first calls
        step_seconds(model, optimizer, batch, precision, 2)
    for _ in range(args.rounds):
        for precision, seen in times.items():
            seen.append(step_seconds(model, optimizer, batch, precision, args.steps))
    fp32, bf16 = statistics.median(times["fp32"]), statistics.median(times["bf16"])
    print(f"{'precision':<10}{'median s/step':>15}{'min':>8}{'max':>8}")
    for precision, seen in times.items():
        print(f"{precision:<10}{statistics.median(seen):>15.3f}{min(seen):>8.3f}{max(seen):>8.3f}")
    print(f"bf16 is {fp32 / bf16:.2f}x the speed of fp32 here")


if __name__ == "__main__":
    main()
