"""GIR Bench core: degradations, tasks, synthesis and scoring for General Image Restoration.

This package is the science half of GIR Bench. It imports no web, database or queue code, so it can
be used on its own (``pip install`` and a notebook) to reproduce every number the service shows.
"""

__version__ = "0.1.0"
