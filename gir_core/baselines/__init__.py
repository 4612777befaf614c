"""Baseline lines: the per-task acceptance and excellence networks of the GIR protocol.

For every test task the paper trains a plain 3-layer CNN (the *acceptance* line) and a deep
residual network (the *excellence* line) on that task alone; their mean test PSNRs are the lines a
general model's PSNR is compared with (AR and ER). :func:`train_line` trains one of them with a
:class:`TrainingProfile` (``paper``, ``demo`` or ``tiny``), measures it, and can export it to ONNX.

Example:
    >>> sorted(PROFILES)
    ['demo', 'paper', 'tiny']
    >>> conv_layer_count(AcceptanceNet())
    3
"""

from gir_core.baselines.data import PatchSampler, check_disjoint, image_digest
from gir_core.baselines.export import export_onnx
from gir_core.baselines.lines import (
    LineResult,
    degrade_test_images,
    evaluate,
    restore,
    train_line,
)
from gir_core.baselines.nets import (
    KINDS,
    AcceptanceNet,
    ExcellenceNet,
    LineKind,
    conv_layer_count,
    network_name,
    parameter_count,
)
from gir_core.baselines.options import TrainingOptions, options_from_env, select_device
from gir_core.baselines.producers import BatchStream, default_producers
from gir_core.baselines.profiles import PROFILES, TrainingProfile, get_profile
from gir_core.baselines.training import (
    CheckpointStore,
    LogEntry,
    TrainingRecord,
    build_net,
    fit,
)

__all__ = [
    "KINDS",
    "PROFILES",
    "AcceptanceNet",
    "BatchStream",
    "CheckpointStore",
    "ExcellenceNet",
    "LineKind",
    "LineResult",
    "LogEntry",
    "PatchSampler",
    "TrainingOptions",
    "TrainingProfile",
    "TrainingRecord",
    "build_net",
    "check_disjoint",
    "conv_layer_count",
    "default_producers",
    "degrade_test_images",
    "evaluate",
    "export_onnx",
    "fit",
    "get_profile",
    "image_digest",
    "network_name",
    "options_from_env",
    "parameter_count",
    "restore",
    "select_device",
    "train_line",
]
