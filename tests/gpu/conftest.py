"""GPU tests: run with ``pytest -m gpu`` on a machine with a CUDA GPU (``scripts/gpu_check.sh``).

Everywhere else they are collected and skipped with a reason, so CI stays green without a GPU and
a report still shows that they exist.
"""

from __future__ import annotations

import pytest
import torch


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test here ``gpu``; skip them with a reason when torch sees no CUDA device."""
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "tests/gpu/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.gpu)
            if not torch.cuda.is_available():
                item.add_marker(skip)
