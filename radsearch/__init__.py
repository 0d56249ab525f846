"""radsearch: similar-case search over radiographs and their reports."""

__version__ = "0.2.0"

_LIBRARY = ("Library", "open_library", "create_library", "open_or_create", "index", "set_threads")
_HITS = ("Hit", "ReportHit", "GroupHit", "Evidence")


def __getattr__(name: str):
    # Lazy, so `import radsearch` (and the CLI's --help) does not pay for torch and transformers.
    if name in _LIBRARY:
        from . import library
        return getattr(library, name)
    if name in _HITS:
        from .search import hits
        return getattr(hits, name)
    raise AttributeError(f"module 'radsearch' has no attribute {name!r}")


__all__ = ["Evidence", "GroupHit", "Hit", "Library", "ReportHit", "__version__", "create_library", "index",
           "open_library", "open_or_create", "set_threads"]
