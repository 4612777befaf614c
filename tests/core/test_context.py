"""Depth sources, snow-mask sources and the per-image context haze and snow rely on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gir_core.degradations import (
    FolderDepth,
    FolderSnowMasks,
    ImageContext,
    ProceduralSnow,
    ProxyDepth,
    VerticalRampDepth,
)
from gir_core.degradations.depth import proxy_depth, vertical_ramp
from gir_core.degradations.snow_masks import procedural_snow_mask
from gir_core.errors import ImageError
from gir_core.tasks import Task


def _flat(height: int = 64, width: int = 48, value: float = 0.5) -> np.ndarray:
    return np.full((height, width, 3), value, np.float32)


def test_vertical_ramp_is_far_at_the_top_and_floored() -> None:
    ramp = vertical_ramp(40, 8)
    assert ramp.shape == (40, 8)
    assert ramp[0].tolist() == [1.0] * 8
    assert np.all(np.diff(ramp[:, 0]) <= 0)
    assert float(ramp.min()) == pytest.approx(0.1)


def test_proxy_depth_on_a_flat_image_is_the_vertical_prior() -> None:
    depth = proxy_depth(_flat())
    assert depth.shape == (64, 48)
    assert depth.dtype == np.float32
    assert float(depth.max()) == pytest.approx(1.0)
    assert float(depth.min()) >= 0.1 - 1e-7
    # Colour cue is constant on a flat image, so only the vertical prior orders rows.
    column = depth[:, 24]
    assert column[0] > column[32] > column[-1]


def test_proxy_depth_sees_bright_unsaturated_regions_as_far() -> None:
    image = np.zeros((64, 64, 3), np.float32)
    image[:, :32] = (0.9, 0.9, 0.9)  # bright, grey: far by the colour-attenuation prior
    image[:, 32:] = (0.8, 0.1, 0.1)  # saturated red: near
    depth = proxy_depth(image)
    assert depth[:, :16].mean() > depth[:, 48:].mean() + 0.1


def test_folder_depth_loads_resizes_and_fingerprints(tmp_path: Path) -> None:
    np.save(tmp_path / "scene.npy", np.full((8, 6), 5.0, np.float32))
    source = FolderDepth(tmp_path)
    depth = source.depth(_flat(32, 24), "scene")
    assert depth.shape == (32, 24)
    assert np.allclose(depth, 1.0)
    before = source.fingerprint("scene")
    np.save(tmp_path / "scene.npy", np.full((8, 6), 2.0, np.float32))
    assert source.fingerprint("scene") != before


def test_folder_depth_missing_or_malformed_map_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"no depth map for image 'absent'.*absent\.npy"):
        FolderDepth(tmp_path).depth(_flat(), "absent")
    np.save(tmp_path / "cube.npy", np.ones((4, 4, 3), np.float32))
    with pytest.raises(ImageError, match="must be 2-D"):
        FolderDepth(tmp_path).depth(_flat(), "cube")


def test_procedural_snow_covers_a_few_percent_and_replays() -> None:
    first = procedural_snow_mask(256, 256, np.random.default_rng(5))
    again = procedural_snow_mask(256, 256, np.random.default_rng(5))
    other = procedural_snow_mask(256, 256, np.random.default_rng(6))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0
    assert 0.015 < float(first.mean()) < 0.06  # DEGRADATIONS.md: about 3-4 % mean coverage


def test_folder_snow_masks_draw_from_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no snow mask images"):
        FolderSnowMasks(tmp_path).files()
    for index, level in enumerate((0, 255)):
        Image.fromarray(np.full((10, 10), level, np.uint8)).save(tmp_path / f"m{index}.png")
    source = FolderSnowMasks(tmp_path)
    drawn = {float(source.mask(20, 30, np.random.default_rng(s)).mean()) for s in range(20)}
    assert drawn == {0.0, 1.0}
    assert source.mask(20, 30, np.random.default_rng(1)).shape == (20, 30)


def test_context_fixes_the_snow_mask_per_clean_image() -> None:
    ctx = ImageContext(depth_source=VerticalRampDepth())
    first = ctx.placed(1, 0).snow_mask(32, 32)
    assert ctx.placed(1, 0).snow_mask(32, 32) is first  # cached, shared across tasks
    assert not np.array_equal(ctx.placed(1, 1).snow_mask(32, 32), first)
    assert not np.array_equal(ctx.placed(2, 0).snow_mask(32, 32), first)


def test_two_snow_tasks_on_one_image_share_the_flakes() -> None:
    # With β = 0 the veil vanishes (t = 1), so each output is exactly J·(1 − M) + M:
    # on a black image that is the mask itself, identical for both tasks.
    black = _flat(32, 32, 0.0)
    ctx = ImageContext(depth_source=VerticalRampDepth())
    a = Task.parse("snow(A=0.9,beta=0)").apply(black, 3, context=ctx)
    b = Task.parse("snow(A=0.5,beta=0)").apply(black, 3, context=ctx)
    assert np.array_equal(a, b)
    assert float(a.max()) > 0.5


def test_context_fingerprint_names_both_sources(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.ones((4, 4), np.float32))
    default = ImageContext().fingerprint
    custom = ImageContext(name="x", depth_source=FolderDepth(tmp_path)).fingerprint
    assert default == f"depth={ProxyDepth().fingerprint('')};snow={ProceduralSnow().fingerprint()}"
    assert custom.startswith("depth=folder:") and custom != default


def test_proxy_depth_of_a_very_dark_saturated_image_is_defined() -> None:
    # Almost everywhere the colour cue is negative (dark, saturated), with one brighter pixel:
    # the map must stay a valid depth (the vertical prior), not raise.
    image = np.zeros((64, 64, 3), np.float32)
    image[..., 0] = 0.05  # cue ≈ −0.61 everywhere …
    image[20:44, 20:44] = (0.05, 0.04, 0.04)  # … but a barely positive patch (cue ≈ 0.014)
    depth = proxy_depth(image)
    assert float(depth.min()) >= 0.1 - 1e-6 and float(depth.max()) == pytest.approx(1.0)
    assert depth[0].mean() > depth[-1].mean()
