"""Pixels in: DICOM, PNG, JPEG, TIFF to display-correct float pixels, and encoder preprocessing."""

from .dicom import FULL_RANGE, voi_preset_names
from .preprocess import PreprocessProfile, pad_to_square, preprocess
from .preview import preview_pixels, preview_png, read_png_preview
from .query import ImageInput, QueryImage, load_query
from .radiograph import Radiograph
from .reader import IMAGE_SUFFIXES, read, read_frame, read_frames, sniff

__all__ = ["FULL_RANGE", "IMAGE_SUFFIXES", "ImageInput", "PreprocessProfile", "QueryImage", "Radiograph", "load_query",
           "pad_to_square", "preprocess", "preview_pixels", "preview_png", "read", "read_frame", "read_frames",
           "read_png_preview", "sniff", "voi_preset_names"]
