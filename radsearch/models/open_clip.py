"""open_clip checkpoints of a timm ViT image tower and a Hugging Face text tower (BiomedCLIP's layout),
converted at load time into transformers modules: neither timm, open_clip nor torchvision is needed.

A directory holds open_clip_config.json, the weights (open_clip_pytorch_model.bin or
open_clip_model.safetensors), and the text tower's config.json and tokenizer files. BiomedCLIP's
config names its text tower by its hub name, so offline those files go beside the weights (or
`hf_model_name` names a local folder). The conversion is checked against embeddings the real open_clip
computed (tests/models/fixtures/open_clip).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel, ViTConfig, ViTModel

from ..errors import ModelDirError
from ..files import MODEL_META_FILE, weights_hash
from ..imaging import PreprocessProfile
from .published import PublishedEncoder
from .runtime import inference, text_inference
from .tokenizer import load_tokenizer
from .towers import fresh_copy, quiet_transformers

FAMILY = "open-clip"
CONFIG_FILE = "open_clip_config.json"
WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.safetensors", "open_clip_pytorch_model.bin")
OPENAI_MEAN, OPENAI_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
TIMM_VIT_HEADS = {"tiny": 3, "small": 6, "base": 12, "medium": 8, "large": 16, "huge": 16, "giant": 16}
TIMM_LAYER_NORM_EPS = 1e-6  # timm's ViT builds its LayerNorms with this epsilon
POOLERS = ("cls_last_hidden_state_pooler", "cls_pooler", "mean_pooler", "max_pooler")


def recognise(directory: Path) -> bool:
    return (directory / CONFIG_FILE).is_file() and not (directory / MODEL_META_FILE).is_file()


def _state_dict(directory: Path) -> dict[str, torch.Tensor]:
    for name in WEIGHT_FILES:
        path = directory / name
        if not path.is_file():
            continue
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file
                return load_file(path)
            state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no pickled code
        except Exception as e:  # noqa: BLE001 - many ways a weights file can be unreadable
            raise ModelDirError(f"cannot read the weights {path}: {e}") from e
        return state.get("state_dict", state) if isinstance(state, dict) else state
    raise ModelDirError(f"{directory} has no open_clip weights ({' or '.join(WEIGHT_FILES)})")


def _take(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _vision_tower(state: dict[str, torch.Tensor], vision_cfg: dict, where: Path) -> tuple[ViTModel, torch.nn.Linear]:
    """timm's ViT trunk and open_clip's linear head, as a transformers ViTModel and a Linear."""
    name = str(vision_cfg.get("timm_model_name") or "")
    if not name.startswith("vit_"):
        raise ModelDirError(f"{where}: image tower {name or '(not timm)'} is not a timm ViT; radsearch converts "
                            "open_clip checkpoints of timm ViTs (BiomedCLIP's kind)")
    if str(vision_cfg.get("timm_pool", "")) not in ("", "token") or vision_cfg.get("timm_proj", "linear") != "linear":
        raise ModelDirError(f"{where}: timm_pool {vision_cfg.get('timm_pool')!r} / timm_proj "
                            f"{vision_cfg.get('timm_proj')!r}: radsearch reads the class token and a linear head")
    trunk = _take(state, "visual.trunk.")
    if "cls_token" not in trunk or "visual.head.proj.weight" not in state:
        raise ModelDirError(f"{where}: the weights lack visual.trunk.cls_token or visual.head.proj.weight: not an "
                            "open_clip timm ViT checkpoint")
    kwargs = dict(vision_cfg.get("timm_model_kwargs") or {})
    hidden = int(trunk["cls_token"].shape[-1])
    patch = int(trunk["patch_embed.proj.weight"].shape[-1])
    layers = len({k.split(".")[1] for k in trunk if k.startswith("blocks.")})
    heads = int(kwargs.get("num_heads") or next((n for size, n in TIMM_VIT_HEADS.items() if f"_{size}_" in name), 0))
    if not heads:
        raise ModelDirError(f"{where}: cannot tell the attention heads of {name}; give timm_model_kwargs.num_heads")
    image_size = int(vision_cfg.get("image_size", kwargs.get("img_size", 224)))
    if int(trunk["pos_embed"].shape[1]) != (image_size // patch) ** 2 + 1:
        raise ModelDirError(f"{where}: position embeddings for {trunk['pos_embed'].shape[1] - 1} patches do not "
                            f"match image_size {image_size} with {patch}-pixel patches")
    config = ViTConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                       intermediate_size=int(trunk["blocks.0.mlp.fc1.weight"].shape[0]), image_size=image_size,
                       patch_size=patch, num_channels=int(trunk["patch_embed.proj.weight"].shape[1]),
                       layer_norm_eps=TIMM_LAYER_NORM_EPS, qkv_bias="blocks.0.attn.qkv.bias" in trunk,
                       hidden_act="gelu")
    ours = timm_vit_to_transformers(trunk, layers, config.qkv_bias)
    model = _load(ViTModel, config, ours, where, "image", add_pooling_layer=False)
    weight = state["visual.head.proj.weight"]
    head = torch.nn.Linear(weight.shape[1], weight.shape[0], bias="visual.head.proj.bias" in state)
    head.load_state_dict({"weight": weight, **({"bias": state["visual.head.proj.bias"]} if head.bias is not None
                                               else {})})
    return model.eval(), head.eval()


TIMM_NAMES = {"cls_token": "embeddings.cls_token", "pos_embed": "embeddings.position_embeddings",
              "patch_embed.proj.weight": "embeddings.patch_embeddings.projection.weight",
              "patch_embed.proj.bias": "embeddings.patch_embeddings.projection.bias",
              "norm.weight": "layernorm.weight", "norm.bias": "layernorm.bias"}
TIMM_BLOCK_NAMES = {"attn.proj": "attention.output.dense", "norm1": "layernorm_before", "norm2": "layernorm_after",
                    "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}  # per block, .weight and .bias


def timm_vit_to_transformers(trunk: dict[str, torch.Tensor], layers: int, qkv_bias: bool) -> dict[str, torch.Tensor]:
    """A timm ViT trunk's state dict under transformers' ViTModel names (timm fuses q, k, v in one matrix)."""
    ours = {mine: trunk[theirs] for theirs, mine in TIMM_NAMES.items()}
    for n in range(layers):
        block, layer = f"blocks.{n}.", f"encoder.layer.{n}."
        for part in ("weight", "bias") if qkv_bias else ("weight",):
            for role, tensor in zip(("query", "key", "value"), trunk[f"{block}attn.qkv.{part}"].chunk(3)):
                ours[f"{layer}attention.attention.{role}.{part}"] = tensor.contiguous()
        for theirs, mine in TIMM_BLOCK_NAMES.items():
            for part in ("weight", "bias"):
                ours[f"{layer}{mine}.{part}"] = trunk[f"{block}{theirs}.{part}"]
    return ours


def transformers_vit_to_timm(state: dict[str, torch.Tensor], layers: int) -> dict[str, torch.Tensor]:
    """The inverse of timm_vit_to_transformers, for writing stand-ins in open_clip's layout."""
    trunk = {theirs: state[mine] for theirs, mine in TIMM_NAMES.items()}
    for n in range(layers):
        block, layer = f"blocks.{n}.", f"encoder.layer.{n}."
        for part in ("weight", "bias"):
            trunk[f"{block}attn.qkv.{part}"] = torch.cat([state[f"{layer}attention.attention.{role}.{part}"]
                                                          for role in ("query", "key", "value")])
        for theirs, mine in TIMM_BLOCK_NAMES.items():
            for part in ("weight", "bias"):
                trunk[f"{block}{theirs}.{part}"] = state[f"{layer}{mine}.{part}"]
    return trunk


def _load(model_class, config, state: dict[str, torch.Tensor], where: Path, tower: str,  # noqa: ANN001
          **kwargs) -> torch.nn.Module:
    """A transformers model of `config` with `state`, named as published checkpoints name their weights
    (transformers maps those names onto its modules, whichever version renamed them)."""
    with quiet_transformers():
        model, info = model_class.from_pretrained(None, config=config, state_dict=state, output_loading_info=True,
                                                  **kwargs)
    missing = [k for k in info.get("missing_keys", []) if not k.endswith("position_ids")]
    unexpected = [k for k in info.get("unexpected_keys", []) if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ModelDirError(f"{where}: the {tower} weights do not fit their architecture (missing {missing[:3]}, "
                            f"unexpected {unexpected[:3]})")
    return model.eval()


def _text_folder(directory: Path, text_cfg: dict) -> Path:
    """Where the text tower's config and tokenizer are: beside the weights, or a local hf_model_name."""
    named = text_cfg.get("hf_model_name")
    for candidate in ([Path(named), directory / named] if named else []):
        if candidate.is_dir() and (candidate / "config.json").is_file():
            return candidate
    if (directory / "config.json").is_file():
        return directory
    raise ModelDirError(f"{directory}: the text tower's config.json and tokenizer are missing. open_clip fetches "
                        f"them from {named or 'its hub name'}; offline, put that model's config.json and tokenizer "
                        "files beside open_clip_config.json (or set hf_model_name to a local folder)")


def _text_projection(state: dict[str, torch.Tensor], kind: str, where: Path) -> torch.nn.Module:
    if kind == "mlp":
        first, second = state.get("text.proj.0.weight"), state.get("text.proj.2.weight")
        if first is None or second is None:
            raise ModelDirError(f"{where}: proj 'mlp' but the weights lack text.proj.0.weight / text.proj.2.weight")
        proj = torch.nn.Sequential(torch.nn.Linear(first.shape[1], first.shape[0], bias=False), torch.nn.GELU(),
                                   torch.nn.Linear(second.shape[1], second.shape[0], bias=False))
        proj.load_state_dict({"0.weight": first, "2.weight": second})
        return proj.eval()
    if kind == "linear":
        weight = state.get("text.proj.weight")
        if weight is None:
            raise ModelDirError(f"{where}: proj 'linear' but the weights lack text.proj.weight")
        proj = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        proj.load_state_dict({"weight": weight})
        return proj.eval()
    if kind in ("", "none", None):
        return torch.nn.Identity()
    raise ModelDirError(f"{where}: text projection {kind!r} is not one radsearch converts (mlp, linear)")


def clean_text(text: str) -> str:
    """open_clip's 'whitespace' cleaning of a text before tokenising (without ftfy's mojibake repair)."""
    return " ".join(html.unescape(html.unescape(text)).split()).strip()


class OpenClipEncoder(PublishedEncoder):
    """An `Encoder` over an open_clip checkpoint of the BiomedCLIP kind."""

    def __init__(self, vision: ViTModel, head: torch.nn.Module, text: torch.nn.Module, projection: torch.nn.Module,
                 tokenizer, pooler: str, context_length: int, logit_scale: float,  # noqa: ANN001
                 profile: PreprocessProfile, model_id: str, directory: Path) -> None:
        self.vision, self.head, self.text, self.projection = vision, head, text, projection
        self.tokenizer, self.pooler, self.context_length = tokenizer, pooler, context_length
        self._logit_scale = logit_scale
        self.profile, self.model_id, self.directory = profile, model_id, directory
        self.device = torch.device("cpu")
        self.info = {"family": FAMILY, "image_tower": "timm ViT", "text_tower": text.config.model_type}

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> OpenClipEncoder:
        directory = Path(directory)
        try:
            spec = json.loads((directory / CONFIG_FILE).read_text())
        except (OSError, ValueError) as e:
            raise ModelDirError(f"cannot read {directory / CONFIG_FILE}: {e}") from e
        model_cfg = spec.get("model_cfg", spec)
        vision_cfg, text_cfg = model_cfg.get("vision_cfg", {}), model_cfg.get("text_cfg", {})
        state = _state_dict(directory)
        vision, head = _vision_tower(state, vision_cfg, directory)
        text_dir = _text_folder(directory, text_cfg)
        pooler = text_cfg.get("hf_pooler_type", text_cfg.get("pooler_type", "mean_pooler"))
        if pooler not in POOLERS:
            raise ModelDirError(f"{directory}: text pooler {pooler!r} is not one radsearch reads "
                                f"({', '.join(POOLERS)})")
        try:
            with quiet_transformers():
                config = AutoConfig.from_pretrained(text_dir, local_files_only=True)
                extra = {"add_pooling_layer": pooler == "cls_pooler"} if config.model_type in (
                    "bert", "roberta", "xlm-roberta") else {}
                model_class = type(AutoModel.from_config(config, **extra))
        except (OSError, ValueError, KeyError) as e:
            raise ModelDirError(f"{text_dir}: cannot build the text tower: {e}") from e
        tokenizer = load_tokenizer(text_dir)
        tower = {k: v for k, v in _take(state, "text.transformer.").items() if not k.endswith("position_ids")}
        text = _load(model_class, config, tower, directory, "text", **extra)
        projection = _text_projection(state, text_cfg.get("hf_proj_type", text_cfg.get("proj", "mlp")), directory)
        preprocess_cfg = spec.get("preprocess_cfg", {})
        if preprocess_cfg.get("resize_mode", "shortest") != "shortest":
            raise ModelDirError(f"{directory}: resize_mode {preprocess_cfg['resize_mode']!r}; radsearch reproduces "
                                "open_clip's 'shortest' (resize the shortest side, centre crop)")
        size = int(vision_cfg.get("image_size", 224))
        profile = PreprocessProfile(size=size, channels=3, mean=tuple(preprocess_cfg.get("mean", OPENAI_MEAN)),
                                    std=tuple(preprocess_cfg.get("std", OPENAI_STD)), fit="shortest_edge",
                                    resize=size, crop=True, resample=preprocess_cfg.get("interpolation", "bicubic"),
                                    crop_offset="round")
        logit_scale = float(state["logit_scale"].exp()) if "logit_scale" in state else 1.0
        context = int(text_cfg.get("context_length", 77))
        return cls(vision, head, text.eval(), projection, tokenizer, pooler, context, logit_scale, profile,
                   weights_hash(directory), directory)

    def with_fresh_weights(self, seed: int = 0) -> OpenClipEncoder:
        """The same architecture, tokenizer and preprocessing with untrained weights (the random-init baseline)."""
        vision, head, text, projection = (fresh_copy(m, seed + n) for n, m in
                                          enumerate((self.vision, self.head, self.text, self.projection)))
        return OpenClipEncoder(vision, head, text, projection, self.tokenizer, self.pooler, self.context_length,
                               self._logit_scale, self.profile, self.model_id, self.directory)

    @property
    def embed_dim(self) -> int:
        return int(self.head.out_features)

    @property
    def towers(self) -> frozenset[str]:
        return frozenset({"image", "text"})

    @property
    def similarity_scale(self) -> float:
        return self._logit_scale

    @property
    def report_sections(self) -> str:
        return "impression"

    @inference
    def encode_image(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        pixels = torch.as_tensor(batch, dtype=torch.float32).to(self.device)
        cls_token = self.vision(pixel_values=pixels, return_dict=True).last_hidden_state[:, 0]
        return F.normalize(self.head(cls_token).float(), dim=-1).cpu().numpy()

    @text_inference
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        tokens = self.tokenizer([clean_text(t) for t in texts], padding=True, truncation=True,
                                max_length=self.context_length, return_tensors="pt")
        ids = tokens["input_ids"].to(self.device)
        mask = (ids != self.tokenizer.pad_token_id).long()  # as open_clip derives it
        out = self.text(input_ids=ids, attention_mask=mask, return_dict=True)
        if self.pooler == "cls_pooler":
            pooled = out.pooler_output
        elif self.pooler == "mean_pooler":
            pooled = (out.last_hidden_state * mask.unsqueeze(-1)).sum(1) / mask.sum(-1, keepdim=True)
        elif self.pooler == "max_pooler":
            pooled = out.last_hidden_state.masked_fill(~mask.bool().unsqueeze(-1), -torch.inf).max(1).values
        else:
            pooled = out.last_hidden_state[:, 0]
        return F.normalize(self.projection(pooled).float(), dim=-1).cpu().numpy()

    def modules(self) -> list[torch.nn.Module]:
        return [self.vision, self.head, self.text, self.projection]

    def tower_modules(self) -> dict[str, list[torch.nn.Module]]:
        return {"image": [self.vision, self.head], "text": [self.text, self.projection]}
