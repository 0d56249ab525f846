"""Dataset curation: duplicates, split leakage, outliers, label noise, a browsing map and a clean export."""

from .curator import OUTLIER_CHECKS, Curator
from .duplicates import DuplicateGroup
from .report import COLUMNS, duplicate_rows, rows_csv, write_rows

__all__ = ["COLUMNS", "OUTLIER_CHECKS", "Curator", "DuplicateGroup", "duplicate_rows", "rows_csv", "write_rows"]
