"""`make demo`: GIR Bench from nothing on one machine, with no configuration.

``python -m app.demo`` migrates the embedded SQLite database (``var/gir.db``), creates a demo
administrator (random password, printed once and kept in ``var/demo-credentials.txt``, mode
0600), builds the demo benchmark — the seven package-shipped photos as ground truth, Table C.1's
ten single tasks and ten of its mixtures (:data:`~app.demo.pool.MIXTURES`), ten hidden
tasks (two per order), two tiny real-world sets from scikit-image's own photos
(:data:`~app.demo.benchmark.REAL_PHOTOS`), lines trained with the ``demo`` profile — freezes and
activates version ``demo-v2``, adds the reference rows (:mod:`app.demo.rows`), then starts the
Celery worker on the embedded filesystem broker and the API, shows the reference scoring as it
runs, prints the URLs and serves until Ctrl-C. Every step first looks for an earlier run's work,
so a second run only starts the processes. ``--no-serve`` stops after the bootstrap; ``--reset``
deletes ``var/`` first. ``gir-admin demo`` is the same command.
"""

from app.demo.cli import main, run_demo
from app.demo.run import DemoPlan, DemoState, bootstrap

__all__ = ["DemoPlan", "DemoState", "bootstrap", "main", "run_demo"]
