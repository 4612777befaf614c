"""Which optional parts of the distribution are installed (see pyproject's extras).

The base install is only the client of the service; the science commands need ``[core]``.
"""

from __future__ import annotations

CORE_EXTRA = "pip install 'gir-bench[core]'"


def core_missing(error: ModuleNotFoundError) -> bool:
    """Whether ``error`` is a missing third-party module (the ``[core]`` extra), not our own
    code: a broken install of ours must still crash loudly."""
    return error.name is not None and not error.name.startswith("gir_core")
