"""Random-weight checkpoints in the exact layouts the field publishes its models in, made locally.

They stand in for RAD-DINO, DINOv2 (with registers), ViT, ConvNeXt, Swin, BEiT, CLIP, SigLIP, BiomedCLIP
(open_clip's layout) and a BERT-family text tower wherever the real ones cannot be downloaded: the test
suite checks radsearch's embeddings against transformers' own on tiny ones, the encoder bake-off runs on
them, and the encoder benchmark times them at the released architecture and input size. File names,
config keys and state-dict keys are those of the published checkpoints; only the weights are random.
`radsearch models standin KIND OUT [--published]` writes one.
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

import torch
from transformers import (
    BeitConfig,
    BeitImageProcessorPil,
    BeitModel,
    BertConfig,
    BertModel,
    BitImageProcessorPil,
    CLIPConfig,
    CLIPImageProcessorPil,
    CLIPModel,
    CLIPTokenizer,
    ConvNextConfig,
    ConvNextImageProcessorPil,
    ConvNextModel,
    Dinov2Config,
    Dinov2Model,
    Dinov2WithRegistersConfig,
    Dinov2WithRegistersModel,
    SiglipConfig,
    SiglipImageProcessorPil,
    SiglipModel,
    SiglipTokenizer,
    SwinConfig,
    SwinModel,
    ViTConfig,
    ViTImageProcessorPil,
    ViTModel,
)

from ..errors import ModelDirError
from .tokenizer import train_wordpiece
from .towers import quiet_transformers

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
RAD_DINO_MEAN, RAD_DINO_STD = [0.5307] * 3, [0.2583] * 3  # RAD-DINO's published normalisation
CORPUS = ["No pleural effusion.", "Left pleural effusion.", "Right apical pneumothorax.", "Cardiomegaly.",
          "Normal chest radiograph.", "Nodule in the right upper zone.", "Consolidation of the left lower lobe.",
          "No acute cardiopulmonary abnormality.", "Fracture of the distal radius.", "Normal hand radiograph."]
TINY_VISION = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
TINY_TEXT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
VIT_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}
CLIP_TEXT_BASE = {"hidden_size": 512, "num_hidden_layers": 12, "num_attention_heads": 8, "intermediate_size": 2048}
# the input size each published model was released at (RAD-DINO: 518 px; the others 224 px)
PUBLISHED_SIZE = {"rad-dino": 518, "dinov2": 224, "dinov2-registers": 224, "vit": 224, "convnext": 224,
                  "swin": 224, "beit": 224, "clip": 224, "siglip": 224, "biomedclip": 224, "bert": 224}


def _vit_like(config_class, model_class, image_size: int, published: bool, patch: int = 16, **extra):  # noqa: ANN001, ANN202
    size = VIT_BASE if published else dict(TINY_VISION, patch_size=8)
    size = dict(size, patch_size=patch) if published else size
    return model_class(config_class(image_size=image_size, num_channels=3, **size, **extra))


def _clip_tokenizer() -> CLIPTokenizer:
    """A byte-level BPE vocabulary of single characters (no merges): every text tokenises, none is unknown."""
    from tokenizers.pre_tokenizers import ByteLevel
    alphabet = sorted(ByteLevel.alphabet())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in alphabet + [f"{c}</w>" for c in alphabet]:
        vocab.setdefault(char, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[])


def _siglip_tokenizer(work: Path) -> SiglipTokenizer:
    import sentencepiece as spm
    text = work / "corpus.txt"
    text.write_text("\n".join(CORPUS * 5 + list(string.ascii_lowercase)))
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(work / "spiece"), vocab_size=64,
                                   model_type="unigram", character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2,
                                   bos_id=-1, minloglevel=2)
    return SiglipTokenizer(vocab_file=str(work / "spiece.model"))


def _save(out: Path, *parts) -> Path:  # noqa: ANN002
    out.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        for part in parts:
            part.save_pretrained(out)
    return out


def write_standin(kind: str, out: str | Path, image_size: int = 32, seed: int = 0, published: bool = False) -> Path:
    """Write a random checkpoint of `kind` (see KINDS) to `out` in its published layout: tiny (the tests'),
    or with `published` the released architecture at its released input size (for speed measurements)."""
    if kind not in KINDS:
        raise ModelDirError(f"no stand-in {kind!r}; radsearch makes {', '.join(KINDS)}")
    out = Path(out)
    torch.manual_seed(seed)
    size = PUBLISHED_SIZE[kind] if published else image_size
    if kind in ("rad-dino", "dinov2", "dinov2-registers"):
        registers = {"num_register_tokens": 4 if published else 2} if kind == "dinov2-registers" else {}
        config_class, model_class = ((Dinov2WithRegistersConfig, Dinov2WithRegistersModel) if registers
                                     else (Dinov2Config, Dinov2Model))
        model = _vit_like(config_class, model_class, 518 if published else size, published, patch=14, **registers)
        if kind == "rad-dino":  # resized and cropped to 518, RAD-DINO's own statistics
            processor = BitImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                                             image_mean=RAD_DINO_MEAN, image_std=RAD_DINO_STD)
        else:  # DINOv2's: shortest edge 256, centre crop 224, ImageNet statistics
            processor = BitImageProcessorPil(size={"shortest_edge": size + size // 7},
                                             crop_size={"height": size, "width": size},
                                             image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
        return _save(out, model, processor)
    if kind == "vit":
        model = _vit_like(ViTConfig, ViTModel, size, published)
        processor = ViTImageProcessorPil(size={"height": size, "width": size}, image_mean=[0.5] * 3,
                                         image_std=[0.5] * 3)
        return _save(out, model, processor)
    if kind == "convnext":
        shape = ({"hidden_sizes": [96, 192, 384, 768], "depths": [3, 3, 9, 3]} if published
                 else {"hidden_sizes": [16, 32], "depths": [1, 1], "num_stages": 2})
        model = ConvNextModel(ConvNextConfig(num_channels=3, **shape))
        processor = ConvNextImageProcessorPil(size={"shortest_edge": size}, crop_pct=0.875,
                                              image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
        return _save(out, model, processor)
    if kind == "swin":
        shape = ({"embed_dim": 96, "depths": [2, 2, 6, 2], "num_heads": [3, 6, 12, 24], "window_size": 7}
                 if published else {"embed_dim": 16, "depths": [1, 1], "num_heads": [2, 2], "window_size": 4})
        model = SwinModel(SwinConfig(image_size=size, patch_size=4, num_channels=3, **shape))
        processor = ViTImageProcessorPil(size={"height": size, "width": size}, image_mean=IMAGENET_MEAN,
                                         image_std=IMAGENET_STD)
        return _save(out, model, processor)
    if kind == "beit":
        model = _vit_like(BeitConfig, BeitModel, size, published, use_mean_pooling=True)
        processor = BeitImageProcessorPil(size={"height": size + 4, "width": size + 4}, do_center_crop=True,
                                          crop_size={"height": size, "width": size}, image_mean=[0.5] * 3,
                                          image_std=[0.5] * 3)
        return _save(out, model, processor)
    if kind == "clip":
        tokenizer = _clip_tokenizer()
        text = CLIP_TEXT_BASE if published else TINY_TEXT
        vision = dict(VIT_BASE, patch_size=32) if published else dict(TINY_VISION, patch_size=8)
        config = CLIPConfig(projection_dim=512 if published else 24,
                            text_config=dict(text, vocab_size=len(tokenizer), max_position_embeddings=77,
                                             bos_token_id=0, eos_token_id=1, pad_token_id=1),
                            vision_config=dict(vision, image_size=size))
        processor = CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                                          image_mean=CLIP_MEAN, image_std=CLIP_STD)
        return _save(out, CLIPModel(config), tokenizer, processor)
    if kind == "siglip":
        with tempfile.TemporaryDirectory() as work:
            tokenizer = _siglip_tokenizer(Path(work))
            text = VIT_BASE if published else TINY_TEXT
            vision = dict(VIT_BASE, patch_size=16) if published else dict(TINY_VISION, patch_size=8)
            config = SiglipConfig(text_config=dict(text, vocab_size=len(tokenizer), max_position_embeddings=64,
                                                   pad_token_id=0, eos_token_id=1, bos_token_id=1),
                                  vision_config=dict(vision, image_size=size))
            processor = SiglipImageProcessorPil(size={"height": size, "width": size},
                                                image_mean=[0.5] * 3, image_std=[0.5] * 3)
            return _save(out, SiglipModel(config), tokenizer, processor)
    if kind == "biomedclip":
        return _write_open_clip(out, size, published)
    tokenizer = train_wordpiece(CORPUS * 4, 200)  # bert
    model = BertModel(BertConfig(vocab_size=len(tokenizer), max_position_embeddings=128,
                                 **(VIT_BASE if published else TINY_TEXT)))
    return _save(out, model, tokenizer)


def _as_published(model) -> dict[str, torch.Tensor]:  # noqa: ANN001
    """A transformers model's weights under the names its checkpoints use (transformers renames some modules
    in memory; open_clip's state dicts carry the checkpoint names)."""
    from safetensors.torch import load_file
    with tempfile.TemporaryDirectory() as work, quiet_transformers():
        model.save_pretrained(work)
        return dict(load_file(str(Path(work) / "model.safetensors")))


def _write_open_clip(out: Path, size: int, published: bool) -> Path:
    """BiomedCLIP's layout: open_clip_config.json, a state dict in open_clip's names (a timm ViT-B/16 trunk with
    a linear head, a BERT text tower with an MLP projection), and the text tower's config and tokenizer."""
    from .open_clip import CONFIG_FILE, OPENAI_MEAN, OPENAI_STD, transformers_vit_to_timm
    vision = dict(VIT_BASE if published else TINY_VISION, patch_size=16 if published else 8)
    text = VIT_BASE if published else TINY_TEXT
    embed_dim = 512 if published else 24
    trunk = ViTModel(ViTConfig(image_size=size, num_channels=3, layer_norm_eps=1e-6, qkv_bias=True, **vision),
                     add_pooling_layer=False)
    tokenizer = train_wordpiece(CORPUS * 4, 200)
    bert = BertModel(BertConfig(vocab_size=len(tokenizer), max_position_embeddings=256, **text),
                     add_pooling_layer=False)
    hidden = (text["hidden_size"] + embed_dim) // 2  # open_clip's MLP projection width
    state = {f"visual.trunk.{k}": v for k, v in
             transformers_vit_to_timm(_as_published(trunk), vision["num_hidden_layers"]).items()}
    state["visual.head.proj.weight"] = torch.randn(embed_dim, vision["hidden_size"]) * 0.02
    state |= {f"text.transformer.{k}": v for k, v in _as_published(bert).items()}
    state["text.proj.0.weight"] = torch.randn(hidden, text["hidden_size"]) * 0.02
    state["text.proj.2.weight"] = torch.randn(embed_dim, hidden) * 0.02
    state["logit_scale"] = torch.tensor(4.6052)  # log(100), as BiomedCLIP ends training
    out.mkdir(parents=True, exist_ok=True)
    torch.save(state, out / "open_clip_pytorch_model.bin")
    with quiet_transformers():
        bert.config.save_pretrained(out)
        tokenizer.save_pretrained(out)
    hub = "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract"
    kwargs = {} if published else {"timm_model_kwargs": {"embed_dim": vision["hidden_size"], "depth": 2,
                                                         "num_heads": 2, "patch_size": 8, "img_size": size}}
    spec = {"model_cfg": {"embed_dim": embed_dim,
                          "vision_cfg": {"timm_model_name": "vit_base_patch16_224", "timm_model_pretrained": False,
                                         "timm_pool": "", "timm_proj": "linear", "image_size": size, **kwargs},
                          "text_cfg": {"hf_model_name": hub, "hf_tokenizer_name": hub, "hf_proj_type": "mlp",
                                       "hf_pooler_type": "cls_last_hidden_state_pooler", "context_length": 256}},
            "preprocess_cfg": {"mean": list(OPENAI_MEAN), "std": list(OPENAI_STD)}}
    (out / CONFIG_FILE).write_text(json.dumps(spec, indent=2))
    return out


KINDS = ("rad-dino", "dinov2", "dinov2-registers", "vit", "convnext", "swin", "beit", "clip", "siglip",
         "biomedclip", "bert")
