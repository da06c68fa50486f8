"""The admin desk (organisations and users)."""

from fastapi import APIRouter

router = APIRouter(prefix="/admin")
