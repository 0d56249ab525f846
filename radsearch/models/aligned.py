"""An image model given a text side by locked-image tuning (`radsearch align`): the image encoder exactly as
it was (RAD-DINO, DINOv2, any family radsearch reads), and a text tower whose projection lands in the
image encoder's own embedding space.

Because the image side is untouched, its vectors are the image model's: only text is new. The directory:
radsearch.json (family radsearch-aligned), image/ (the image model's own directory), text/ (a BERT-family
tower with its tokenizer) and text_projection.safetensors (projection and temperature).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from transformers import AutoModel, PreTrainedTokenizerBase

from ..errors import ModelDirError
from ..files import MODEL_META_FILE, replace_directory, weights_hash
from .loading import load_encoder
from .protocol import Encoder
from .runtime import DEFAULT_PRECISION, text_inference
from .tokenizer import load_tokenizer
from .towers import check_tower, fresh_copy, load_pretrained, quiet_transformers

FAMILY = "radsearch-aligned"
FORMAT_VERSION = 1
PROJECTION_FILE = "text_projection.safetensors"
INITIAL_TEMPERATURE = 0.07  # CLIP's starting temperature


class TextSide(torch.nn.Module):
    """A text tower, its pooling and a linear projection into an image encoder's space, with the temperature."""

    def __init__(self, tower: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, embed_dim: int,
                 max_length: int = 96) -> None:
        super().__init__()
        self.tower, self.tokenizer, self.max_length = tower, tokenizer, max_length
        self.projection = torch.nn.Linear(int(tower.config.hidden_size), embed_dim)
        self.logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / INITIAL_TEMPERATURE)))

    @property
    def pooling(self) -> str:
        """"pooler" (the tower's CLS pooler, as radsearch's dual encoder reads) or "mean" where it has none."""
        return "pooler" if getattr(self.tower, "pooler", None) is not None else "mean"

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts -> (B, D) unit vectors, differentiable."""
        device = self.projection.weight.device
        tokens = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                                return_tensors="pt")
        inputs = {k: v.to(device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        out = self.tower(**inputs, return_dict=True)
        if self.pooling == "pooler":
            pooled = out.pooler_output
        else:
            mask = inputs["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1)
        return F.normalize(self.projection(pooled).float(), dim=-1)


class AlignedEncoder:
    """An `Encoder`: the locked image encoder's vectors for images, the aligned text side for texts."""

    precision = DEFAULT_PRECISION  # models.runtime.set_precision changes it (and the image encoder's)

    def __init__(self, image: Encoder, text: TextSide, meta: dict, model_id: str = "",
                 directory: Path | None = None) -> None:
        self.image, self.text = image, text
        self.meta = meta
        self.model_id = model_id
        self.directory = directory
        self.profile = image.profile
        self.info = {"family": FAMILY, **meta.get("training", {})}

    @property
    def embed_dim(self) -> int:
        return self.image.embed_dim

    @property
    def towers(self) -> frozenset[str]:
        return frozenset({"image", "text"})

    @property
    def similarity_scale(self) -> float:
        return float(self.text.logit_scale.detach().exp().item())

    @property
    def report_sections(self) -> str:
        return str(self.meta.get("report_sections", "impression"))

    def encode_image(self, batch: np.ndarray) -> np.ndarray:
        return self.image.encode_image(batch)

    @text_inference
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        self.text.eval()
        return self.text(texts).float().cpu().numpy()

    def lock(self, towers: Iterable[str]) -> list[torch.nn.Module]:
        towers = list(towers)
        locked = self.image.lock([t for t in towers if t == "image"]) or []
        if "text" in towers:
            self.text.tower.requires_grad_(False)
            locked.append(self.text.tower)
        return locked

    @property
    def device(self) -> torch.device:
        """Where the text side runs (the image side keeps its own)."""
        return self.text.projection.weight.device

    def inference_modules(self) -> list[torch.nn.Module]:
        """The text side's modules; the image encoder quantises its own (models.runtime)."""
        return [self.text]

    def to(self, device: str | torch.device) -> AlignedEncoder:
        if hasattr(self.image, "to"):
            self.image.to(device)
        self.text.to(device)
        return self

    def with_fresh_weights(self, seed: int = 0) -> AlignedEncoder:
        """Untrained weights on both sides (the random-init baseline)."""
        fresh_image = getattr(self.image, "with_fresh_weights", None)
        if fresh_image is None:
            raise ModelDirError(f"the image model of {self.directory} cannot be re-initialised")
        text = TextSide(fresh_copy(self.text.tower, seed), self.text.tokenizer, self.embed_dim, self.text.max_length)
        return AlignedEncoder(fresh_image(seed), text, self.meta, self.model_id, self.directory)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write image/, text/, the projection and radsearch.json atomically; the model id hashes them all."""
        directory = Path(directory)
        if self.directory is not None and directory.resolve() == self.directory.resolve():
            return directory
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.image.save_pretrained(tmp / "image")
        with quiet_transformers():
            self.text.tower.save_pretrained(tmp / "text")
        self.text.tokenizer.save_pretrained(tmp / "text")
        save_file({"weight": self.text.projection.weight.detach().cpu().contiguous(),
                   "bias": self.text.projection.bias.detach().cpu().contiguous(),
                   "logit_scale": self.text.logit_scale.detach().cpu().reshape(1)}, str(tmp / PROJECTION_FILE))
        self.model_id = weights_hash(tmp)
        meta = dict(self.meta, format_version=FORMAT_VERSION, family=FAMILY, profile=self.profile.to_dict(),
                    max_text_length=self.text.max_length, pooling=self.text.pooling, model_id=self.model_id)
        (tmp / MODEL_META_FILE).write_text(json.dumps(meta, indent=2))
        replace_directory(tmp, directory)
        self.directory = directory
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> AlignedEncoder:
        directory = Path(directory)
        meta = json.loads((directory / MODEL_META_FILE).read_text())
        for part in ("image", "text", PROJECTION_FILE):
            if not (directory / part).exists():
                raise ModelDirError(f"{directory} is an aligned model without its {part}; write it again with "
                                    "`radsearch align`")
        image = load_encoder(directory / "image")
        check_tower(directory / "text", "text")
        tokenizer = load_tokenizer(directory / "text")
        tower = load_pretrained(AutoModel, directory / "text", "text tower")
        text = TextSide(tower, tokenizer, image.embed_dim, int(meta.get("max_text_length", 96)))
        state = load_file(str(directory / PROJECTION_FILE))
        if tuple(state["weight"].shape) != tuple(text.projection.weight.shape):
            raise ModelDirError(f"{directory / PROJECTION_FILE} is a projection of shape {tuple(state['weight'].shape)}"
                                f", but its towers need {tuple(text.projection.weight.shape)}")
        with torch.no_grad():
            text.projection.weight.copy_(state["weight"])
            text.projection.bias.copy_(state["bias"])
            text.logit_scale.copy_(state["logit_scale"].reshape(()))
        return cls(image, text.eval(), meta, str(meta.get("model_id") or weights_hash(directory)), directory)
