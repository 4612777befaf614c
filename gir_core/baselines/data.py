"""Training data for the lines: on-the-fly degraded patches, made by parallel producers.

As in the paper (section 5.1), clean patches are cut at random from training images and degraded
on the fly with a fresh seed each. Rain, haze and snow need the whole image (depth, streak
geometry, the snow mask), so when a task starts with one of them that first step is applied to
whole training images up front (``weather_variants`` copies each, as the paper generated them
offline) and only the remaining steps are applied to patches.

Every batch is a pure function of the line's seed and the batch's index
(:meth:`PatchSampler.batch`), so batches can be made by any number of producer processes
(:mod:`gir_core.baselines.producers`) in any order and still form the same stream, and a resumed
training run picks the stream up at the step it stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gir_core.degradations import ImageContext, get
from gir_core.errors import ParameterError
from gir_core.images import FloatImage, check_image
from gir_core.tasks import Task

Batch = tuple[NDArray[np.float32], NDArray[np.float32]]
"""(degraded inputs, clean targets), each ``[N, 3, P, P]`` float32."""

_SEED_BOUND = 2**32
_WEATHER, _BATCH = 0, 1  # spawn keys: the weather copies' stream and each batch's stream


def image_digest(image: NDArray[np.generic]) -> str:
    """SHA-256 of an array's shape, dtype and bytes: equal digests mean equal pixels."""
    digest = hashlib.sha256(f"{image.shape}|{image.dtype}|".encode())
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


def check_disjoint(train: Sequence[FloatImage], test: Sequence[FloatImage]) -> None:
    """Refuse a training set that contains any test ground-truth image (byte-identical).

    Raises:
        ParameterError: naming the first training and test index that coincide.
    """
    test_index = {image_digest(image): i for i, image in enumerate(test)}
    for i, image in enumerate(train):
        j = test_index.get(image_digest(image))
        if j is not None:
            raise ParameterError(
                f"training image {i} is identical to test image {j}: lines must be trained on "
                "images disjoint from the test images"
            )


WHOLE_IMAGE = frozenset({"damage"})
"""Degradations whose strength depends on the image size: ``damage`` burns N lines whatever the
size, so on a 32 px patch it covers nearly everything while a 256 px test image keeps most of
its pixels; nets trained on such patches fell below the input. Tasks containing one are applied
to whole training images (``weather_variants`` copies each) and patches cut from the copies."""


def split_weather(task: Task) -> tuple[Task | None, Task | None]:
    """(whole-image head, per-patch tail): the head is the first step if it is rain/haze/snow,
    or the whole task if it contains a size-dependent step (:data:`WHOLE_IMAGE`)."""
    if any(step.name in WHOLE_IMAGE for step in task.steps):
        return task, None
    if not get(task.steps[0].name).first_only:
        return None, task
    head = Task(task.steps[:1])
    tail = Task(task.steps[1:]) if task.order > 1 else None
    return head, tail


@dataclass
class _Source:
    """One training image and, for weather tasks, its whole-image degraded copies."""

    clean: FloatImage
    variants: list[FloatImage]


class PatchSampler:
    """Draws batches of (degraded, clean) patches; batch ``i`` depends only on ``entropy``, ``i``.

    Args:
        task: the task the line is trained on.
        images: clean float32 RGB training images, each at least ``patch_size`` on both sides.
        patch_size: patch side, a multiple of 4.
        batch_size: patches per batch.
        entropy: the seed material (e.g. ``(seed, task_key)``): every random choice (image, crop,
            flip, per-sample degradation seed, weather copies) derives from it.
        weather_variants: whole-image degraded copies per image, for weather-first tasks.
        contexts: optional per-image depth/snow contexts for the whole-image weather step.
    """

    def __init__(
        self,
        task: Task,
        images: Sequence[FloatImage],
        *,
        patch_size: int,
        batch_size: int,
        entropy: Sequence[int],
        weather_variants: int = 1,
        contexts: Sequence[ImageContext] | None = None,
    ) -> None:
        _check_training_images(images, patch_size, contexts)
        self.patch_size = patch_size
        self.batch_size = batch_size
        self.entropy = tuple(int(value) for value in entropy)
        self._head, self._tail = split_weather(task)
        self._sources = [
            _Source(image, self._weather_copies(image, i, weather_variants, contexts))
            for i, image in enumerate(images)
        ]

    def _weather_copies(
        self,
        image: FloatImage,
        index: int,
        count: int,
        contexts: Sequence[ImageContext] | None,
    ) -> list[FloatImage]:
        if self._head is None:
            return []
        context = contexts[index] if contexts is not None else None
        rng = self._rng(_WEATHER, index)
        seeds = [int(rng.integers(_SEED_BOUND)) for _ in range(count)]
        return [self._head.apply(image, s, image_index=index, context=context) for s in seeds]

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.entropy, spawn_key=key))

    def sample(self, rng: np.random.Generator) -> tuple[FloatImage, FloatImage]:
        """One (degraded, clean) patch pair, H×W×3 float32, drawn from ``rng``."""
        side = self.patch_size
        index = int(rng.integers(len(self._sources)))
        source = self._sources[index]
        height, width = source.clean.shape[:2]
        top = int(rng.integers(height - side + 1))
        left = int(rng.integers(width - side + 1))
        window = (slice(top, top + side), slice(left, left + side))
        clean = source.clean[window]
        start = clean
        if source.variants:  # weather-first task: cut the same window from a degraded copy
            start = source.variants[int(rng.integers(len(source.variants)))][window]
        if rng.integers(2):  # horizontal flip: keeps rain's angle range and the depth's layout
            clean, start = clean[:, ::-1], start[:, ::-1]
        clean, start = np.ascontiguousarray(clean), np.ascontiguousarray(start)
        seed = int(rng.integers(_SEED_BOUND))
        degraded = start if self._tail is None else self._tail.apply(start, seed, image_index=index)
        return degraded, clean

    def batch(self, index: int) -> Batch:
        """Batch number ``index`` (0-based) in network layout ``[N, 3, P, P]``."""
        rng = self._rng(_BATCH, index)
        pairs = [self.sample(rng) for _ in range(self.batch_size)]
        inputs = np.stack([p[0] for p in pairs]).transpose(0, 3, 1, 2)
        targets = np.stack([p[1] for p in pairs]).transpose(0, 3, 1, 2)
        return np.ascontiguousarray(inputs), np.ascontiguousarray(targets)


def _check_training_images(
    images: Sequence[FloatImage], patch_size: int, contexts: Sequence[ImageContext] | None
) -> None:
    if len(images) == 0:
        raise ParameterError("no training images given")
    if contexts is not None and len(contexts) != len(images):
        raise ParameterError(f"{len(contexts)} contexts given for {len(images)} training images")
    for i, image in enumerate(images):
        check_image(image, what=f"training image {i}")
        if min(image.shape[:2]) < patch_size:
            raise ParameterError(
                f"training image {i} is {image.shape[1]}×{image.shape[0]}, smaller than the "
                f"{patch_size}×{patch_size} training patches"
            )
