"""Representative-task selection by spectral clustering (paper appendix A.2).

The paper could not test every composition of degradations, and a hand-picked few would favour
whoever picked them. Instead, for each order k it samples many candidate tasks with a random
sequence and fixed (representative) strengths, degrades sample images with each, measures how alike
the degraded images look by colour-histogram similarity, clusters the candidates spectrally
(Ng, Jordan & Weiss 2001; von Luxburg 2007) and keeps one task per cluster centre. Tasks that look
alike land in one cluster, so the kept tasks are far apart and cover the degradation space.

This module is an operator tool: the published representative set is fixed by Table C.1, but an
operator can rerun the procedure on their own images.

Example:
    >>> import numpy as np
    >>> from gir_core.selection import select_representative
    >>> rng = np.random.default_rng(0)
    >>> images = [rng.uniform(size=(32, 32, 3)).astype(np.float32) for _ in range(2)]
    >>> result = select_representative(images, order=2, n_clusters=3, n_candidates=12)
    >>> len(result.tasks), sum(result.cluster_sizes) == len(result.candidates)
    (3, True)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.distance import cdist

from gir_core.errors import ParameterError
from gir_core.images import check_image
from gir_core.tasks import MAX_ORDER, Task, sample_task

__all__ = [
    "SelectionResult",
    "cluster_centres",
    "cluster_similarity",
    "histogram_features",
    "select_representative",
    "similarity_matrix",
]

# When distinct tasks are wanted, low orders have few of them (order 1 has ten); stop sampling after
# this many draws per wanted candidate rather than loop forever, and cluster what was found.
DRAWS_PER_CANDIDATE = 10


@dataclass(frozen=True, eq=False)
class SelectionResult:
    """What :func:`select_representative` found.

    Cluster ``c`` is the ``c``-th largest (ties by the canonical text of its centre), so
    ``tasks[c]``, ``centre_indices[c]`` and ``cluster_sizes[c]`` all describe the candidates with
    ``labels == c``.

    Attributes:
        tasks: One representative task per cluster: the cluster centre, in cluster order.
        labels: Cluster index (0..n_clusters-1) of each candidate, shape (n_candidates,).
        similarity: Candidate-by-candidate similarity in [0, 1], symmetric, ones on the diagonal.
        candidates: The clustered candidate tasks, in sampling order (rows of ``similarity``).
        cluster_sizes: Number of candidates in each cluster, non-increasing.
        centre_indices: Index into ``candidates`` of each cluster's centre.
    """

    tasks: list[Task]
    labels: NDArray[np.int64]
    similarity: NDArray[np.float64]
    candidates: list[Task]
    cluster_sizes: tuple[int, ...]
    centre_indices: tuple[int, ...]


def histogram_features(image: NDArray[np.float32], bins: int = 16) -> NDArray[np.float64]:
    """Per-channel colour histograms of an image, each normalised to sum 1.

    Normalising makes images of different sizes comparable; keeping the channels apart keeps colour
    casts (haze's grey-white veil, rain's bright streaks) visible to the similarity.

    Args:
        image: Float32 H×W×3 image in [0, 1].
        bins: Number of equal-width bins over [0, 1] per channel (2..256).

    Returns:
        Array of shape (3, bins); row ``c`` is the histogram of channel ``c``.

    Raises:
        ImageError: If ``image`` is not a float32 H×W×3 array in [0, 1].
        ParameterError: If ``bins`` is out of range.

    Example:
        >>> import numpy as np
        >>> histogram_features(np.zeros((4, 4, 3), np.float32), bins=4)[0].tolist()
        [1.0, 0.0, 0.0, 0.0]
    """
    _check_int("bins", bins, 2, 256)
    check_image(image)
    pixels = image.reshape(-1, 3)
    # Value 1.0 would fall one past the last bin; it belongs in the last one.
    index = np.minimum((pixels * bins).astype(np.int64), bins - 1)
    index += np.arange(3, dtype=np.int64) * bins
    counts = np.bincount(index.ravel(), minlength=3 * bins).reshape(3, bins)
    return counts.astype(np.float64) / pixels.shape[0]


def similarity_matrix(features: NDArray[np.floating]) -> NDArray[np.float64]:
    """Pairwise histogram-intersection similarity, averaged over each candidate's histograms.

    For normalised histograms p and q, the intersection Σ min(p, q) is 1 for identical histograms,
    0 for disjoint ones, and equals 1 − TV(p, q) (total-variation distance), so it is linear in how
    much mass must move. We prefer it to the Bhattacharyya coefficient Σ √(p q), whose square root
    inflates the overlap of thin tails: two images that share only a few noisy pixels would look
    alike. It is computed as 1 − ‖p − q‖₁ / 2 through one C-level pairwise L1 distance, which avoids
    an N×N×D temporary.

    Args:
        features: Shape (N, H, bins): N candidates, each with H normalised histograms (for example
            3 channels × the number of images). Shape (N, bins) means one histogram each.

    Returns:
        (N, N) float64 matrix in [0, 1]: the mean over the H histograms of the intersection;
        exactly symmetric with ones on the diagonal.

    Raises:
        ParameterError: If the shape is wrong, or a histogram is negative or does not sum to 1.

    Example:
        >>> import numpy as np
        >>> similarity_matrix(np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])).round(2).tolist()
        [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    hists = _check_features(features)
    n, n_hists, _ = hists.shape
    l1 = cdist(hists.reshape(n, -1), hists.reshape(n, -1), metric="cityblock")
    # cdist's |a - b| sums are already exactly symmetric; averaging guards rounding anyway.
    raw = 1.0 - (l1 + l1.T) / (4.0 * n_hists)
    similarity: NDArray[np.float64] = np.clip(raw, 0.0, 1.0)
    np.fill_diagonal(similarity, 1.0)
    return similarity


def cluster_similarity(
    similarity: NDArray[np.floating], n_clusters: int, *, seed: int = 0
) -> NDArray[np.int64]:
    """Spectral clustering of a precomputed similarity matrix into ``n_clusters`` groups.

    Uses scikit-learn's normalised-Laplacian embedding (Ng-Jordan-Weiss) with QR-based label
    assignment (``cluster_qr``): unlike k-means it has no random restarts, so the labels depend on
    the matrix and ``seed`` (which only seeds the eigensolver's start vector) and nothing else.
    The trivial cases (one cluster, or one cluster per item) skip the eigensolver.

    Args:
        similarity: (N, N) symmetric non-negative affinity matrix.
        n_clusters: Number of clusters, 1..N.
        seed: Seed of the eigensolver's start vector.

    Returns:
        Label per item, shape (N,), values 0..n_clusters-1 as scikit-learn numbers them.

    Raises:
        ParameterError: If the matrix is not square, symmetric and non-negative, ``n_clusters`` is
            out of range, or the clustering leaves a cluster empty.

    Example:
        >>> import numpy as np
        >>> s = np.kron(np.eye(2), np.ones((2, 2))) * 0.9 + 0.05
        >>> labels = cluster_similarity(s, 2)
        >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
        True
    """
    matrix = _check_similarity(similarity)
    n = matrix.shape[0]
    _check_int("n_clusters", n_clusters, 1, n)
    if n_clusters == 1:
        return np.zeros(n, dtype=np.int64)
    if n_clusters == n:
        return np.arange(n, dtype=np.int64)
    from sklearn.cluster import SpectralClustering  # lazy: sklearn is slow to import

    model = SpectralClustering(
        n_clusters=n_clusters,
        affinity="precomputed",
        assign_labels="cluster_qr",
        random_state=seed,
    )
    with warnings.catch_warnings():
        # A disconnected graph (fully dissimilar groups) is a fine input here: its components
        # are exactly the clusters we want.
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        labels = np.asarray(model.fit_predict(matrix), dtype=np.int64)
    found = len(np.unique(labels))
    if found < n_clusters:
        raise ParameterError(
            f"spectral clustering found only {found} non-empty clusters of the {n_clusters} "
            "requested; the candidates look too alike: lower n_clusters or raise n_candidates"
        )
    return labels


def cluster_centres(similarity: NDArray[np.floating], labels: NDArray[np.integer]) -> list[int]:
    """Index of each cluster's centre: the member most similar, on average, to its cluster-mates.

    This is the medoid in similarity terms. We use it rather than the member nearest the cluster's
    mean in the spectral embedding because it is a real candidate measured in the same histogram
    space an operator reasons about, it does not depend on the embedding's arbitrary scaling, and
    it is defined without k-means centroids (``cluster_qr`` has none). For compact clusters the
    two agree. Ties go to the lowest index, so the choice is deterministic.

    Args:
        similarity: (N, N) similarity matrix.
        labels: Cluster label of each item, shape (N,).

    Returns:
        Centre index for each label value, in increasing label order.

    Example:
        >>> import numpy as np
        >>> s = np.array([[1, .9, .5], [.9, 1, .8], [.5, .8, 1]])
        >>> cluster_centres(s, np.array([0, 0, 0]))
        [1]
    """
    matrix = _check_similarity(similarity)
    labels = np.asarray(labels)
    if labels.shape != (matrix.shape[0],):
        raise ParameterError(f"labels must have shape ({matrix.shape[0]},), got {labels.shape}")
    centres = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        block = matrix[np.ix_(members, members)]
        # The diagonal adds the same 1 to every member's row, so plain row sums rank like means.
        centres.append(int(members[int(np.argmax(block.sum(axis=1)))]))
    return centres


def select_representative(
    images: Sequence[NDArray[np.float32]],
    *,
    order: int,
    n_clusters: int = 10,
    n_candidates: int = 200,
    seed: int = 0,
    bins: int = 16,
    distinct: bool = True,
) -> SelectionResult:
    """Select representative tasks of one order, as in the paper's appendix A.2.

    Candidate ``i`` is ``sample_task([seed, order, i], order=order, strengths="representative")``
    (random sequence, fixed strengths). With ``distinct`` the candidates are de-duplicated by
    canonical text, drawing until ``n_candidates`` distinct ones are found or
    ``DRAWS_PER_CANDIDATE × n_candidates`` draws were made (low orders have few distinct tasks).
    Each candidate degrades every image (``task.apply(image, seed, image_index=j)``); its feature
    is the per-channel histograms of all its degraded images, and two candidates' similarity is the
    mean histogram intersection (see :func:`similarity_matrix`). The candidates are clustered with
    :func:`cluster_similarity` and each cluster contributes its :func:`cluster_centres` member.

    Args:
        images: Clean float32 H×W×3 images in [0, 1], H and W multiples of 4.
        order: Number of degradation steps per task, 1..5.
        n_clusters: Number of tasks to select.
        n_candidates: Number of candidate tasks to cluster.
        seed: Seeds both the task sampling and the degradations; same seed, same result.
        bins: Histogram bins per channel.
        distinct: Drop candidates whose canonical text repeats an earlier one.

    Returns:
        A :class:`SelectionResult`, tasks ordered by cluster size (descending) then canonical text.

    Raises:
        ParameterError: If an argument is out of range or fewer distinct candidates than
            ``n_clusters`` exist.
        ImageError: If an image is not a valid float32 RGB image.

    Example:
        >>> import numpy as np
        >>> img = np.random.default_rng(1).uniform(size=(32, 32, 3)).astype(np.float32)
        >>> res = select_representative([img], order=3, n_clusters=2, n_candidates=8, seed=4)
        >>> [t.order for t in res.tasks]
        [3, 3]
    """
    _check_arguments(images, order, n_clusters, n_candidates, seed, bins)
    candidates = _sample_candidates(order, n_candidates, seed, distinct)
    if n_clusters > len(candidates):
        raise ParameterError(
            f"n_clusters ({n_clusters}) exceeds the {len(candidates)} distinct candidate tasks of "
            f"order {order} that were found; lower n_clusters"
        )
    features = np.stack([_task_features(task, images, seed, bins) for task in candidates])
    similarity = similarity_matrix(features)
    raw_labels = cluster_similarity(similarity, n_clusters, seed=seed)
    return _assemble(candidates, similarity, raw_labels)


def _sample_candidates(order: int, n_candidates: int, seed: int, distinct: bool) -> list[Task]:
    """Draw candidate tasks deterministically from ``seed``, optionally distinct by text."""
    if not distinct:
        return [_candidate(seed, order, i) for i in range(n_candidates)]
    found: dict[str, Task] = {}
    for i in range(DRAWS_PER_CANDIDATE * n_candidates):
        task = _candidate(seed, order, i)
        found.setdefault(str(task), task)
        if len(found) == n_candidates:
            break
    return list(found.values())


def _candidate(seed: int, order: int, index: int) -> Task:
    return sample_task([seed, order, index], order=order, strengths="representative")


def _task_features(
    task: Task, images: Sequence[NDArray[np.float32]], seed: int, bins: int
) -> NDArray[np.float64]:
    """All histograms of one candidate's degraded images, shape (3 × n_images, bins)."""
    degraded = (task.apply(image, seed, image_index=j) for j, image in enumerate(images))
    return np.concatenate([histogram_features(image, bins) for image in degraded])


def _assemble(
    candidates: list[Task], similarity: NDArray[np.float64], raw_labels: NDArray[np.int64]
) -> SelectionResult:
    """Renumber clusters by size (desc) then centre text, and pick each cluster's centre."""
    centres = cluster_centres(similarity, raw_labels)
    sizes = np.bincount(raw_labels)
    raw_order = sorted(range(len(centres)), key=lambda c: (-sizes[c], str(candidates[centres[c]])))
    renumber = np.empty(len(centres), dtype=np.int64)
    renumber[raw_order] = np.arange(len(centres))
    labels = renumber[raw_labels]
    labels.flags.writeable = False
    similarity.flags.writeable = False
    return SelectionResult(
        tasks=[candidates[centres[c]] for c in raw_order],
        labels=labels,
        similarity=similarity,
        candidates=candidates,
        cluster_sizes=tuple(int(sizes[c]) for c in raw_order),
        centre_indices=tuple(centres[c] for c in raw_order),
    )


def _check_arguments(
    images: Sequence[NDArray[np.float32]],
    order: int,
    n_clusters: int,
    n_candidates: int,
    seed: int,
    bins: int,
) -> None:
    _check_int("order", order, 1, MAX_ORDER)
    _check_int("n_candidates", n_candidates, 1, None)
    _check_int("n_clusters", n_clusters, 1, n_candidates)
    _check_int("seed", seed, 0, None)
    _check_int("bins", bins, 2, 256)
    if len(images) == 0:
        raise ParameterError("images must contain at least one image, got none")
    for j, image in enumerate(images):
        check_image(image, what=f"images[{j}]")


def _check_int(name: str, value: object, low: int, high: int | None) -> None:
    """Raise ParameterError unless ``value`` is an int (not bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParameterError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        expected = f"at least {low}" if high is None else f"in {low}..{high}"
        raise ParameterError(f"{name} must be {expected}, got {value}")


def _check_features(features: NDArray[np.floating]) -> NDArray[np.float64]:
    """Return features as an (N, H, bins) float64 array of normalised histograms, or raise."""
    hists = np.asarray(features, dtype=np.float64)
    if hists.ndim == 2:
        hists = hists[:, np.newaxis, :]
    if hists.ndim != 3 or 0 in hists.shape:
        raise ParameterError(
            f"features must have shape (N, bins) or (N, histograms, bins), got {np.shape(features)}"
        )
    if not np.all(np.isfinite(hists)) or float(hists.min()) < 0.0:
        raise ParameterError("features must be finite, non-negative histograms")
    sums = hists.sum(axis=2)
    if not np.allclose(sums, 1.0, rtol=0.0, atol=1e-6):
        worst = float(sums.flat[np.argmax(np.abs(sums - 1.0))])
        raise ParameterError(f"each histogram must sum to 1, found a sum of {worst:.6g}")
    return hists


def _check_similarity(similarity: NDArray[np.floating]) -> NDArray[np.float64]:
    """Return the matrix as float64 if square, symmetric, finite and non-negative, else raise."""
    matrix = np.asarray(similarity, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ParameterError(f"similarity must be a non-empty square matrix, got {matrix.shape}")
    if not np.all(np.isfinite(matrix)) or float(matrix.min()) < 0.0:
        raise ParameterError("similarity must be finite and non-negative")
    if not np.allclose(matrix, matrix.T, rtol=0.0, atol=1e-9):
        raise ParameterError("similarity must be symmetric")
    return matrix
