"""Storage: the SQL catalog (source of truth) and the FAISS vector indexes derived from it."""

from .catalog import Catalog, Failure, Image, Label, Report, Sentence, Series, Study
from .filters import FILTER_COLUMNS, image_filter
from .store import LibraryStore
from .vectors import VectorIndex

__all__ = ["FILTER_COLUMNS", "Catalog", "Failure", "Image", "Label", "LibraryStore", "Report", "Sentence", "Series",
           "Study", "VectorIndex", "image_filter"]
