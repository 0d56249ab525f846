"""What radsearch sees in a model directory: its family, towers, width, preprocessing, and whether text
search is possible (and if not, why and how to fix it). Behind `radsearch models inspect`."""

from __future__ import annotations

from pathlib import Path

from .loading import family_of
from .protocol import text_refusal


def inspect_model(directory: str | Path) -> dict:
    """A JSON-ready description of the encoder in `directory`, loaded the way indexing would load it."""
    family = family_of(directory)
    encoder = family.load(Path(directory))
    profile = encoder.profile
    mean, std = profile.channel_stats()
    reason = text_refusal(encoder)
    return {"directory": str(directory), "family": family.name, "layout": family.describe,
            "model_id": encoder.model_id, "towers": sorted(encoder.towers), "embed_dim": encoder.embed_dim,
            "input": {"size": profile.size, "channels": profile.channels,
                      "gray_to_rgb": profile.channels == 3, "fit": profile.fit,
                      "resize": profile.resize or profile.size, "crop": profile.crop, "resample": profile.resample},
            "normalisation": {"mean": [round(float(v), 6) for v in mean.ravel()],
                              "std": [round(float(v), 6) for v in std.ravel()]},
            "text_search": reason is None, "text_search_refused": reason,
            "report_sections": encoder.report_sections if reason is None else None,
            "made_by": {k: v for k, v in encoder.info.items() if k != "family"}}


FIT_WORDS = {"pad": "padded to a square (nothing cropped)", "shortest_edge": "shortest side resized, then cropped",
             "stretch": "resized to a square (aspect not kept)"}


def describe_model(directory: str | Path) -> str:
    """`inspect_model` as lines a person reads."""
    facts = inspect_model(directory)
    source = facts["input"]
    lines = [f"{facts['directory']}",
             f"  family:         {facts['family']}: {facts['layout']}",
             f"  model id:       {facts['model_id']}",
             f"  towers:         {', '.join(facts['towers'])}",
             f"  embedding:      {facts['embed_dim']} dimensions",
             f"  input:          {source['size']}x{source['size']}, {source['channels']} channel(s)"
             + (" (grayscale replicated)" if source["gray_to_rgb"] else "")
             + f", {FIT_WORDS.get(source['fit'], source['fit'])}, {source['resample']}",
             f"  normalisation:  mean {facts['normalisation']['mean']}, std {facts['normalisation']['std']}"]
    if facts["text_search"]:
        lines.append(f"  text search:    yes (reports embedded from: {facts['report_sections']})")
    else:
        lines.append(f"  text search:    no: {facts['text_search_refused']}")
    for key, value in facts["made_by"].items():
        if value not in ("", None, [], {}):
            lines.append(f"  {key + ':':<15} {value}")
    return "\n".join(lines)
