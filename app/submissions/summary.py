"""A scored submission's summary: the leaderboard's numbers from its per-image values.

Pure (no session): :func:`app.submissions.lifecycle.finish_scoring` feeds it the stored rows, so
a worker's run, a resumed run and the demo's reference rows all get their summary from here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from gir_core import generality
from gir_core.errors import ParameterError

log = logging.getLogger(__name__)


def summary_values(
    lines: Sequence[generality.TaskLine],
    *,
    psnr: Mapping[str, Sequence[float]],
    ssim: Mapping[str, Sequence[float]],
    niqe: Sequence[float],
    seed: int,
) -> dict[str, Any]:
    """The leaderboard's numbers, all from :mod:`gir_core.generality` on per-image values.

    Task means use ``math.fsum`` like :class:`~gir_core.scoring.TaskResult`; the bootstrap is
    seeded by the submission id so a rescore reproduces its intervals.
    """
    means = {key: math.fsum(values) / len(values) for key, values in psnr.items()}
    ssims = {key: math.fsum(values) / len(values) for key, values in ssim.items()}
    summary = generality.summarize(lines, means, ssims)
    ci = generality.bootstrap_ci(lines, psnr, seed=seed)
    rep, hid = summary.representative, summary.hidden
    return {
        "ar": summary.ar,
        "er": summary.er,
        "mean_psnr": summary.mean_psnr,
        "mean_ssim": math.fsum(ssims.values()) / len(ssims),
        "ar_low": ci.ar.low,
        "ar_high": ci.ar.high,
        "er_low": ci.er.low,
        "er_high": ci.er.high,
        "psnr_low": ci.mean_psnr.low,
        "psnr_high": ci.mean_psnr.high,
        "ar_representative": rep.ar if rep else None,
        "ar_hidden": hid.ar if hid else None,
        "psnr_representative": rep.mean_psnr if rep else None,
        "psnr_hidden": hid.mean_psnr if hid else None,
        "mean_niqe": math.fsum(niqe) / len(niqe) if niqe else None,
        "bias": _bias(lines, means),
    }


def _bias(lines: Sequence[generality.TaskLine], means: Mapping[str, float]) -> dict[str, Any]:
    """Per-degradation profile (:func:`gir_core.generality.degradation_profile`), name ->
    {single_score, n_single, median_score, pass_rate, n_mixtures, n_broken, mean_all_tasks,
    n_tasks}; ``mean_all_tasks`` is the old mean of s over every task containing it, kept
    under a name that says what it is (pages label it as the old measure).

    Public tasks only: hidden tasks' scores are published per task (by key), so a per-degradation
    figure over them would let anyone solve for which degradations each hidden task contains.
    Tasks with a broken line (excellence not above acceptance: no score) are left out and
    counted. Empty (and logged) only when the lines cannot be scored at all (e.g. an unknown
    degradation name).
    """
    lines = [line for line in lines if line.kind != "hidden"]
    means = {line.task_id: means[line.task_id] for line in lines if line.task_id in means}
    try:
        profile = generality.degradation_profile(lines, means)
    except ParameterError as error:
        log.warning("per-degradation bias left empty: %s", error)
        return {}
    return {
        name: {
            "single_score": p.single_score,
            "n_single": p.n_single,
            "median_score": p.median_score,
            "pass_rate": p.pass_rate,
            "n_mixtures": p.n_mixtures,
            "n_broken": p.n_broken,
            "mean_all_tasks": p.mean_score,
            "n_tasks": p.n_single + p.n_mixtures,
        }
        for name, p in profile.items()
    }
