"""The client of GIR Bench's public REST API, for ``gir submit/status/results/leaderboard``.

It needs only the base install (httpx, typer): nothing here imports numpy, torch or the server
stack, so a CI job that submits a model installs a few megabytes (``pip install gir-bench``).
It reads responses as plain JSON and takes every field it does not strictly need as optional,
so a server that adds fields, or publishes some values coarser or not at all, does not break it.
"""
