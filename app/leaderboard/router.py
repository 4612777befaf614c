"""HTTP routes of the leaderboard area (thin: parse, call the service, return)."""

from fastapi import APIRouter

router = APIRouter(tags=["leaderboard"])
