"""`--recipe auto`: read the shape of an archive from its manifest and choose the objectives measured best for
that shape (benchmarks/real_quality.py on real radiographs, benchmarks/training.py on the synthetic demo;
docs/training.md has the figures).

The rule, in the order it is checked:
- most training images have a report: image-report contrastive, as CLIP and ConVIRT train;
- labels but few reports: supervised multi-label, supervised contrastive on the label sets ("labels") and
  body part ("anatomy"), with contrastive on sentences built from the labels so text search works on the
  archive;
- neither: image-only self-supervision plus body part where the manifest gives several.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..datasets import ManifestRecord

REPORTED_SHARE = 0.5  # at or above this share of reported images, reports carry the training
LABELLED_SHARE = 0.2  # a labelled share from which the labels are worth learning
MIN_PARTS = 2  # a body-part objective needs at least two parts to tell apart
DEFAULT_EPOCHS = 60  # 40 gave p@10 0.78, 60 gave 0.83 on the demo archive (docs/benchmarks.md)
LABELLED_EPOCHS = 100  # on real labelled radiographs 120 epochs gave image precision@10 0.639 against 0.619 for 60
# (bf16, the same split; docs/benchmarks.md), but 120 take 34 minutes for 2,000 images on 2 cores of the slowest
# CPU seen (fp32, as CPUs train); 100 keep the run with its model card inside the 30-minute budget there (28 minutes)
LABEL_MEMORY = 256  # the labels objective also compares each image with the 256 embeddings of the 4 batches before:
# over seeds 0-2 on real labelled radiographs, image precision@10 0.650 on val and 0.647 on test against 0.639 and
# 0.639 with the batch alone (measured on another CPU; docs/benchmarks.md)
LABELLED_PRESET = "tiny-grid4"  # on real labelled radiographs, the last feature map kept as a 4x4 grid beat the
# global mean by 0.044 image precision@10 and a 2x2 grid by 0.009 (0.595, 0.551, 0.586 at 30 epochs;
# docs/benchmarks.md, real radiographs): where things lie in the film is much of what a radiograph shows


@dataclass(frozen=True)
class ArchiveShape:
    """What the choice looks at: how many images, and which share carry reports, labels and body parts."""

    images: int
    reported: float
    labelled: float  # images with a label, or with none from a source that annotates labels (a known normal)
    body_parts: int
    with_body_part: float

    @classmethod
    def of(cls, records: Sequence[ManifestRecord]) -> ArchiveShape:
        from ..datasets.label_text import label_vocabularies
        from ..datasets.manifest import source_of
        n = max(1, len(records))
        vocabularies = label_vocabularies(records)
        labelled = sum(1 for r in records if r.labels or vocabularies.get(source_of(r)))
        parts = {r.body_part for r in records if r.body_part}
        return cls(images=len(records), reported=sum(1 for r in records if r.report) / n, labelled=labelled / n,
                   body_parts=len(parts), with_body_part=sum(1 for r in records if r.body_part) / n)

    def describe(self) -> str:
        return (f"{self.images} training images: {self.reported:.0%} with a report, {self.labelled:.0%} labelled, "
                f"{self.body_parts} body part(s)")


@dataclass(frozen=True)
class RecipeChoice:
    recipe: str  # objectives joined by "+"
    label_text: bool  # images without a report learn a sentence built from their labels
    reason: str
    preset: str = "tiny"  # the architecture (models/presets) measured best with this recipe
    epochs: int = DEFAULT_EPOCHS  # passes over the training split measured best with it
    label_memory: int = 0  # earlier embeddings the labels objective compares with (training.loss.LabelMemory)


def choose_recipe(records: Sequence[ManifestRecord]) -> RecipeChoice:
    """The recipe for an archive of this shape, with the reason in words."""
    shape = ArchiveShape.of(records)
    anatomy = shape.body_parts >= MIN_PARTS and shape.with_body_part >= LABELLED_SHARE
    if shape.reported >= REPORTED_SHARE:
        return RecipeChoice("contrastive", False,
                            f"{shape.describe()}; most images have a report, so image-report contrastive learning "
                            "carries the training")
    if shape.labelled >= LABELLED_SHARE:
        objectives = ["supervised"] + (["anatomy"] if anatomy else []) + ["contrastive", "labels"]
        return RecipeChoice("+".join(objectives), True,
                            f"{shape.describe()}; few reports but labels, so the labels"
                            + (" and body parts" if anatomy else "") + " shape the image embedding (images that "
                            "share a finding are pulled together, also with the images of the batches before), "
                            "sentences built from the labels give it a text side, and the image keeps where things "
                            f"lie ({LABELLED_PRESET}, {LABELLED_EPOCHS} epochs)", LABELLED_PRESET, LABELLED_EPOCHS,
                            LABEL_MEMORY)
    if shape.reported > 0:
        return RecipeChoice("contrastive+ssl" + ("+anatomy" if anatomy else ""), False,
                            f"{shape.describe()}; few reports and no labels, so self-supervision on every image "
                            "joins the reports")
    return RecipeChoice("ssl" + ("+anatomy" if anatomy else ""), False,
                        f"{shape.describe()}; no reports or labels, so image-only self-supervision"
                        + (" with the body parts" if anatomy else ""))
