"""HTTP routes of the submissions area (thin: parse, call the service, return)."""

from fastapi import APIRouter

router = APIRouter(tags=["submissions"])
