"""``python -m worker [celery options]``: the embedded worker in one process.

Both queues, the solo pool (one job at a time; models already run in their own sandbox
process) and the reconciler's beat — what ``make demo`` needs, with no broker server.
"""

from __future__ import annotations

import sys

from worker.celery_app import celery

EMBEDDED = ["worker", "-Q", "validate,score", "--pool=solo", "-B", "--loglevel=INFO"]

if __name__ == "__main__":
    celery.worker_main([*EMBEDDED, *sys.argv[1:]])
