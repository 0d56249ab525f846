"""The REST API: `radsearch serve` (FastAPI + uvicorn) over one library; see docs/deployment.md."""

from .app import create_app

__all__ = ["create_app"]
