"""ASGI entry point for uvicorn: `backend.main:app`."""

from backend.app import create_app

# The served app: ready for its first request once started, its start-up heap frozen (see create_app).
app = create_app(served=True)
