"""Page routes. The web issue fills this in; the API works without it."""

from fastapi import FastAPI


def install_web(app: FastAPI) -> None:
    """Mount the pages, static files and the HTML error renderer on the app."""
