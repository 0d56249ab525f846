"""radsearch: similar-case search over radiographs and their reports."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy, so `import radsearch` (and the CLI's --help) does not pay for torch and transformers.
    if name in ("Library", "open_library", "Hit", "ReportHit"):
        from . import search
        return getattr(search, name)
    raise AttributeError(f"module 'radsearch' has no attribute {name!r}")


__all__ = ["Hit", "Library", "ReportHit", "__version__", "open_library"]
