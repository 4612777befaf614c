"""Generality metrics of the GIR paper: AR, ER and what explains them (SPEC §2.2).

A model's *per-task* score is its mean PSNR over the test images of that task. Every task has an
acceptance line and an excellence line (the mean test PSNR of a small and of a strong single-task
model). The acceptance ratio AR is the fraction of tasks on which the model's PSNR *surpasses* the
acceptance line, the excellence ratio ER the same for the excellence line (paper Eq. 5-6).

Eq. 5-6 of the paper print ``>=``, but the captions of Tables C.2-C.6 say "surpass", and only the
strict ``>`` reproduces Table 4 (with ``>=`` row d would be AR 0.45, not 0.44, because task 77 ties
at two decimals). We therefore compare strictly and never round before comparing: values are used
exactly as given, so a PSNR read from "25.33" ties a line read from "25.33".

Example:
    >>> lines = [TaskLine("1", 25.0, 26.0), TaskLine("2", 30.0, 31.0)]
    >>> s = summarize(lines, {"1": 25.5, "2": 31.5})
    >>> s.ar, s.er, s.mean_psnr, s.excellent
    (1.0, 0.5, 28.5, ('2',))
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gir_core.errors import ParameterError

TaskKind = Literal["representative", "hidden"]
KINDS: tuple[TaskKind, ...] = ("representative", "hidden")


@dataclass(frozen=True)
class TaskLine:
    """The acceptance and excellence line (PSNR, dB) of one task.

    ``kind`` (None: unknown) separates public from hidden tasks, whose gap is the paper's
    generalisation signal. ``names`` (``Task.names``, empty: unknown) feed the per-degradation bias.
    """

    task_id: str
    acceptance: float
    excellence: float
    kind: TaskKind | None = None
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.task_id, str) or not self.task_id:
            raise ParameterError(f"task_id must be a non-empty string, got {self.task_id!r}")
        for field in ("acceptance", "excellence"):
            if not math.isfinite(value := getattr(self, field)):
                raise ParameterError(f"task {self.task_id}: {field} must be finite, got {value}")
        if self.kind not in (None, *KINDS):
            raise ParameterError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")


@dataclass(frozen=True)
class SplitScores:
    """AR, ER and means over one group of tasks (all, representative or hidden)."""

    n_tasks: int
    ar: float
    er: float
    mean_psnr: float
    mean_ssim: float | None


@dataclass(frozen=True)
class SplitGap:
    """Representative minus hidden: a large positive gap means the model fits the public tasks."""

    ar: float
    er: float
    mean_psnr: float
    mean_ssim: float | None


@dataclass(frozen=True)
class GeneralitySummary:
    """AR/ER and mean scores of one model, overall and per task kind.

    ``accepted`` / ``excellent``: ids (line order) of the tasks above each line, so every count can
    be checked. ``representative`` / ``hidden``: None when no line has that kind.
    """

    n_tasks: int
    ar: float
    er: float
    mean_psnr: float
    mean_ssim: float | None
    accepted: tuple[str, ...]
    excellent: tuple[str, ...]
    representative: SplitScores | None = None
    hidden: SplitScores | None = None

    @property
    def gap(self) -> SplitGap | None:
        """Representative minus hidden, when both kinds are present."""
        rep, hid = self.representative, self.hidden
        if rep is None or hid is None:
            return None
        ssim = None
        if rep.mean_ssim is not None and hid.mean_ssim is not None:
            ssim = rep.mean_ssim - hid.mean_ssim
        return SplitGap(rep.ar - hid.ar, rep.er - hid.er, rep.mean_psnr - hid.mean_psnr, ssim)


@dataclass(frozen=True)
class DegradationBias:
    """Mean normalised score over the tasks that contain one basic degradation."""

    name: str
    n_tasks: int
    mean_score: float


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval around it."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class BootstrapCI:
    """Bootstrap confidence intervals (over test images) of AR, ER and mean PSNR."""

    level: float
    n_boot: int
    n_images: int
    ar: Interval
    mean_psnr: Interval
    er: Interval


def _per_task(
    lines: Sequence[TaskLine], values: Mapping[str, float], what: str
) -> NDArray[np.float64]:
    """Values in line order, refusing missing, extra or non-finite entries by task id."""
    ids = [line.task_id for line in lines]
    if not ids:
        raise ParameterError("no task lines given; AR and ER need at least one task")
    if twice := sorted(t for t, n in Counter(ids).items() if n > 1):
        raise ParameterError(f"more than one line for {_few(twice)}")
    missing = [t for t in ids if t not in values]
    if missing:
        raise ParameterError(f"{what} missing for {_few(missing)}")
    extra = sorted(set(values) - set(ids))
    if extra:
        raise ParameterError(f"{what} given for {_few(extra)} with no line")
    out = np.array([float(values[t]) for t in ids], dtype=np.float64)
    bad = [t for t, v in zip(ids, out, strict=True) if not math.isfinite(v)]
    if bad:
        raise ParameterError(f"{what} is not a finite number for {_few(bad)}")
    return out


def _few(ids: Sequence[str], limit: int = 5) -> str:
    """Task list for a message: enough to act on, short enough to read."""
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"task{'s' if len(ids) > 1 else ''} {', '.join(ids[:limit])}{more}"


def _mean(values: NDArray[np.float64]) -> float:
    # fsum: the mean must not depend on summation order (the paper's tables are re-added by hand).
    return math.fsum(values.tolist()) / len(values)


def _scores(
    lines: Sequence[TaskLine], psnr: NDArray[np.float64], ssim: NDArray[np.float64] | None
) -> SplitScores:
    acc = np.array([line.acceptance for line in lines])
    exc = np.array([line.excellence for line in lines])
    return SplitScores(
        n_tasks=len(lines),
        ar=float(np.count_nonzero(psnr > acc)) / len(lines),
        er=float(np.count_nonzero(psnr > exc)) / len(lines),
        mean_psnr=_mean(psnr),
        mean_ssim=None if ssim is None else _mean(ssim),
    )


def _kind_masks(lines: Sequence[TaskLine]) -> dict[TaskKind, NDArray[np.bool_]]:
    """Boolean mask per kind present; all lines must carry a kind, or none."""
    unknown = [line.task_id for line in lines if line.kind is None]
    if len(unknown) == len(lines):
        return {}
    if unknown:
        raise ParameterError(f"some lines have a kind and some do not: no kind for {_few(unknown)}")
    masks = {kind: np.array([line.kind == kind for line in lines]) for kind in KINDS}
    return {kind: mask for kind, mask in masks.items() if mask.any()}


def summarize(
    lines: Sequence[TaskLine],
    psnr: Mapping[str, float],
    ssim: Mapping[str, float] | None = None,
) -> GeneralitySummary:
    """AR, ER, mean PSNR (and SSIM) of one model, overall and per task kind.

    Args:
        lines: One line per task; AR and ER are fractions of these tasks.
        psnr: Task id -> the model's mean PSNR (dB) on that task, for exactly these tasks.
        ssim: Optional task id -> mean SSIM, same tasks.

    Raises:
        ParameterError: No lines, a duplicate line, a task missing from or extra in ``psnr`` /
            ``ssim``, a non-finite value, or kinds given for only some lines.

    Example:
        >>> lines = [TaskLine("a", 20.0, 21.0, "representative"),
        ...          TaskLine("b", 20.0, 21.0, "hidden")]
        >>> s = summarize(lines, {"a": 22.0, "b": 20.0})
        >>> s.ar, s.representative.ar, s.hidden.ar, s.gap.ar
        (0.5, 1.0, 0.0, 1.0)
    """
    p = _per_task(lines, psnr, "PSNR")
    s = None if ssim is None else _per_task(lines, ssim, "SSIM")
    overall = _scores(lines, p, s)
    ids = [line.task_id for line in lines]
    splits: dict[TaskKind, SplitScores] = {}
    for kind, mask in _kind_masks(lines).items():
        sub = [line for line, m in zip(lines, mask, strict=True) if m]
        splits[kind] = _scores(sub, p[mask], None if s is None else s[mask])
    return GeneralitySummary(
        n_tasks=overall.n_tasks,
        ar=overall.ar,
        er=overall.er,
        mean_psnr=overall.mean_psnr,
        mean_ssim=overall.mean_ssim,
        accepted=tuple(t for t, v, line in zip(ids, p, lines, strict=True) if v > line.acceptance),
        excellent=tuple(t for t, v, line in zip(ids, p, lines, strict=True) if v > line.excellence),
        representative=splits.get("representative"),
        hidden=splits.get("hidden"),
    )


def normalised_scores(lines: Sequence[TaskLine], psnr: Mapping[str, float]) -> dict[str, float]:
    """Per-task score ``s_t = (psnr_t - acc_t) / (exc_t - acc_t)`` (0: acceptance, 1: excellence).

    One scale for tasks of very different difficulty, so they can be averaged.

    Raises:
        ParameterError: As :func:`summarize`, or an excellence line not above its acceptance
            line: the scale is then undefined or reversed, and such lines are broken (retrain
            them), so we refuse rather than return NaN or a misleading number.

    Example:
        >>> normalised_scores([TaskLine("1", 30.0, 32.0)], {"1": 31.5})
        {'1': 0.75}
    """
    p = _per_task(lines, psnr, "PSNR")
    if flat := broken_lines(lines):
        raise ParameterError(
            f"excellence line not above acceptance line for {_few(flat)}: s_t is undefined"
        )
    return {
        line.task_id: (value - line.acceptance) / (line.excellence - line.acceptance)
        for line, value in zip(lines, p.tolist(), strict=True)
    }


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
        raise ParameterError(f"PSNR missing for {_few(missing)}")
    single: dict[str, list[float]] = {}
    mixed: dict[str, list[tuple[float, bool]]] = {}
    left_out: Counter[str] = Counter()
    for line in lines:
        for name in dict.fromkeys(line.names):
            get(name)  # raises a "did you mean" ParameterError for unknown names
            if line.task_id in broken:
                left_out[name] += 1
                continue
            value = float(psnr[line.task_id])
            score = (value - line.acceptance) / (line.excellence - line.acceptance)
            if len(line.names) == 1:
                single.setdefault(name, []).append(score)
            else:
                mixed.setdefault(name, []).append((score, value > line.acceptance))
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


def broken_lines(lines: Sequence[TaskLine]) -> list[str]:
    """Ids of the tasks whose excellence line is not above their acceptance line, in line order.

    Such tasks have no normalised score (see :func:`normalised_scores`); callers that can do
    without them (e.g. :func:`degradation_bias` with ``skip_broken``) say which they left out.

    Example:
        >>> broken_lines([TaskLine("1", 30.0, 32.0), TaskLine("2", 25.0, 24.0)])
        ['2']
    """
    return [line.task_id for line in lines if not line.excellence > line.acceptance]


def bootstrap_ci(
    lines: Sequence[TaskLine],
    per_image_psnr: Mapping[str, ArrayLike],
    *,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
) -> BootstrapCI:
    """Percentile bootstrap intervals of AR, ER and mean PSNR, resampling test images.

    Each replicate draws image indices with replacement (the same for every task: all tasks degrade
    the same images) and recomputes the task means, then AR, ER and mean PSNR: how much the scores
    would move with another draw of as many test images.

    Args:
        lines: One line per task.
        per_image_psnr: Task id -> PSNR per test image, the same images in the same order.
        level: Confidence level in (0, 1).
        n_boot: Number of bootstrap replicates (>= 1).
        seed: Seed or numpy Generator; the same seed gives the same intervals.

    Raises:
        ParameterError: As :func:`summarize`, unequal image counts, or a bad level / n_boot.

    Example:
        >>> ci = bootstrap_ci([TaskLine("1", 30.0, 32.0)], {"1": [29.0, 31.0, 33.0]}, n_boot=200)
        >>> ci.ar.estimate, ci.mean_psnr.estimate, ci.mean_psnr.low <= 31.0 <= ci.mean_psnr.high
        (1.0, 31.0, True)
    """
    _check_bootstrap_args(level, n_boot)
    matrix = _image_matrix(lines, per_image_psnr)
    task_means = _resampled_task_means(matrix, n_boot, np.random.default_rng(seed))
    acc = np.array([line.acceptance for line in lines])
    exc = np.array([line.excellence for line in lines])
    ar_boot = np.count_nonzero(task_means > acc, axis=1) / len(lines)
    er_boot = np.count_nonzero(task_means > exc, axis=1) / len(lines)
    psnr_boot = task_means.mean(axis=1)
    ids = [line.task_id for line in lines]
    point = summarize(lines, dict(zip(ids, matrix.mean(axis=1).tolist(), strict=True)))
    return BootstrapCI(
        level=level,
        n_boot=n_boot,
        n_images=matrix.shape[1],
        ar=_interval(point.ar, ar_boot, level),
        mean_psnr=_interval(point.mean_psnr, psnr_boot, level),
        er=_interval(point.er, er_boot, level),
    )


def _check_bootstrap_args(level: float, n_boot: int) -> None:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0.0 < level < 1.0:
        raise ParameterError(f"level must be a number in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise ParameterError(f"n_boot must be an integer >= 1, got {n_boot!r}")


def _image_matrix(
    lines: Sequence[TaskLine], per_image_psnr: Mapping[str, ArrayLike]
) -> NDArray[np.float64]:
    """Tasks x images PSNR matrix in line order, refusing ragged, empty or non-finite rows."""
    _per_task(lines, dict.fromkeys(per_image_psnr, 0.0), "per-image PSNR")
    try:
        rows = [np.asarray(per_image_psnr[line.task_id], dtype=np.float64) for line in lines]
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"per-image PSNR values must be numbers ({exc})") from None
    first = rows[0]
    for line, row in zip(lines, rows, strict=True):
        if row.ndim != 1 or row.size == 0 or row.shape != first.shape:
            raise ParameterError(
                "per-image PSNR must be non-empty 1-D, one length for every task: task "
                f"{lines[0].task_id} has shape {first.shape}, task {line.task_id} {row.shape}"
            )
    matrix = np.stack(rows)
    bad = [
        line.task_id for line, row in zip(lines, matrix, strict=True) if not np.isfinite(row).all()
    ]
    if bad:
        raise ParameterError(f"per-image PSNR is not finite for {_few(bad)}")
    return matrix


def _resampled_task_means(
    matrix: NDArray[np.float64], n_boot: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Replicates x tasks mean PSNR, each replicate over image indices drawn with replacement."""
    n_images = matrix.shape[1]
    draws = rng.integers(0, n_images, size=(n_boot, n_images))
    # How often each image was drawn per replicate: the resampled means are then one product.
    offsets = (np.arange(n_boot) * n_images)[:, None]
    counts = np.bincount((draws + offsets).ravel(), minlength=n_boot * n_images)
    weights = counts.reshape(n_boot, n_images).astype(np.float64) / n_images
    means: NDArray[np.float64] = weights @ matrix.T
    return means


def _interval(estimate: float, samples: NDArray[np.float64], level: float) -> Interval:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return Interval(estimate, float(low), float(high))
