"""Tests for gir_core.selection: histogram features, similarity, spectral clustering, selection."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.typing import NDArray

from gir_core import degradations
from gir_core.errors import ImageError, ParameterError
from gir_core.selection import (
    SelectionResult,
    cluster_centres,
    cluster_similarity,
    histogram_features,
    select_representative,
    similarity_matrix,
)
from gir_core.tasks import sample_task


def _flat(value: float, size: int = 8) -> NDArray[np.float32]:
    return np.full((size, size, 3), value, dtype=np.float32)


def _same_partition(a: NDArray[np.integer], b: NDArray[np.integer]) -> bool:
    """True when two labelings group the items identically, whatever the label numbers."""
    return bool(np.array_equal(a[:, None] == a[None, :], b[:, None] == b[None, :]))


def _block_similarity(sizes: list[int], inside: float, outside: float) -> NDArray[np.float64]:
    n = sum(sizes)
    matrix = np.full((n, n), outside)
    start = 0
    for size in sizes:
        matrix[start : start + size, start : start + size] = inside
        start += size
    np.fill_diagonal(matrix, 1.0)
    return matrix


# --- histogram_features ------------------------------------------------------------------------


def test_histogram_of_flat_images_fills_one_bin() -> None:
    black = histogram_features(_flat(0.0), bins=4)
    white = histogram_features(_flat(1.0), bins=4)
    assert black.shape == (3, 4)
    assert black.tolist() == [[1.0, 0.0, 0.0, 0.0]] * 3
    # 1.0 sits on the upper edge of the range and must land in the last bin, not past it.
    assert white.tolist() == [[0.0, 0.0, 0.0, 1.0]] * 3


def test_histogram_keeps_channels_apart_and_counts_fractions() -> None:
    image = np.zeros((4, 4, 3), dtype=np.float32)
    image[..., 1] = 0.5  # green: on the bin edge of 2 bins, belongs to the upper bin
    image[:1, :, 2] = 0.9  # blue: one row of four bright
    hist = histogram_features(image, bins=2)
    assert hist[0].tolist() == [1.0, 0.0]
    assert hist[1].tolist() == [0.0, 1.0]
    assert hist[2].tolist() == [0.75, 0.25]


def test_histogram_rows_sum_to_one_for_random_image() -> None:
    image = np.random.default_rng(3).uniform(size=(12, 20, 3)).astype(np.float32)
    hist = histogram_features(image, bins=16)
    np.testing.assert_allclose(hist.sum(axis=1), 1.0, atol=1e-12)
    # A uniform image spreads roughly evenly: no bin far from 1/16 of 240 pixels.
    assert hist.max() < 0.15


@pytest.mark.parametrize("bins", [1, 257, True, 4.0])
def test_histogram_rejects_bad_bins(bins: object) -> None:
    with pytest.raises(ParameterError, match="bins"):
        histogram_features(_flat(0.2), bins=bins)  # type: ignore[arg-type]


def test_histogram_rejects_uint8_image() -> None:
    with pytest.raises(ImageError, match="float32"):
        histogram_features(np.zeros((8, 8, 3), dtype=np.uint8), bins=4)


# --- similarity_matrix -------------------------------------------------------------------------


def test_identical_images_have_similarity_one_black_vs_white_zero() -> None:
    rng = np.random.default_rng(0)
    textured = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    feats = np.stack(
        [histogram_features(img, 16) for img in (textured, textured, _flat(0.0), _flat(1.0))]
    )
    sim = similarity_matrix(feats)
    assert sim[0, 1] == 1.0
    assert sim[2, 3] == 0.0
    assert 0.0 < sim[0, 2] < 0.5


def test_similarity_matches_brute_force_intersection() -> None:
    rng = np.random.default_rng(7)
    raw = rng.uniform(size=(6, 4, 5))
    feats = raw / raw.sum(axis=2, keepdims=True)
    sim = similarity_matrix(feats)
    expected = np.array(
        [[np.minimum(a, b).sum(axis=1).mean() for b in feats] for a in feats], dtype=np.float64
    )
    np.testing.assert_allclose(sim, expected, atol=1e-12)
    assert np.array_equal(sim, sim.T)
    assert np.all(np.diag(sim) == 1.0)
    assert sim.min() >= 0.0 and sim.max() <= 1.0


def test_similarity_averages_over_histograms() -> None:
    # Same first histogram, disjoint second one: mean intersection 0.5.
    a = [[1.0, 0.0], [1.0, 0.0]]
    b = [[1.0, 0.0], [0.0, 1.0]]
    sim = similarity_matrix(np.array([a, b]))
    assert sim[0, 1] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (np.array([0.5, 0.5]), "shape"),
        (np.array([[0.5, 0.4]]), "sum to 1"),
        (np.array([[1.5, -0.5]]), "non-negative"),
        (np.zeros((0, 3, 4)), "shape"),
    ],
)
def test_similarity_rejects_bad_features(features: NDArray[np.float64], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        similarity_matrix(features)


# --- cluster_similarity and cluster_centres ------------------------------------------------------


def test_clustering_recovers_shuffled_blocks() -> None:
    sizes = [6, 4, 5, 3]
    truth = np.repeat(np.arange(len(sizes)), sizes)
    noise = np.random.default_rng(2).uniform(-0.03, 0.03, size=(len(truth),) * 2)
    matrix = np.clip(_block_similarity(sizes, 0.85, 0.1) + (noise + noise.T) / 2, 0, 1)
    np.fill_diagonal(matrix, 1.0)
    perm = np.random.default_rng(5).permutation(len(truth))
    labels = cluster_similarity(matrix[np.ix_(perm, perm)], 4, seed=0)
    assert _same_partition(labels, truth[perm])
    assert sorted(np.bincount(labels).tolist()) == [3, 4, 5, 6]


def test_clustering_of_disconnected_blocks_is_silent_and_right() -> None:
    matrix = _block_similarity([3, 3], 0.9, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = cluster_similarity(matrix, 2)
    assert _same_partition(labels, np.array([0, 0, 0, 1, 1, 1]))


def test_clustering_groups_histograms_of_dark_mid_and_bright_images() -> None:
    rng = np.random.default_rng(11)
    levels = [0.1, 0.5, 0.9] * 4  # interleaved so the groups are not contiguous
    images = [
        np.clip(rng.normal(level, 0.04, size=(8, 8, 3)), 0, 1).astype(np.float32)
        for level in levels
    ]
    sim = similarity_matrix(np.stack([histogram_features(img, 16) for img in images]))
    labels = cluster_similarity(sim, 3, seed=1)
    assert _same_partition(labels, np.array([0, 1, 2] * 4))


def test_clustering_trivial_cases_and_determinism() -> None:
    matrix = _block_similarity([2, 3], 0.8, 0.2)
    assert cluster_similarity(matrix, 1).tolist() == [0] * 5
    assert cluster_similarity(matrix, 5).tolist() == [0, 1, 2, 3, 4]
    first = cluster_similarity(matrix, 2, seed=9)
    assert np.array_equal(first, cluster_similarity(matrix, 2, seed=9))


@pytest.mark.parametrize(
    ("matrix", "k", "message"),
    [
        (np.eye(3), 4, "n_clusters"),
        (np.eye(3), 0, "n_clusters"),
        (np.array([[1.0, 0.2], [0.7, 1.0]]), 1, "symmetric"),
        (np.ones((2, 3)), 1, "square"),
        (-np.eye(2), 1, "non-negative"),
    ],
)
def test_clustering_rejects_bad_input(matrix: NDArray[np.float64], k: int, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        cluster_similarity(matrix, k)


def test_centre_is_member_with_highest_mean_similarity() -> None:
    matrix = np.array(
        [
            [1.0, 0.9, 0.5, 0.0, 0.0],
            [0.9, 1.0, 0.8, 0.0, 0.0],
            [0.5, 0.8, 1.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 1.0, 0.3],
            [0.0, 0.0, 0.0, 0.3, 1.0],
        ]
    )
    # Cluster 3 is a singleton; cluster 7 ties, so its lower index wins.
    assert cluster_centres(matrix, np.array([7, 7, 3, 7, 7])) == [2, 0]
    assert cluster_centres(matrix, np.array([0, 0, 0, 1, 1])) == [1, 3]


def test_centres_reject_mismatched_labels() -> None:
    with pytest.raises(ParameterError, match="labels"):
        cluster_centres(np.eye(3), np.array([0, 1]))


# --- select_representative ---------------------------------------------------------------------


def _images(count: int = 2, size: int = 32) -> list[NDArray[np.float32]]:
    """Smooth colour gradients with mild texture: enough structure for every degradation."""
    rng = np.random.default_rng(42)
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    out = []
    for j in range(count):
        base = np.stack([x, y, (x + y) / 2 + 0.1 * j], axis=-1)
        texture = rng.normal(0, 0.05, size=base.shape)
        out.append(np.clip(0.15 + 0.7 * base + texture, 0, 1).astype(np.float32))
    return out


@pytest.fixture(scope="module")
def selection() -> SelectionResult:
    return select_representative(_images(), order=2, n_clusters=4, n_candidates=30, seed=3)


def test_selection_is_deterministic(selection: SelectionResult) -> None:
    again = select_representative(_images(), order=2, n_clusters=4, n_candidates=30, seed=3)
    assert [str(t) for t in again.tasks] == [str(t) for t in selection.tasks]
    assert np.array_equal(again.labels, selection.labels)
    assert np.array_equal(again.similarity, selection.similarity)


def test_selection_samples_the_documented_candidates(selection: SelectionResult) -> None:
    texts = [str(t) for t in selection.candidates]
    assert len(texts) == 30
    assert len(set(texts)) == 30
    first = sample_task([3, 2, 0], order=2, strengths="representative")
    assert texts[0] == str(first)


def test_selected_tasks_have_order_and_representative_strengths(
    selection: SelectionResult,
) -> None:
    assert len(selection.tasks) == 4
    for task in selection.tasks:
        assert task.order == 2
        assert task.names[1] not in ("rain", "haze", "snow")
        for step in task.steps:
            assert dict(step.params) == degradations.get(step.name).representative


def test_each_task_is_the_centre_of_its_cluster(selection: SelectionResult) -> None:
    sim, labels = selection.similarity, selection.labels
    assert sorted(set(labels.tolist())) == [0, 1, 2, 3]
    for c, (task, index) in enumerate(zip(selection.tasks, selection.centre_indices, strict=True)):
        assert selection.candidates[index] is task
        assert labels[index] == c
        members = np.flatnonzero(labels == c)
        mean_sim = sim[np.ix_(members, members)].mean(axis=1)
        assert sim[index, members].mean() == pytest.approx(mean_sim.max())


def test_clusters_are_ordered_by_size_then_text(selection: SelectionResult) -> None:
    sizes = selection.cluster_sizes
    assert sum(sizes) == 30
    assert sizes == tuple(int(np.sum(selection.labels == c)) for c in range(4))
    keys = [(-size, str(task)) for size, task in zip(sizes, selection.tasks, strict=True)]
    assert keys == sorted(keys)


def test_clusters_are_tighter_inside_than_between(selection: SelectionResult) -> None:
    sim, labels = selection.similarity, selection.labels
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    assert sim[same & off_diagonal].mean() > sim[~same].mean()


def test_result_similarity_is_valid_and_read_only(selection: SelectionResult) -> None:
    sim = selection.similarity
    assert sim.shape == (30, 30)
    assert np.array_equal(sim, sim.T)
    assert np.all(np.diag(sim) == 1.0)
    assert sim.min() >= 0.0
    with pytest.raises(ValueError, match="read-only"):
        sim[0, 1] = 0.5


def test_order_one_finds_only_the_ten_single_tasks() -> None:
    result = select_representative(_images(1, 16), order=1, n_clusters=3, n_candidates=20)
    assert sorted(t.names[0] for t in result.candidates) == sorted(degradations.NAMES)
    with pytest.raises(ParameterError, match="10 distinct candidate tasks of order 1"):
        select_representative(_images(1, 16), order=1, n_clusters=11, n_candidates=20)


def test_repeated_candidates_without_distinct_are_identical() -> None:
    result = select_representative(
        _images(1, 16), order=1, n_clusters=2, n_candidates=12, distinct=False
    )
    texts = [str(t) for t in result.candidates]
    assert len(texts) == 12
    # Twelve draws from ten single tasks must repeat one (pigeonhole).
    dup = next(i for i, text in enumerate(texts) if texts.index(text) != i)
    orig = texts.index(texts[dup])
    assert result.similarity[orig, dup] == 1.0
    assert result.labels[orig] == result.labels[dup]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order": 0}, "order must be in 1..5, got 0"),
        ({"order": 6}, "order must be in 1..5, got 6"),
        ({"order": True}, "order must be an integer"),
        ({"order": 2, "n_clusters": 0}, "n_clusters"),
        ({"order": 2, "n_clusters": 9, "n_candidates": 8}, "n_clusters must be in 1..8, got 9"),
        ({"order": 2, "n_candidates": 0}, "n_candidates"),
        ({"order": 2, "seed": -1}, "seed must be at least 0"),
        ({"order": 2, "bins": 1}, "bins"),
    ],
)
def test_selection_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        select_representative(_images(1, 8), **kwargs)  # type: ignore[arg-type]


def test_selection_rejects_empty_and_bad_images() -> None:
    with pytest.raises(ParameterError, match="at least one image"):
        select_representative([], order=2)
    bad = np.zeros((8, 8, 3), dtype=np.float64)
    with pytest.raises(ImageError, match=r"images\[1\]"):
        select_representative([_flat(0.5), bad], order=2)  # type: ignore[list-item]
