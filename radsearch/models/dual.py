"""radsearch's own encoder family: an image and a text tower with projections into one normalised space
(transformers' `VisionTextDualEncoderModel`), trained by radsearch.training and saved as a directory.

The towers are ViT, DINOv2, ConvNeXt (or, from a checkpoint, Swin, BEiT, CLIP's and SigLIP's image side)
and BERT-family text. A model directory holds the Hugging Face files (config.json, model.safetensors,
tokenizer files, preprocessor_config.json, a model card) plus `radsearch.json` with the preprocessing
profile, so `RadsearchModel.from_pretrained(dir)` needs nothing else and plain transformers reads it too. Besides the
`Encoder` contract, this class carries what training needs (differentiable features, towers, the
temperature, weights), so nothing outside radsearch.models touches transformers.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoTokenizer, PreTrainedTokenizerBase, VisionTextDualEncoderModel

from ..errors import ModelDirError, NoTextTower
from ..files import MODEL_META_FILE, replace_directory, weights_hash
from ..imaging import PreprocessProfile
from .card import CARD_FILE, model_card
from .presets import EncoderPreset
from .processing import PROCESSOR_FILE, processor_config
from .protocol import TOWERS
from .runtime import DEFAULT_PRECISION, inference, text_inference
from .towers import POOL_GRID_KEY, build_dual_encoder, quiet_transformers

META_FILE = MODEL_META_FILE
FORMAT_VERSION = 1
FAMILY = "radsearch-dual"  # the directory layout this class reads (models.loading)


TOKEN_MAP_TOWERS = ("vit", "dinov2", "dinov2_with_registers", "convnext")  # whose tokens the pooler reads as one


class RadsearchModel:
    """The dual encoder radsearch trains: `encode_image` and `encode_text` give unit vectors (an `Encoder`)."""

    precision = DEFAULT_PRECISION  # models.runtime.set_precision changes it

    def __init__(self, dual: VisionTextDualEncoderModel, tokenizer: PreTrainedTokenizerBase,
                 profile: PreprocessProfile, max_text_length: int = 96, model_id: str = "") -> None:
        self._dual = dual
        self.tokenizer = tokenizer
        self.profile = profile
        self.max_text_length = max_text_length
        self.model_id = model_id  # sha256 prefix of the weights, set when saved or loaded
        self.device = torch.device("cpu")
        self.info: dict = {}  # how it was trained (recipe, towers trained, initial checkpoints); in radsearch.json

    @classmethod
    def from_preset(cls, preset: EncoderPreset, tokenizer: PreTrainedTokenizerBase, profile: PreprocessProfile,
                    init_image: str | Path | None = None, init_text: str | Path | None = None) -> RadsearchModel:
        """A new model of a preset's architecture (towers random, or from local pretrained directories)."""
        dual = build_dual_encoder(preset, len(tokenizer), init_image=init_image, init_text=init_text)
        max_length = min(preset.max_text_length,
                         int(getattr(dual.config.text_config, "max_position_embeddings", 512)))
        return cls(dual, tokenizer, profile, max_text_length=max_length)

    def with_fresh_weights(self, seed: int = 0) -> RadsearchModel:
        """The same architecture, tokenizer and preprocessing with untrained weights (a baseline)."""
        torch.manual_seed(seed)
        return RadsearchModel(type(self._dual)(config=self._dual.config), self.tokenizer, self.profile,
                              max_text_length=self.max_text_length)

    # -- the Encoder contract -------------------------------------------------------------------
    @property
    def embed_dim(self) -> int:
        return int(self._dual.config.projection_dim)

    @property
    def towers(self) -> frozenset[str]:
        """Both towers, unless its training never aligned text with images: the text side means something
        when the text tower learned, or when a contrastive recipe trained its projection (projection-only
        alignment of frozen pretrained towers). Untrained models (baselines) keep both."""
        trained = self.info.get("trained_towers")
        if trained is None:
            return frozenset(TOWERS)
        aligned = "contrastive" in str(self.info.get("recipe", "")).split("+")
        return frozenset(TOWERS) if "text" in trained or aligned else frozenset({"image"})

    @property
    def similarity_scale(self) -> float:
        return float(self._dual.logit_scale.detach().exp().item())

    @property
    def report_sections(self) -> str:
        """Which report sections the text tower was trained on (datasets.embedding_text)."""
        return self.info.get("report_sections", "impression")

    @inference
    def encode_image(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        """Preprocessed images (B, C, H, W) -> float32 (B, D) unit vectors."""
        self._dual.eval()
        return self.image_features(torch.as_tensor(batch, dtype=torch.float32)).float().cpu().numpy()

    @text_inference
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> float32 (B, D) unit vectors; refused when the text tower never learned."""
        if "text" not in self.towers:
            raise NoTextTower(f"this model was trained without reports (recipe {self.info.get('recipe')}), so text "
                              "queries mean nothing to it; search by image, train with a contrastive recipe, or give "
                              "it a text side with `radsearch align --model DIR --manifest MANIFEST --out NEW_DIR`")
        self._dual.eval()
        return self.text_features(texts).float().cpu().numpy()

    def lock(self, towers: Iterable[str]) -> list[torch.nn.Module]:
        """Fix the named towers' weights (their projections and the temperature still train); returns them."""
        locked = [self.tower(name) for name in towers]
        for module in locked:
            module.requires_grad_(False)
        return locked

    # -- what training and localisation use -----------------------------------------------------
    def tower(self, name: str) -> torch.nn.Module:
        """The "image" or "text" tower as a torch module."""
        if name not in TOWERS:
            raise ValueError(f"no tower {name!r}; towers are {', '.join(TOWERS)}")
        return self._dual.vision_model if name == "image" else self._dual.text_model

    def parameters(self) -> Iterable[torch.nn.Parameter]:
        return self._dual.parameters()

    def inference_modules(self) -> list[torch.nn.Module]:
        """The torch modules a forward pass runs (what int8 quantisation rewrites)."""
        return [self._dual]

    def train(self, mode: bool = True) -> RadsearchModel:
        self._dual.train(mode)
        return self

    def eval(self) -> RadsearchModel:
        return self.train(False)

    def state_dict(self) -> dict:
        return self._dual.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self._dual.load_state_dict(state)

    @property
    def logit_scale(self) -> torch.nn.Parameter:
        """The learnable log of `similarity_scale` (the contrastive loss's temperature)."""
        return self._dual.logit_scale

    @property
    def text_tower_width(self) -> int:
        return int(self._dual.config.text_config.hidden_size)

    def to(self, device: str | torch.device) -> RadsearchModel:
        self.device = torch.device(device)
        self._dual.to(self.device)
        return self

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_text_length,
                               return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}

    @property
    def pool_grid(self) -> int:
        """Cells per side the image tower's last feature map is pooled to before the projection (1 = global)."""
        return int(getattr(self._dual.vision_model.config, POOL_GRID_KEY, 1) or 1)

    def image_tower_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> the image tower's pooled features, what the projection into the shared space reads."""
        vision = self._dual.vision_model
        out = vision(pixel_values=pixel_values.to(self.device), return_dict=True)
        if self.pool_grid == 1:
            return out.pooler_output
        cells = F.adaptive_avg_pool2d(out.last_hidden_state, self.pool_grid)  # (B, C, g, g)
        return vision.layernorm(cells.permute(0, 2, 3, 1)).flatten(1)  # each cell normalised as the pooled mean is

    def text_tower_features(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts -> the text tower's pooled output, what the text projection reads."""
        return self._dual.text_model(**self.tokenize(texts)).pooler_output

    def project_image(self, features: torch.Tensor) -> torch.Tensor:
        """Image tower features -> (B, D) unit vectors."""
        return F.normalize(self._dual.visual_projection(features.to(self.device)).float(), dim=-1)

    def project_text(self, features: torch.Tensor) -> torch.Tensor:
        """Text tower features -> (B, D) unit vectors."""
        return F.normalize(self._dual.text_projection(features.to(self.device)).float(), dim=-1)

    def image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, D) unit vectors, differentiable (used by training)."""
        return self.project_image(self.image_tower_features(pixel_values))

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        """List of texts -> (B, D) unit vectors, differentiable (used by training)."""
        out = self._dual.get_text_features(**self.tokenize(texts))
        return F.normalize(out.pooler_output.float(), dim=-1)

    @torch.inference_mode()
    def patch_embeddings(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        """(1, C, H, W) -> (h, w, D): each patch token of the image tower's last layer taken through the tower's
        final normalisation, pooler and projection as if it were the whole image (MaskCLIP's reading)."""
        if self.pool_grid > 1:
            raise ModelDirError(f"token maps need a tower whose projection reads one pooled vector; this model "
                                f"pools to {self.pool_grid}x{self.pool_grid} cells: use the occlusion method")
        vision = self._dual.vision_model
        if vision.config.model_type not in TOKEN_MAP_TOWERS:
            raise ModelDirError(f"token maps are read from {', '.join(TOKEN_MAP_TOWERS)} towers, not "
                                f"{vision.config.model_type}: use the occlusion method")
        self._dual.eval()
        out = vision(pixel_values=torch.as_tensor(batch, dtype=torch.float32).to(self.device), return_dict=True)
        if vision.config.model_type == "convnext":
            features = out.last_hidden_state[0]  # (C, h, w), before the final layernorm of the pooled mean
            c, h, w = features.shape
            tokens = vision.layernorm(features.permute(1, 2, 0).reshape(h * w, c))
        else:
            tokens = out.last_hidden_state[0, 1:]  # (N, C) after the final layernorm; CLS dropped
            h = w = int(round(len(tokens) ** 0.5))
            tokens = tokens[-h * w:]  # register tokens, if any, come first
            pooler = getattr(vision, "pooler", None)
            if vision.config.model_type == "vit" and pooler is not None:
                tokens = pooler.activation(pooler.dense(tokens))
        vectors = F.normalize(self._dual.visual_projection(tokens), dim=-1)  # (h*w, D)
        return vectors.reshape(h, w, -1).float().cpu().numpy()

    def save_tower(self, name: str, directory: str | Path) -> Path:
        """Write one tower alone in the Hugging Face layout (to start another training from it)."""
        with quiet_transformers():
            self.tower(name).save_pretrained(Path(directory))
        return Path(directory)

    # -- the directory ---------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the model directory atomically (a temporary sibling, then swapped in)."""
        directory = Path(directory)
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        with quiet_transformers():
            self._dual.save_pretrained(tmp)
        self.tokenizer.save_pretrained(tmp)
        self.model_id = weights_hash(tmp)
        # what plain transformers needs to read it too (AutoProcessor, and the steps in the model card)
        (tmp / PROCESSOR_FILE).write_text(json.dumps(processor_config(self.profile), indent=2))
        (tmp / CARD_FILE).write_text(model_card(self.model_id, self.info, self.profile, self.pool_grid,
                                                self.max_text_length))
        meta = {"format_version": FORMAT_VERSION, "family": FAMILY, "profile": self.profile.to_dict(),
                "max_text_length": self.max_text_length, "model_id": self.model_id, "training": self.info}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
        replace_directory(tmp, directory)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> RadsearchModel:
        """Load a model directory written by `save_pretrained`; never touches the network."""
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise ModelDirError(
                f"{directory} is not a radsearch model directory (no {META_FILE}); "
                "train one with `radsearch train --manifest M --out DIR`"
            )
        meta = json.loads(meta_path.read_text())
        try:
            with quiet_transformers():
                dual = VisionTextDualEncoderModel.from_pretrained(directory, local_files_only=True)
                tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        except (OSError, ValueError) as e:
            raise ModelDirError(f"cannot load model from {directory}: {e}") from e
        dual.eval()
        model = cls(dual, tokenizer, PreprocessProfile.from_dict(meta["profile"]),
                    max_text_length=int(meta.get("max_text_length", 96)), model_id=meta.get("model_id", ""))
        model.info = meta.get("training", {})
        return model
