"""The training loop: manifest in, model directory out; checkpoints as it goes and resumes exactly.

Recipes (`TrainSettings.recipe`, joined with "+" to combine, each weighted by `weights`):
- contrastive: symmetric image-report InfoNCE with a learnable temperature (CLIP / ConVIRT);
- ssl: image-only InfoNCE between a mild and a strong augmentation of each image (SimCLR-style),
  in the same embedding space search uses, so archives without reports still train the image tower;
- supervised: multi-label cross-entropy from manifest labels through a training-only linear head,
  masking labels an image's source does not annotate (training.data.load_training_set);
- labels: supervised contrastive on label sets (images sharing a finding, or both normal within one
  source, are positives): neighbours learn to share findings, which is what image search is judged on; with
  `label_memory`, each image also meets the embeddings of the batches before (training.loss.LabelMemory);
- anatomy: body-part classification through another training-only head, so images of one body part
  gather before findings split them.
With `ema` (a decay such as 0.99) the weights saved are an exponential moving average of the weights after
each optimizer step (torch.optim.swa_utils), not the last step's: it smooths out the noise of the last
small batches.
"auto" (the default) reads the archive's shape and picks among them (training.recipes).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from ..datasets import ManifestRecord, read_manifest
from ..errors import RadsearchError
from ..files import atomic_path
from ..imaging import PreprocessProfile
from ..models import (
    RadsearchModel,
    in_batches,
    load_preset,
    load_tokenizer,
    pretrained_profile,
    pretrained_tokenizer,
    train_wordpiece,
)
from ..models.runtime import native_bf16, precision_context
from ..threads import threads_for
from .data import TrainingSet, augment, load_training_set, ssl_augment
from .loss import (
    LabelHead,
    LabelMemory,
    anatomy_loss,
    contrastive_loss,
    label_contrastive_loss,
    matching_targets,
    multilabel_loss,
    ssl_loss,
)
from .recipes import DEFAULT_EPOCHS, choose_recipe

log = logging.getLogger(__name__)
RECIPES = ("contrastive", "ssl", "supervised", "labels", "anatomy")
DEFAULT_PRESET = "tiny"
TOWERS = ("image", "text")
PRECISIONS = ("auto", "bf16", "fp32")


@dataclass
class TrainSettings:
    """Defaults tuned for the tiny preset on 2 CPU cores; each has its reason."""

    preset: str = "auto"  # "auto": as training.recipes chooses with the recipe ("tiny" for a named recipe)
    recipe: str = "auto"  # "auto" (training.recipes.choose_recipe), one of RECIPES, or several joined by "+"
    weights: dict = field(default_factory=dict)  # objective -> weight in the summed loss; 1.0 when absent
    epochs: int = 0  # 0 = the recipe's (training.recipes: 60, or 100 where auto chose the labelled recipe)
    batch_size: int = 64  # more negatives per step help InfoNCE; 64 fits CPU memory easily
    accumulate: int = 1  # batches whose gradients add up to one optimizer step (negatives stay per batch)
    lr: float = 5e-4  # AdamW; from-scratch tiny towers tolerate a high rate with warm-up
    weight_decay: float = 0.05
    warmup_steps: int = 20  # avoids early collapse of the randomly initialised towers
    seed: int = 0
    splits: tuple[str, ...] = ("train",)  # never train on val/test patients
    threads: int = 0  # torch intra-op threads; 0 = one per core this process may use (training_threads)
    checkpoint_every: int = 0  # also checkpoint every N optimizer steps inside an epoch (0 = at epoch ends)
    init_image: str = ""  # local pretrained image tower (ViT / DINOv2 / ConvNeXt directory); "" = from scratch
    init_text: str = ""  # local pretrained BERT-family text tower with its tokenizer; "" = from scratch
    freeze: tuple[str, ...] = ()  # towers kept fixed ("image", "text"); both = projection-only alignment
    report_sections: str = "impression"  # or "findings+impression" (datasets.embedding_text says why)
    label_text: bool | None = None  # images without a report learn a sentence built from their labels;
    # None: as `auto` chooses, off for a named recipe
    cache_frozen: bool = True  # projection-only: run the fixed towers once (no augmentation), not every step
    pool_study: bool = False  # batches of whole studies; a study's views are averaged before meeting its report
    ssl_temperature: float = 0.2  # SimCLR's range is 0.1-0.5; 0.2 kept views apart best at batch 64
    label_temperature: float = 0.1  # SupCon's value (Khosla et al., 2020)
    label_memory: int | None = None  # the labels objective also compares each image with this many embeddings of
    # earlier batches (training.loss.LabelMemory; 0: the batch alone); None: as auto chooses, 0 for a named recipe
    ema: float = 0.0  # decay of a moving average of the weights saved instead of the last step's (0: off); 0.99
    # made no measurable difference on real radiographs (docs/benchmarks.md), so auto leaves it off
    image_size: int = 0  # input side in pixels; 0 = the preset's (a larger one keeps fine detail: fractures)
    contrast: str = "as_read"  # or "stretch": each image's own percentile window (imaging.stretch_contrast)
    device: str = "auto"  # "auto" = cuda when present, else cpu; or "cpu", "cuda", "cuda:1"
    precision: str = "auto"  # "auto" = training_precision's rule: bf16 autocast on a GPU that computes it, fp32 on
    # a CPU; or "bf16", "fp32" on either device


def objectives(settings: TrainSettings) -> dict[str, float]:
    """The recipe as {objective: weight}; unknown names list the known ones."""
    names = [name.strip() for name in settings.recipe.split("+") if name.strip()]
    unknown = [name for name in names + list(settings.weights) if name not in RECIPES]
    if not names or unknown:
        raise RadsearchError(f"unknown training recipe {', '.join(unknown) or repr(settings.recipe)}; "
                             f"combine {', '.join(RECIPES)} with '+'")
    bad = [tower for tower in settings.freeze if tower not in TOWERS]
    if bad:
        raise RadsearchError(f"cannot freeze {', '.join(bad)}; towers are {', '.join(TOWERS)}")
    if (settings.label_memory or 0) < 0:
        raise RadsearchError(f"the labels objective's memory holds 0 or more embeddings, not {settings.label_memory}")
    if not 0 <= settings.ema < 1:
        raise RadsearchError(f"the weights' moving average needs a decay from 0 (off) to below 1, not {settings.ema}")
    if settings.precision not in PRECISIONS:
        raise RadsearchError(f"unknown precision {settings.precision!r}; choose one of {', '.join(PRECISIONS)}")
    return {name: float(settings.weights.get(name, 1.0)) for name in names}


def train(manifest: str | Path, out: str | Path, settings: TrainSettings | None = None,
          progress: bool = True, records: list[ManifestRecord] | None = None) -> Path:
    """Train the encoders on a manifest's training split (or the given `records` of it) with the settings'
    recipe (`auto` is resolved here: training.recipes); save to `out`.

    An interrupted run resumes from `<out>.partial/` at its last checkpoint and ends with the same
    weights an uninterrupted run would have. `radsearch train` adds a model card
    (evaluation.model_card.train_with_card).
    """
    settings = settings or TrainSettings()
    out = Path(out)
    records = records if records is not None else training_records(manifest, settings)
    settings, reason = resolve_recipe(settings, records)
    if reason:
        log.info("recipe auto: %s, because %s", settings.recipe, reason)
    threads = torch.get_num_threads()
    try:
        return _train(manifest, out, settings, progress, records)
    finally:
        torch.set_num_threads(threads)  # a caller's thread count (a UI worker's, a test's) is theirs


def training_threads(settings: TrainSettings) -> int:
    """Intra-op threads for training: the settings' count, else radsearch.threads' rule for training (one per
    core this process may run on, or RADSEARCH_THREADS).

    Set on every run, never inherited: float sums split across a different number of threads round
    differently, so a count that another part of the process had changed (a load test, a UI worker)
    would change the weights hash of the same manifest, seed and preset.
    """
    return settings.threads or threads_for("train")


def _train(manifest: str | Path, out: Path, settings: TrainSettings, progress: bool,
           records: list[ManifestRecord]) -> Path:
    run = _prepare(manifest, out, settings, progress, records)
    start_epoch, start_batch, partial_losses, epoch_rng = _resume(run)
    bar = tqdm(total=run.total_steps, initial=start_epoch * run.steps_per_epoch + start_batch // settings.accumulate,
               desc="train", unit="step", disable=not progress)
    for epoch in range(start_epoch, settings.epochs):
        resuming = epoch == start_epoch
        if resuming and epoch_rng is not None:  # resuming inside this epoch: replay its shuffle
            after = run.generator.get_state()
            run.generator.set_state(epoch_rng)
            order = torch.randperm(len(run.groups), generator=run.generator)
            run.generator.set_state(after)
        else:
            epoch_rng = run.generator.get_state()
            order = torch.randperm(len(run.groups), generator=run.generator)
        started = time.time()
        losses = _run_epoch(run, epoch, order, start_batch if resuming else 0,
                            list(partial_losses) if resuming else [], epoch_rng, bar)
        _log_epoch(run, epoch, losses, time.time() - started)
        _save_checkpoint(run, epoch + 1, 0, [], run.generator.get_state())
    bar.close()
    if run.average is not None:
        run.model.load_state_dict(run.average.module[0].state_dict())
    run.model.eval()
    run.model.to("cpu").save_pretrained(out)
    shutil.copy(run.partial / "train_log.jsonl", out / "train_log.jsonl")
    shutil.rmtree(run.partial, ignore_errors=True)
    return out


@dataclass
class _Run:
    """Everything one training run holds: settings, data, model, optimiser and where it checkpoints."""

    settings: TrainSettings
    weights: dict[str, float]
    partial: Path
    device: torch.device
    data: TrainingSet
    model: RadsearchModel
    head: LabelHead | None
    anatomy: LabelHead | None
    frozen: list
    cache: TowerCache | None
    params: list
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LambdaLR
    groups: list[list[int]]  # the units an epoch shuffles: images, or whole studies
    batches: int  # per epoch
    steps_per_epoch: int
    total_steps: int
    generator: torch.Generator
    average: AveragedModel | None = None  # the moving average of the weights that is saved (settings.ema)
    memory: LabelMemory | None = None  # earlier batches' embeddings for the labels objective (label_memory)

    @property
    def checkpoint(self) -> Path:
        return self.partial / "checkpoint.pt"


def training_records(manifest: str | Path, settings: TrainSettings) -> list[ManifestRecord]:
    """The manifest rows a run trains on: its training splits (rows without a split count as train)."""
    records = [r for r in read_manifest(manifest) if r.split in settings.splits or not r.split]
    if not records:
        raise ValueError(f"no rows in {manifest} with split in {settings.splits}")
    return records


def resolve_recipe(settings: TrainSettings, records: list[ManifestRecord]) -> tuple[TrainSettings, str]:
    """Settings with every `auto` decided for these records and this machine (the recipe, its preset and
    length, the precision), and why the recipe was chosen ("" when one was named)."""
    precision = training_precision(settings.precision, training_device(settings.device)) \
        if settings.precision in PRECISIONS else settings.precision  # an unknown one is refused by name later
    if settings.recipe != "auto":
        preset = DEFAULT_PRESET if settings.preset == "auto" else settings.preset
        return replace(settings, label_text=bool(settings.label_text), preset=preset,
                       epochs=settings.epochs or DEFAULT_EPOCHS, precision=precision,
                       label_memory=settings.label_memory or 0), ""
    choice = choose_recipe(records)
    label_text = choice.label_text if settings.label_text is None else settings.label_text
    preset = choice.preset if settings.preset == "auto" else settings.preset
    memory = choice.label_memory if settings.label_memory is None else settings.label_memory
    return replace(settings, recipe=choice.recipe, label_text=label_text, preset=preset,
                   epochs=settings.epochs or choice.epochs, precision=precision, label_memory=memory), choice.reason


def _prepare(manifest: str | Path, out: Path, settings: TrainSettings, progress: bool,
             records: list[ManifestRecord] | None = None) -> _Run:
    """Load the training split, build tokenizer, towers, optimiser and schedule for a run."""
    records = records if records is not None else training_records(manifest, settings)
    weights = objectives(settings)
    device = training_device(settings.device)
    partial = out.with_name(out.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(training_threads(settings))  # train() restores the caller's count
    torch.manual_seed(settings.seed)
    preset = load_preset(settings.preset)
    if settings.image_size and not settings.init_image:
        preset = replace(preset, image_size=settings.image_size)

    profile = _profile(preset, settings)
    data = load_training_set(records, profile, reported_only=set(weights) == {"contrastive"}, progress=progress,
                             report_sections=settings.report_sections, label_text=bool(settings.label_text))
    if "contrastive" in weights and not any(data.reports):
        raise ValueError(f"the contrastive recipe needs reports (or labels, with label sentences); {manifest} has "
                         "none (use --recipe ssl)")
    if ("supervised" in weights or "labels" in weights) and not data.label_names:
        raise ValueError(f"the supervised and labels recipes need labels; {manifest} has none")
    if "anatomy" in weights and len(data.part_names or []) < 2:
        raise ValueError(f"the anatomy recipe needs at least two body parts in {manifest}'s body_part column")

    tokenizer = _tokenizer(partial, settings, data, preset.vocab_size)
    model = RadsearchModel.from_preset(preset, tokenizer, profile, init_image=settings.init_image or None,
                                       init_text=settings.init_text or None).to(device)
    model.info = {"recipe": "+".join(weights), "weights": weights, "preset": preset.name,
                  "trained_towers": [t for t in TOWERS if t not in settings.freeze
                                     and (t == "image" or "contrastive" in weights)],
                  "init_image": settings.init_image, "init_text": settings.init_text,
                  "report_sections": settings.report_sections, "label_text": settings.label_text,
                  "threads": training_threads(settings), "precision": settings.precision, "ema": settings.ema,
                  "label_memory": settings.label_memory if "labels" in weights else 0}
    frozen = model.lock(settings.freeze)  # their projections (and the temperature) still train
    cache = None
    if settings.cache_frozen and set(settings.freeze) == set(TOWERS) and "ssl" not in weights:
        cache = TowerCache.build(model, data, progress)  # projection-only: run the fixed towers once, not per step
    head = LabelHead(model.embed_dim, len(data.label_names)).to(device) if "supervised" in weights else None
    anatomy = LabelHead(model.embed_dim, len(data.part_names or [])).to(device) if "anatomy" in weights else None
    params = [p for p in model.parameters() if p.requires_grad] + [
        p for extra in (head, anatomy) if extra is not None for p in extra.parameters()]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    groups = _groups(data, settings.pool_study)
    batches = max(1, len(groups) // settings.batch_size)
    steps_per_epoch = math.ceil(batches / settings.accumulate)
    total_steps = steps_per_epoch * settings.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, settings.warmup_steps, total_steps))
    average = AveragedModel(torch.nn.ModuleList(model.inference_modules()),
                            multi_avg_fn=get_ema_multi_avg_fn(settings.ema)) if settings.ema else None
    memory = LabelMemory(settings.label_memory) if settings.label_memory and "labels" in weights else None
    if settings.label_memory and memory is None:
        log.warning("the label memory (%d) applies to the labels objective, which %s does not train; ignored",
                    settings.label_memory, settings.recipe)
    return _Run(settings, weights, partial, device, data, model, head, anatomy, frozen, cache, params, optimizer,
                schedule, groups, batches, steps_per_epoch, total_steps, torch.Generator().manual_seed(settings.seed),
                average, memory)


def _resume(run: _Run) -> tuple[int, int, list, torch.Tensor | None]:
    """(epoch, batch, losses so far, the epoch's shuffle state) from the checkpoint, or a fresh start."""
    if not run.checkpoint.is_file():
        return 0, 0, [], None
    state = torch.load(run.checkpoint, weights_only=False)
    if state["settings"] != asdict(run.settings) or state["n_images"] != len(run.data):
        log.warning("checkpoint in %s is for other settings or data; starting afresh", run.partial)
        return 0, 0, [], None
    run.model.load_state_dict(state["model"])
    if run.head is not None:
        run.head.load_state_dict(state["head"])
    if run.anatomy is not None:
        run.anatomy.load_state_dict(state["anatomy"])
    if run.average is not None:
        run.average.load_state_dict(state["average"])
    if run.memory is not None:
        run.memory.load_state_dict(state["memory"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.schedule.load_state_dict(state["schedule"])
    run.generator.set_state(state["rng"])
    torch.set_rng_state(state["torch_rng"])  # dropout draws from torch's global generator
    log.info("resuming training at epoch %d, batch %d", state["epoch"] + 1, state["batch"])
    epoch_rng = state["epoch_rng"] if state["batch"] else None  # mid-epoch: its shuffle is replayed
    return state["epoch"], state["batch"], state["losses"], epoch_rng


def _save_checkpoint(run: _Run, epoch: int, batch: int, losses: list, epoch_state: torch.Tensor) -> None:
    state = {"model": run.model.state_dict(), "head": run.head.state_dict() if run.head else None,
             "anatomy": run.anatomy.state_dict() if run.anatomy else None,
             "average": run.average.state_dict() if run.average else None,
             "memory": run.memory.state_dict() if run.memory else None,
             "optimizer": run.optimizer.state_dict(), "schedule": run.schedule.state_dict(), "epoch": epoch,
             "batch": batch, "losses": losses, "epoch_rng": epoch_state, "rng": run.generator.get_state(),
             "torch_rng": torch.get_rng_state(), "settings": asdict(run.settings), "n_images": len(run.data)}
    with atomic_path(run.checkpoint) as tmp:
        torch.save(state, tmp)


def _run_epoch(run: _Run, epoch: int, order: torch.Tensor, first: int, losses: list, epoch_rng: torch.Tensor,
               bar: tqdm) -> list[dict]:
    """Batches `first`.. of one epoch in `order`; optimizer steps every `accumulate` batches."""
    settings = run.settings
    autocast = precision_context(run.device, training_precision(settings.precision, run.device))  # bf16: autocast
    run.model.train()
    for tower in run.frozen:
        tower.eval()  # no dropout in a fixed tower
    for batch in range(first, run.batches):
        chosen = order[batch * settings.batch_size:(batch + 1) * settings.batch_size].tolist()
        idx = torch.tensor([i for g in chosen for i in run.groups[g]])
        owner = torch.tensor([n for n, g in enumerate(chosen) for _ in run.groups[g]])  # image -> unit in batch
        with autocast:
            terms = _losses(run, idx, owner if settings.pool_study else None)
            loss = sum(run.weights[name] * value for name, value in terms.items())
        (loss / settings.accumulate).backward()
        losses.append({name: value.item() for name, value in terms.items()} | {"loss": loss.item()})
        if (batch + 1) % settings.accumulate == 0 or batch + 1 == run.batches:
            torch.nn.utils.clip_grad_norm_(run.params, 1.0)
            run.optimizer.step()
            if run.average is not None:
                run.average.update_parameters(torch.nn.ModuleList(run.model.inference_modules()))
            run.optimizer.zero_grad(set_to_none=True)
            run.schedule.step()
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]['loss']:.3f}")
            step = run.schedule.last_epoch
            if settings.checkpoint_every and step % settings.checkpoint_every == 0 and batch + 1 < run.batches:
                _save_checkpoint(run, epoch, batch + 1, losses, epoch_rng)
    return losses


def _log_epoch(run: _Run, epoch: int, losses: list[dict], seconds: float) -> None:
    """One line of train_log.jsonl: the epoch's mean loss per objective and the temperature."""
    entry = {"epoch": epoch + 1, "seconds": round(seconds, 2),
             "temperature": 1 / run.model.similarity_scale}
    for name in dict.fromkeys(key for item in losses for key in item):
        values = [item[name] for item in losses if name in item]
        entry[name] = sum(values) / len(values)
    with open(run.partial / "train_log.jsonl", "a") as fh:
        fh.write(json.dumps(entry) + "\n")


def training_precision(precision: str, device: torch.device) -> str:
    """The precision `precision` trains in on `device`: "auto" is bf16 on a GPU that computes it, fp32 on a CPU.

    Not inference's rule (models.runtime.resolve_precision, bf16 wherever the CPU has native bf16): on 2 cores,
    bf16 training steps of tiny-grid4 were 1.3x faster on one CPU with AVX-512 BF16, as fast on another and
    0.86x on a third (benchmarks/training_precision.py; docs/benchmarks.md), and a run's weights depend on its
    precision, so a CPU trains in fp32 unless asked.
    """
    if precision == "auto":
        return "bf16" if device.type == "cuda" and native_bf16(device) else "fp32"
    return precision


def training_device(name: str) -> torch.device:
    """The training device: a GPU when one is present and none was named; a named GPU that is absent is refused."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise RadsearchError(f"unknown device {name!r}; use auto, cpu or cuda[:N]") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RadsearchError(f"device {name!r} asked for, but torch sees no GPU (this torch build: "
                             f"{torch.__version__}); train with --device cpu or install a CUDA build of torch")
    return device


def _groups(data: TrainingSet, by_study: bool) -> list[list[int]]:
    """Image indices per shuffling unit: one image each, or all images of a study together."""
    if not by_study:
        return [[i] for i in range(len(data))]
    studies: dict[str, list[int]] = {}
    for i, study in enumerate(data.studies):
        studies.setdefault(study or f"image-{i}", []).append(i)
    return list(studies.values())


class TowerCache:
    """Outputs of frozen towers, computed once: projection-only alignment then trains in seconds.

    Augmentations cannot be cached, so cached images are seen as they are.
    """

    def __init__(self, images: torch.Tensor, texts: torch.Tensor, rows: dict[str, int]) -> None:
        self.images, self.texts, self.rows = images, texts, rows  # (N, H_img), (T, H_txt), text -> row

    @classmethod
    @torch.no_grad()
    def build(cls, model: RadsearchModel, data: TrainingSet, progress: bool, batch: int = 64) -> TowerCache:
        model.eval()
        steps = tqdm(total=math.ceil(len(data) / batch), desc="cache image tower", disable=not progress)
        images = []
        for features in in_batches(model.image_tower_features, data.pixels, batch):
            images.append(features.cpu())
            steps.update(1)
        steps.close()
        unique = list(dict.fromkeys(text for text in data.reports if text))
        texts = [features.cpu() for features in in_batches(model.text_tower_features, unique, batch)]
        return cls(torch.cat(images), torch.cat(texts) if texts else torch.zeros(0, model.text_tower_width),
                   {text: n for n, text in enumerate(unique)})

    def image_features(self, model: RadsearchModel, idx: torch.Tensor) -> torch.Tensor:
        return model.project_image(self.images[idx])

    def text_features(self, model: RadsearchModel, texts: list[str]) -> torch.Tensor:
        rows = torch.tensor([self.rows[text] for text in texts])
        return model.project_text(self.texts[rows])


def _losses(run: _Run, idx: torch.Tensor, owner: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Each objective of the recipe on one batch; `owner` maps images to studies when pooling views."""
    model, head, data, weights, generator = run.model, run.head, run.data, run.weights, run.generator
    device, cache = run.device, run.cache
    terms: dict[str, torch.Tensor] = {}
    if cache is not None:
        images = cache.image_features(model, idx)
    else:
        images = model.image_features(augment(data.pixels[idx], generator))
    if "contrastive" in weights:
        study_images, first = images, list(range(len(idx)))
        if owner is not None:  # mean of a study's view embeddings, renormalised: (studies, D)
            units = int(owner.max()) + 1
            summed = torch.zeros(units, images.shape[1], dtype=images.dtype, device=images.device)
            study_images = F.normalize(summed.index_add(0, owner.to(images.device), images), dim=-1)
            first = [owner.tolist().index(u) for u in range(units)]  # a study's report is on each of its images
        reported = [n for n, i in enumerate(first) if data.reports[int(idx[i])]]
        if len(reported) > 1:
            texts = [data.reports[int(idx[first[n]])] for n in reported]
            text_features = cache.text_features(model, texts) if cache else model.text_features(texts)
            terms["contrastive"] = contrastive_loss(study_images[reported], text_features,
                                                    model.logit_scale, matching_targets(texts))
    if "ssl" in weights:
        strong = model.image_features(ssl_augment(data.pixels[idx], generator))
        terms["ssl"] = ssl_loss(images, strong, run.settings.ssl_temperature)
    if head is not None:
        terms["supervised"] = multilabel_loss(head(images.float()), data.labels[idx].to(device),
                                              data.known[idx].to(device))
    if "labels" in weights:
        sets, memory = data.label_sets[idx], run.memory
        earlier = (memory.vectors, memory.sets) if memory is not None else (None, None)
        terms["labels"] = label_contrastive_loss(images, sets, run.settings.label_temperature, *earlier)
        if memory is not None:
            memory.add(images, sets)
    if run.anatomy is not None:
        terms["anatomy"] = anatomy_loss(run.anatomy(images.float()), data.parts[idx].to(device))
    if not terms:  # e.g. a batch with a single reported image: keep the graph, learn nothing
        terms["contrastive"] = images.sum() * 0.0
    return terms


def _profile(preset, settings: TrainSettings) -> PreprocessProfile:  # noqa: ANN001
    """The preset's preprocessing, or the one a pretrained image tower expects (models.pretrained_profile)."""
    if not settings.init_image:
        return PreprocessProfile(size=preset.image_size, channels=preset.channels, contrast=settings.contrast)
    return pretrained_profile(settings.init_image, preset)


def _tokenizer(partial: Path, settings: TrainSettings, data: TrainingSet, vocab_size: int):  # noqa: ANN202
    """The pretrained text tower's own tokenizer, else a WordPiece vocabulary trained on the reports."""
    if settings.init_text:
        return pretrained_tokenizer(settings.init_text)
    if (partial / "tokenizer.json").is_file():
        return load_tokenizer(partial)
    corpus = [text for text in data.reports if text] or ["no report"]
    tokenizer = train_wordpiece(corpus, vocab_size)
    tokenizer.save_pretrained(partial)
    return tokenizer


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up then cosine decay to 10%."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(progress * math.pi))
