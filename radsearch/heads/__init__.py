"""Task heads on the library's embeddings: probes, zero-shot prompts and localisation maps."""

from .calibration import Calibration, OperatingPoint, Rule
from .head import Head, HeadMismatch, HeadNotFound, HeadPrediction, TargetPrediction
from .localise import Explanation, explain
from .probe import NotEnoughExamples, fit_probe
from .registry import HeadRegistry
from .zeroshot import default_prompts, zero_shot_head

__all__ = ["Calibration", "Explanation", "Head", "HeadMismatch", "HeadNotFound", "HeadPrediction", "HeadRegistry",
           "NotEnoughExamples", "OperatingPoint", "Rule", "TargetPrediction", "default_prompts", "explain",
           "fit_probe", "zero_shot_head"]
