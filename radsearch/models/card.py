"""What radsearch writes beside its own model's weights so plain transformers reads it too: a
preprocessor_config.json (models.processing.processor_config) and a README.md model card saying how to
get radsearch's embeddings without radsearch, including the grid-pooled presets, whose pooling plain
transformers does not know (its `get_image_features` reads one pooled vector)."""

from __future__ import annotations

import json
from pathlib import Path

from ..imaging import PreprocessProfile

CARD_FILE = "README.md"
EVALUATION_FILE = "evaluation.json"  # evaluation.model_card writes it when `radsearch train` ends
EVALUATION_MARK = "## Evaluation on held-out images"


def card_verdict(model_dir: str | Path) -> str | None:
    """The one-line verdict of a model's card (how it compared with pixels and random weights), or None."""
    path = Path(model_dir) / EVALUATION_FILE
    try:
        return str(json.loads(path.read_text())["verdict"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_card(model_id: str, info: dict, profile: PreprocessProfile, pool_grid: int, max_text_length: int) -> str:
    """The model card of a radsearch-trained model."""
    mean, std = profile.channel_stats()
    recipe = info.get("recipe", "?")
    trained = ", ".join(info.get("trained_towers", [])) or "none"
    image_lines = ("image_vectors = model.get_image_features(pixel_values=inputs.pixel_values).pooler_output"
                   if pool_grid == 1 else
                   "out = model.vision_model(pixel_values=inputs.pixel_values, return_dict=True)\n"
                   f"cells = torch.nn.functional.adaptive_avg_pool2d(out.last_hidden_state, {pool_grid})\n"
                   "features = model.vision_model.layernorm(cells.permute(0, 2, 3, 1)).flatten(1)\n"
                   "image_vectors = model.visual_projection(features)")
    text_note = ("" if "text" in info.get("trained_towers", ["text"]) or "contrastive" in str(recipe).split("+") else
                 "\nIts text tower was never aligned with images (no reports in its training): use the image "
                 "vectors only.\n")
    grid_note = ("" if pool_grid == 1 else
                 f"\nThis model pools its image tower's last feature map to {pool_grid}x{pool_grid} cells before the "
                 "projection, which `get_image_features` does not do (it would fail on the projection's width), so "
                 "the image lines above pool by hand.\n")
    return f"""# radsearch model {model_id}

A dual image-text encoder trained by radsearch (recipe: {recipe}; towers trained: {trained}; preset:
{info.get("preset", "?")}). It is a transformers `VisionTextDualEncoderModel`: radsearch reads it with
`radsearch.models.load_encoder`, plain transformers with `AutoModel` and `AutoProcessor`.

Images: {profile.size}x{profile.size}, {profile.channels} channel(s), scaled to [0, 1], normalised with mean
{[round(float(v), 4) for v in mean.ravel()]} and std {[round(float(v), 4) for v in std.ravel()]}. radsearch pads a
non-square radiograph to a square (centred on black) before resizing; the processor resizes without padding,
so pad first for identical vectors. Texts: at most {max_text_length} tokens.

```python
import torch
from transformers import AutoModel, AutoProcessor

model = AutoModel.from_pretrained("THIS_DIRECTORY").eval()
processor = AutoProcessor.from_pretrained("THIS_DIRECTORY")
inputs = processor(images=[image], text=["left pleural effusion"], return_tensors="pt", padding=True,
                   truncation=True, max_length={max_text_length})
with torch.no_grad():
    {image_lines.replace(chr(10), chr(10) + "    ")}
    text_vectors = model.get_text_features(input_ids=inputs.input_ids,
                                           attention_mask=inputs.attention_mask).pooler_output
image_vectors = torch.nn.functional.normalize(image_vectors, dim=-1)
text_vectors = torch.nn.functional.normalize(text_vectors, dim=-1)
```
{grid_note}{text_note}"""
