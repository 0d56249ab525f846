"""Alembic migrations of the catalog's schema; `upgrade_catalog` runs them when a catalog is opened."""

from .runner import HEAD, upgrade_catalog

__all__ = ["HEAD", "upgrade_catalog"]
