"""GIR Bench core: degradations, tasks, synthesis and scoring for General Image Restoration.

This package is the science half of GIR Bench. It imports no web, database or queue code, so it can
be used on its own (``pip install`` and a notebook) to reproduce every number the service shows.
``gir_core.client`` (behind ``gir submit``) is the one part that talks to the service, and only
over its public REST API; it and this module import nothing beyond the base install (httpx,
typer), so ``import gir_core`` never loads numpy or torch.
"""

__version__ = "0.1.0"
