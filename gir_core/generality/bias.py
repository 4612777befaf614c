"""Where a model fails: normalised scores grouped by basic degradation (#10 §5, Figure 5)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gir_core.errors import ParameterError
from gir_core.generality.lines import TaskLine, broken_lines, few, task_mark
from gir_core.generality.summary import normalised_scores


@dataclass(frozen=True)
class DegradationBias:
    """Mean normalised score over the tasks that contain one basic degradation."""

    name: str
    n_tasks: int
    mean_score: float


def degradation_bias(
    lines: Sequence[TaskLine], psnr: Mapping[str, float], *, skip_broken: bool = False
) -> dict[str, DegradationBias]:
    """Mean normalised score over the tasks that contain each basic degradation.

    A low value shows where a model fails across tasks. A task counts once per degradation even
    when it applies it twice; tasks without ``names`` are left out. Keys follow Table C.1 order.

    Args:
        lines: One line per task (``names`` feed the grouping).
        psnr: Task id -> mean PSNR.
        skip_broken: Leave out tasks whose excellence line is not above their acceptance line
            (their score is undefined) instead of refusing. One broken line should not blank a
            whole chart; the other tasks' scores stay meaningful. Their PSNR may be given or not.

    Raises:
        ParameterError: As :func:`normalised_scores` (broken lines only without
            ``skip_broken``), or an unknown degradation name.

    Example:
        >>> lines = [TaskLine("1", 30.0, 32.0, names=("blur",)),
        ...          TaskLine("2", 20.0, 22.0, names=("blur", "noise"))]
        >>> bias = degradation_bias(lines, {"1": 32.0, "2": 20.0})
        >>> [(b.name, b.n_tasks, b.mean_score) for b in bias.values()]
        [('blur', 2, 0.5), ('noise', 1, 0.0)]
        >>> flat = [*lines, TaskLine("3", 25.0, 25.0, names=("noise",))]
        >>> bias = degradation_bias(flat, {"1": 32.0, "2": 20.0, "3": 26.0}, skip_broken=True)
        >>> [(b.name, b.n_tasks, b.mean_score) for b in bias.values()]
        [('blur', 2, 0.5), ('noise', 1, 0.0)]
    """
    from gir_core.degradations import get, names  # lazy: the registry pulls in OpenCV

    if skip_broken:
        broken = set(broken_lines(lines))
        lines = [line for line in lines if line.task_id not in broken]
        psnr = {key: value for key, value in psnr.items() if key not in broken}
        if not lines:
            return {}
    scores = normalised_scores(lines, psnr)
    per_name: dict[str, list[float]] = {}
    for line in lines:
        for name in dict.fromkeys(line.names):
            get(name)  # raises a "did you mean" ParameterError for unknown names
            per_name.setdefault(name, []).append(scores[line.task_id])
    return {
        name: DegradationBias(
            name, len(per_name[name]), math.fsum(per_name[name]) / len(per_name[name])
        )
        for name in names()
        if name in per_name
    }


@dataclass(frozen=True)
class DegradationProfile:
    """What a model does with one basic degradation, alone and in mixtures (#10 §5).

    Attributes:
        name: the degradation.
        single_score: s of its order-1 task (the median if several; None if none is scored).
        n_single: how many order-1 tasks of it were scored.
        median_score: median s over the mixtures (order ≥ 2) containing it; None if none.
        pass_rate: fraction of those mixtures whose PSNR surpasses the acceptance line.
        n_mixtures: how many mixtures containing it were scored.
        n_broken: tasks containing it left out because their lines are broken.
        mean_score: the old measure, mean s over every scored task containing it (single and
            mixtures); outliers dominate it, so show it only labelled as such.
    """

    name: str
    single_score: float | None
    n_single: int
    median_score: float | None
    pass_rate: float | None
    n_mixtures: int
    n_broken: int
    mean_score: float | None


def degradation_profile(
    lines: Sequence[TaskLine], psnr: Mapping[str, float]
) -> dict[str, DegradationProfile]:
    """Per basic degradation: its single task's s, and over the mixtures containing it the
    median s, the pass rate and the count; tasks with broken lines are left out and counted.

    Why not the mean of s over every task containing it: s divides by excellence − acceptance,
    which can be 0.05 dB, so one task can dominate a mean; and mixing single tasks with 5-step
    mixtures hides what a model does (a strong denoiser scored −0.55 on "noise" because most
    tasks containing noise are mixtures it cannot handle). A median resists the outliers and the
    single task is reported apart. A task counts once per degradation even when it applies it
    twice; tasks without ``names`` are left out. Keys follow Table C.1 order.

    Raises:
        ParameterError: a scored task without a PSNR (tasks with broken lines may lack one), or
            an unknown degradation name.

    Example:
        >>> lines = [TaskLine("1", 30.0, 32.0, names=("noise",)),
        ...          TaskLine("2", 20.0, 22.0, names=("blur", "noise")),
        ...          TaskLine("3", 20.0, 20.0, names=("noise", "blur")),
        ...          TaskLine("4", 24.0, 25.0, names=("noise", "noise"))]
        >>> noise = degradation_profile(lines, {"1": 32.0, "2": 21.0, "4": 23.0})["noise"]
        >>> noise.single_score, noise.median_score, noise.pass_rate, noise.n_mixtures
        (1.0, -0.25, 0.5, 2)
        >>> noise.n_broken, round(noise.mean_score, 4)  # the old, outlier-prone measure
        (1, 0.1667)
    """
    from gir_core.degradations import get, names  # lazy: the registry pulls in OpenCV

    broken = set(broken_lines(lines))
    scored = [line for line in lines if line.task_id not in broken and line.names]
    missing = [line.task_id for line in scored if line.task_id not in psnr]
    if missing:
        raise ParameterError(f"PSNR missing for {few(missing)}")
    single: dict[str, list[float]] = {}
    mixed: dict[str, list[tuple[float, bool]]] = {}
    left_out: Counter[str] = Counter()
    for line in lines:
        if not line.names:  # nothing to attribute (and no PSNR needed): left out, as documented
            continue
        mark = None if line.task_id in broken else task_mark(line, psnr[line.task_id])
        for name in dict.fromkeys(line.names):
            get(name)  # raises a "did you mean" ParameterError for unknown names
            if mark is None or mark.score is None or mark.passed_acceptance is None:
                left_out[name] += 1
            elif len(line.names) == 1:
                single.setdefault(name, []).append(mark.score)
            else:
                mixed.setdefault(name, []).append((mark.score, mark.passed_acceptance))
    seen = set(single) | set(mixed) | set(left_out)
    return {
        name: _profile(name, single.get(name, []), mixed.get(name, []), left_out[name])
        for name in names()
        if name in seen
    }


def _profile(
    name: str, single: list[float], mixed: list[tuple[float, bool]], n_broken: int
) -> DegradationProfile:
    scores = [score for score, _ in mixed]
    every = single + scores
    return DegradationProfile(
        name=name,
        single_score=float(np.median(single)) if single else None,
        n_single=len(single),
        median_score=float(np.median(scores)) if scores else None,
        pass_rate=sum(passed for _, passed in mixed) / len(mixed) if mixed else None,
        n_mixtures=len(mixed),
        n_broken=n_broken,
        mean_score=math.fsum(every) / len(every) if every else None,
    )
