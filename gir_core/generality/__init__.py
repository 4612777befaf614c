"""Generality metrics of the GIR paper: AR, ER and what explains them (SPEC §2.2).

A model's *per-task* score is its mean PSNR over the test images of that task. Every task has an
acceptance line and an excellence line (the mean test PSNR of a small and of a strong single-task
model). The acceptance ratio AR is the fraction of tasks on which the model's PSNR *surpasses* the
acceptance line, the excellence ratio ER the same for the excellence line (paper Eq. 5-6).

Eq. 5-6 of the paper print ``>=``, but the captions of Tables C.2-C.6 say "surpass", and only the
strict ``>`` reproduces Table 4 (with ``>=`` row d would be AR 0.45, not 0.44, because task 77 ties
at two decimals). We therefore compare strictly and never round before comparing: values are used
exactly as given, so a PSNR read from "25.33" ties a line read from "25.33".

One task's marks (passes, normalised score, or "line broken") come from :func:`task_mark` only;
the service shows what it returns. The package's parts:

- :mod:`~gir_core.generality.lines`: :class:`TaskLine`, :func:`task_mark`, :func:`broken_lines`;
- :mod:`~gir_core.generality.summary`: :func:`summarize` (AR, ER, means, per kind),
  :func:`normalised_scores`;
- :mod:`~gir_core.generality.bias`: :func:`degradation_bias`, :func:`degradation_profile`;
- :mod:`~gir_core.generality.bootstrap`: :func:`bootstrap_ci`.

Example:
    >>> lines = [TaskLine("1", 25.0, 26.0), TaskLine("2", 30.0, 31.0)]
    >>> s = summarize(lines, {"1": 25.5, "2": 31.5})
    >>> s.ar, s.er, s.mean_psnr, s.excellent
    (1.0, 0.5, 28.5, ('2',))
"""

from gir_core.generality.bias import (
    DegradationBias,
    DegradationProfile,
    degradation_bias,
    degradation_profile,
)
from gir_core.generality.bootstrap import BootstrapCI, Interval, bootstrap_ci
from gir_core.generality.lines import KINDS, TaskKind, TaskLine, TaskMark, broken_lines, task_mark
from gir_core.generality.summary import (
    GeneralitySummary,
    SplitGap,
    SplitScores,
    normalised_scores,
    summarize,
)

__all__ = [
    "KINDS",
    "BootstrapCI",
    "DegradationBias",
    "DegradationProfile",
    "GeneralitySummary",
    "Interval",
    "SplitGap",
    "SplitScores",
    "TaskKind",
    "TaskLine",
    "TaskMark",
    "bootstrap_ci",
    "broken_lines",
    "degradation_bias",
    "degradation_profile",
    "normalised_scores",
    "summarize",
    "task_mark",
]
