"""ASGI entry point for uvicorn: `backend.main:app`."""

from backend.app import create_app

# The served app: its start-up heap is frozen out of the collector's sight (see create_app).
app = create_app(freeze_at_start=True)
