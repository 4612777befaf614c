"""HTTP routes of the benchmarks area (thin: parse, call the service, return)."""

from fastapi import APIRouter

router = APIRouter(tags=["benchmarks"])
