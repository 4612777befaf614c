"""GIR Bench Celery worker: thin task wrappers over :mod:`app` services and :mod:`gir_core`."""
