"""How an encoder's forward pass runs when it embeds (never how it trains): its precision and threads.

  auto  bf16 where the hardware computes in bf16 natively (a CPU with AVX-512 BF16 or AMX, a GPU that
        supports it), fp32 elsewhere, where emulated bf16 would be slower: the default.
  fp32  full precision, the reference.
  bf16  bfloat16 autocast for images: weights stay fp32, matrix products run in bf16 (about 2x on a CPU
        with AVX-512 BF16 / AMX, and on GPUs); vectors come back as fp32 unit vectors. Texts stay fp32
        (`text_inference`).
  int8  dynamic int8 quantisation of the linear layers (torch's own), CPU only.

Threads: `set_encoder_threads` sizes torch's team (radsearch.threads says how many for each role).

Which precision a library uses is `LibraryConfig.precision`; `benchmarks/precision.py` measures what each
costs in retrieval quality against fp32 in the same run (docs/benchmarks.md, "Inference precision").
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import torch

PRECISIONS = ("auto", "fp32", "bf16", "int8")
DEFAULT_PRECISION = "fp32"  # of an encoder as loaded; a library's default is "auto" (LibraryConfig.precision)
CPU_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}  # /proc/cpuinfo: x86 AVX-512 BF16 and AMX, Arm's BF16
F = TypeVar("F", bound=Callable[..., Any])


def set_encoder_threads(threads: int) -> None:
    """torch's intra-op threads in this process (radsearch.threads sizes them)."""
    torch.set_num_threads(max(1, int(threads)))


def encoder_threads() -> int:
    """torch's intra-op threads in this process now."""
    return torch.get_num_threads()


def check_precision(precision: str) -> str:
    """`precision` if radsearch knows it; a ValueError naming the choices otherwise."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown inference precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return precision


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """Whether `device` computes in bf16 natively (emulated bf16 is slower than fp32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return device.type == "cpu" and bool(cpu_flags() & CPU_BF16_FLAGS)


def cpu_flags() -> set[str]:
    """The processor's feature flags as Linux lists them; empty elsewhere (then "auto" stays fp32)."""
    try:
        with open("/proc/cpuinfo") as fh:
            return {word for line in fh if line.startswith(("flags", "Features")) for word in line.split()}
    except OSError:
        return set()


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """The precision `precision` means on `device`: "auto" becomes bf16 or fp32, others stay."""
    check_precision(precision)
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def precision_context(device: torch.device | str, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on `device` when asked for; nothing otherwise (int8 is in the weights, not a context)."""
    if precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def inference(method: F) -> F:
    """Decorate an encoder's encode_image: no autograd, and the encoder's `precision`."""
    return _inference(method, autocast=True)


def text_inference(method: F) -> F:
    """Decorate an encoder's encode_text: no autograd, never bf16. A batch of texts is padded to its longest,
    and under bf16 that moved a text's vector by up to 1e-3 with its batch, so that a report indexed after a
    crash or on Ray differed from the same report indexed in one run; texts are short, so fp32 costs little.
    (int8 weights, once quantised, serve both towers.)"""
    return _inference(method, autocast=False)


def _inference(method: F, autocast: bool) -> F:
    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        device = getattr(self, "device", None) or torch.device("cpu")
        precision = getattr(self, "precision", DEFAULT_PRECISION) if autocast else "fp32"
        with torch.inference_mode(), precision_context(device, precision):
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]


def set_precision(encoder: Any, precision: str) -> Any:
    """Make `encoder` (and the encoders it wraps) embed at `precision`; returns it.

    int8 rewrites the linear layers in place, so it cannot be undone on the same object: load the model
    again for fp32. Its weights hash (`model_id`) is the file's, whatever the precision.
    """
    precision = resolve_precision(precision, getattr(encoder, "device", None) or "cpu")
    current = getattr(encoder, "precision", DEFAULT_PRECISION)
    if current == "int8" and precision != "int8":
        raise ValueError("an int8-quantised encoder cannot go back to full precision: load it again")
    for part in _parts(encoder):
        if precision == "int8" and current != "int8":
            _quantise(part)
        part.precision = precision
    return encoder


def _parts(encoder: Any) -> list[Any]:
    """The encoder and the encoders inside it (an aligned encoder's image model)."""
    inner = getattr(encoder, "image", None)
    return [encoder] + (_parts(inner) if inner is not None and hasattr(inner, "encode_image") else [])


def _quantise(encoder: Any) -> None:
    device = getattr(encoder, "device", None) or torch.device("cpu")
    if torch.device(device).type != "cpu":
        raise ValueError(f"int8 inference runs on the CPU only; this encoder is on {device}: use bf16 there")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice, not the user's concern
        from torch.ao.quantization import quantize_dynamic

        for module in _torch_modules(encoder):
            quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def _torch_modules(encoder: Any) -> list[torch.nn.Module]:
    modules = getattr(encoder, "inference_modules", None) or getattr(encoder, "modules", None)
    if modules is None:
        raise ValueError(f"{type(encoder).__name__} does not list its torch modules, so it cannot be quantised")
    return list(modules())
