"""The `radsearch` command: a thin adapter over the Python API, one module per group of verbs.

Each command opens a `radsearch.Library` (or calls a training, dataset or evaluation function), calls it,
and only turns domain errors into a one-line message and exit code 1. Heavy imports happen inside
commands so `radsearch --help` is instant.
"""

from __future__ import annotations

from . import collections, curate, data, heads, maintain, models, search, serve, train
from .root import main

for _module in (data, train, models, maintain, search, heads, curate, collections, serve):
    _module.register(main)

__all__ = ["main"]
