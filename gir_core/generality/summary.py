"""AR, ER, mean PSNR/SSIM and the normalised score of one model (paper Eq. 5-6, SPEC §2.2)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ParameterError
from gir_core.generality.lines import KINDS, TaskKind, TaskLine, few, per_task, task_mark


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
        raise ParameterError(f"some lines have a kind and some do not: no kind for {few(unknown)}")
    masks = {kind: np.array([line.kind == kind for line in lines]) for kind in KINDS}
    return {kind: mask for kind, mask in masks.items() if mask.any()}


def summarize(
    lines: Sequence[TaskLine],
    psnr: Mapping[str, float],
    ssim: Mapping[str, float] | None = None,
) -> GeneralitySummary:
    """AR, ER, mean PSNR (and SSIM) of one model, overall and per task kind.

    AR and ER compare every task's PSNR with its lines as Eq. 5-6 do, broken lines included (the
    paper's lines are never broken; a version frozen with them says so on the leaderboard).
    A single task's marks, which leave broken lines unmarked, come from :func:`task_mark`.

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
    p = per_task(lines, psnr, "PSNR")
    s = None if ssim is None else per_task(lines, ssim, "SSIM")
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
    p = per_task(lines, psnr, "PSNR")
    marks = [task_mark(line, value) for line, value in zip(lines, p.tolist(), strict=True)]
    if flat := [mark.task_id for mark in marks if mark.broken]:
        raise ParameterError(
            f"excellence line not above acceptance line for {few(flat)}: s_t is undefined"
        )
    return {mark.task_id: mark.score for mark in marks if mark.score is not None}
