"""GIR Bench Celery worker: the jobs of :mod:`worker.jobs`, over :mod:`app` and :mod:`gir_core`."""
