"""One file per schema change, oldest first (see ../README.md)."""
