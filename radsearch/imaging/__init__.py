"""Pixels in: DICOM, PNG, JPEG, TIFF to display-correct float pixels, and encoder preprocessing."""

from .dicom import voi_preset_names
from .preprocess import PreprocessProfile, pad_to_square, preprocess
from .radiograph import Radiograph
from .reader import IMAGE_SUFFIXES, read, read_frame, read_frames, sniff

__all__ = ["IMAGE_SUFFIXES", "PreprocessProfile", "Radiograph", "pad_to_square", "preprocess", "read", "read_frame",
           "read_frames", "sniff", "voi_preset_names"]
