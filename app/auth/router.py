"""HTTP routes of the auth area (thin: parse, call the service, return)."""

from fastapi import APIRouter

router = APIRouter(tags=["auth"])
