"""Property tests of the ten degradations, written from DEGRADATIONS.md rather than from the code.

Each test restates one formula or property of the spec and checks it against a reference computed
here, independently (OpenCV, SciPy, scikit-image), with an explicit tolerance. Images are on the
1/255 grid, like every step's input in a composition.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.special import j1
from skimage.restoration import richardson_lucy

from gir_core.degradations import (
    FolderDepth,
    FolderSnowMasks,
    ImageContext,
    ProceduralSnow,
    ProxyDepth,
    VerticalRampDepth,
    get,
)
from gir_core.degradations.kernels import gaussian_kernel, sinc_kernel, streak_kernel

Image = NDArray[np.float32]
LEVEL = 1.0 / 255.0
TABLE_C1 = (
    "resize", "blur", "noise", "compression", "damage",
    "ringing", "alg.artifact", "rain", "haze", "snow",
)  # fmt: skip
RANDOM = ("noise", "damage", "rain", "snow")
DETERMINISTIC = tuple(n for n in TABLE_C1 if n not in RANDOM)


def quantise(x: NDArray[np.floating]) -> Image:
    """The spec's step ending, computed here in float64: clip, round(x·255)/255."""
    levels = np.round(np.clip(np.asarray(x, np.float64), 0.0, 1.0) * 255.0)
    return (levels / 255.0).astype(np.float32)


def textured(h: int, w: int, seed: int = 0, lo: float = 0.1, hi: float = 0.9) -> Image:
    """A random RGB texture on the 1/255 grid, away from 0 and 1 unless asked."""
    rng = np.random.default_rng(seed)
    return quantise(lo + (hi - lo) * rng.random((h, w, 3)))


def run(name: str, image: Image, params: dict[str, float] | None = None, seed: int = 0,
        ctx: ImageContext | None = None) -> Image:  # fmt: skip
    """Apply one degradation; ``seed`` seeds both the step rng and the per-image context."""
    deg = get(name)
    chosen = dict(deg.representative) if params is None else params
    context = ImageContext(seed=seed) if ctx is None else ctx
    return deg.apply(image, chosen, np.random.default_rng(seed), context)


def assert_close_quantised(out: Image, ref: Image, frac: float = 0.005) -> None:
    """Equal up to rare one-level rounding flips (float32 vs float64 arithmetic, FFT filters)."""
    diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
    assert diff.max() <= LEVEL + 1e-6
    assert np.mean(diff > 1e-6) <= frac


# --- contract of every degradation ----------------------------------------------------------------


def _param_sets(name: str) -> list[dict[str, float]]:
    rng = np.random.default_rng(7)
    return [dict(get(name).representative)] + [get(name).sample(rng) for _ in range(2)]


@pytest.mark.parametrize("name", TABLE_C1)
def test_output_shape_dtype_range_and_grid(name: str) -> None:
    image = textured(64, 48, seed=1, lo=0.0, hi=1.0)
    for params in _param_sets(name):
        out = run(name, image, params, seed=3)
        assert out.shape == image.shape
        assert out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
        scaled = out.astype(np.float64) * 255.0
        assert np.abs(scaled - np.round(scaled)).max() < 1e-4
        assert not np.array_equal(out, image), (name, params)  # it does degrade


@pytest.mark.parametrize("name", TABLE_C1)
def test_same_seed_gives_identical_bytes(name: str) -> None:
    image = textured(48, 48, seed=2)
    for params in _param_sets(name):
        first = run(name, image, params, seed=11)
        second = run(name, image.copy(), dict(params), seed=11)
        assert first.tobytes() == second.tobytes()


@pytest.mark.parametrize("name", RANDOM)
def test_different_seed_gives_different_bytes(name: str) -> None:
    image = textured(48, 48, seed=2)
    outs = {run(name, image, seed=s).tobytes() for s in range(4)}
    assert len(outs) == 4


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_formula_only_degradations_ignore_the_seed(name: str) -> None:
    image = textured(48, 48, seed=2)
    assert run(name, image, seed=0).tobytes() == run(name, image, seed=99).tobytes()


# --- noise --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [5, 20, 30])
def test_noise_std_per_channel(sigma: int) -> None:
    grey = np.full((128, 128, 3), 128 / 255, np.float32)
    diff = (run("noise", grey, {"sigma": sigma}, seed=5) - grey).astype(np.float64)
    n = 128 * 128
    # Rounding to 8 bit adds uniform noise of variance LEVEL²/12 on top of σ².
    expected = math.sqrt((sigma / 255) ** 2 + LEVEL**2 / 12)
    for c in range(3):
        std = diff[..., c].std()
        assert abs(std / expected - 1) < 4 / math.sqrt(2 * n), (c, std, expected)
        assert abs(diff[..., c].mean()) < 4 * expected / math.sqrt(n)


def test_noise_is_independent_across_channels_and_pixels() -> None:
    grey = np.full((128, 128, 3), 128 / 255, np.float32)
    diff = (run("noise", grey, {"sigma": 20}, seed=6) - grey).astype(np.float64)
    flat = diff.reshape(-1, 3)
    corr = np.corrcoef(flat.T)
    bound = 4 / math.sqrt(flat.shape[0])
    assert np.abs(corr[np.triu_indices(3, 1)]).max() < bound
    right = np.corrcoef(diff[:, 1:, 0].ravel(), diff[:, :-1, 0].ravel())[0, 1]
    down = np.corrcoef(diff[1:, :, 1].ravel(), diff[:-1, :, 1].ravel())[0, 1]
    assert abs(right) < bound and abs(down) < bound


# --- blur and ringing kernels -------------------------------------------------------------------


def _grid(k: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    axis = np.arange(k, dtype=np.float64) - (k - 1) / 2
    return np.meshgrid(axis, axis)


def _gaussian_ref(k: int, sigma: float) -> NDArray[np.float64]:
    x, y = _grid(k)
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return g / g.sum()


def _sinc_ref(k: int, omega: float) -> NDArray[np.float64]:
    x, y = _grid(k)
    r = np.hypot(x, y)
    safe = np.where(r == 0, 1.0, r)
    kern = np.where(
        r == 0, omega**2 / (4 * math.pi), omega * j1(omega * safe) / (2 * math.pi * safe)
    )
    return kern / kern.sum()


KERNEL_CASES = [(7, 0.2), (15, 2.0), (23, 3.0), (9, math.pi / 3), (15, 1.2), (21, math.pi)]


@pytest.mark.parametrize(("k", "a"), KERNEL_CASES)
def test_kernels_match_formulas(k: int, a: float) -> None:
    for made, ref in (
        (gaussian_kernel(k, a), _gaussian_ref(k, a)),
        (sinc_kernel(k, a), _sinc_ref(k, a)),
    ):
        assert made.dtype == np.float64 and made.shape == (k, k)
        np.testing.assert_allclose(made, ref, rtol=0, atol=1e-12)
        assert abs(made.sum() - 1) < 1e-12
        for mirrored in (made.T, made[::-1, :], made[:, ::-1]):
            np.testing.assert_allclose(mirrored, made, rtol=0, atol=1e-15)


@pytest.mark.parametrize(("k", "omega"), [(7, math.pi / 3), (15, 1.2), (23, math.pi)])
def test_ringing_kernel_has_negative_lobes(k: int, omega: float) -> None:
    kern = sinc_kernel(k, omega)
    assert kern.min() < 0
    assert kern[k // 2, k // 2] == kern.max()  # the main lobe is at the centre
    assert gaussian_kernel(k, 2.0).min() > 0


def _filter_ref(image: Image, kernel: NDArray[np.float64]) -> Image:
    out = cv2.filter2D(image.astype(np.float64), -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    return quantise(out)


@pytest.mark.parametrize(("k", "sigma"), [(15, 2.0), (7, 0.5), (23, 3.0)])
def test_blur_is_reflect101_filter_of_the_kernel(k: int, sigma: float) -> None:
    image = textured(40, 56, seed=3)
    out = run("blur", image, {"k": k, "sigma": sigma})
    assert_close_quantised(out, _filter_ref(image, _gaussian_ref(k, sigma)))


@pytest.mark.parametrize(("k", "omega"), [(15, 1.2), (7, 2.5), (23, 1.05)])
def test_ringing_is_reflect101_filter_of_the_kernel(k: int, omega: float) -> None:
    image = textured(40, 56, seed=4, lo=0.0, hi=1.0)
    out = run("ringing", image, {"k": k, "omega": omega})
    assert_close_quantised(out, _filter_ref(image, _sinc_ref(k, omega)))


# --- resize -------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0, 1, 77, 128, 254, 255])
def test_resize_preserves_a_constant_image(level: int) -> None:
    image = np.full((32, 48, 3), level / 255, np.float32)
    assert np.array_equal(run("resize", image), image)


def test_resize_is_cv2_bicubic_down_then_up() -> None:
    image = textured(64, 96, seed=5, lo=0.0, hi=1.0)
    small = cv2.resize(image, (24, 16), interpolation=cv2.INTER_CUBIC)
    back = cv2.resize(small, (96, 64), interpolation=cv2.INTER_CUBIC)  # no clip in between
    assert_close_quantised(run("resize", image), quantise(back))
    # The same as torch's bicubic (a = −0.75, align_corners=False, no anti-aliasing).
    torch = pytest.importorskip("torch")
    chw = torch.from_numpy(image).permute(2, 0, 1)[None]
    down = torch.nn.functional.interpolate(chw, size=(16, 24), mode="bicubic", align_corners=False)
    up = torch.nn.functional.interpolate(down, size=(64, 96), mode="bicubic", align_corners=False)
    assert np.abs(up[0].permute(1, 2, 0).numpy() - back).max() < 1e-5
    assert np.abs(back).max() > 1.0 or back.min() < 0.0  # the overshoot the clip must catch


# --- compression --------------------------------------------------------------------------------


def _gradient(h: int = 96, w: int = 96) -> Image:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rgb = [0.2 + 0.6 * x / (w - 1), 0.2 + 0.6 * y / (h - 1), 0.25 + 0.5 * (x + y) / (h + w - 2)]
    return quantise(np.stack(rgb, axis=-1))


def _jpeg_ref(image: Image, q: int) -> Image:
    u8 = np.round(image.astype(np.float64) * 255).astype(np.uint8)
    ok, enc = cv2.imencode(
        ".jpg", np.ascontiguousarray(u8[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, q]
    )
    assert ok
    dec = cv2.imdecode(enc, cv2.IMREAD_COLOR)[..., ::-1]
    return (dec.astype(np.float32) / np.float32(255)).astype(np.float32)


@pytest.mark.parametrize("q", [30, 50, 95])
def test_compression_is_a_cv2_jpeg_round_trip(q: int) -> None:
    for image in (textured(48, 64, seed=6), _gradient(48, 64)):
        out = run("compression", image, {"q": q})
        np.testing.assert_allclose(out, _jpeg_ref(image, q), rtol=0, atol=1e-6)


def test_compression_keeps_rgb_order() -> None:
    image = np.zeros((32, 32, 3), np.float32)
    image[:, :16, 0] = 1.0  # red left, blue right
    image[:, 16:, 2] = 1.0
    out = run("compression", image, {"q": 50})
    assert out[4:28, 2:12, 0].mean() > 0.9 and out[4:28, 2:12, 2].mean() < 0.1
    assert out[4:28, 20:30, 2].mean() > 0.9 and out[4:28, 20:30, 0].mean() < 0.1


@pytest.mark.parametrize("q", [30, 50])
def test_compression_blockiness_at_8px_boundaries(q: int) -> None:
    out = run("compression", _gradient(), {"q": q}).astype(np.float64)
    for axis in (0, 1):
        steps = np.abs(np.diff(out, axis=axis)).mean(axis=(1 - axis, 2))
        boundary = np.arange(7, steps.size, 8)
        inside = np.delete(steps, boundary)
        assert steps[boundary].mean() > 1.3 * inside.mean(), (axis, q)


# --- damage -------------------------------------------------------------------------------------


def _damage_mask(seed: int, n: int = 10, t: int = 7) -> tuple[NDArray[np.bool_], float]:
    image = textured(64, 64, seed=seed, lo=0.2, hi=0.8)
    out = run("damage", image, {"n": n, "t": t}, seed=seed)
    changed = np.any(out != image, axis=-1)
    colours = np.unique(out[changed])
    assert colours.size == 1 and colours[0] in (0.0, 1.0), colours[:5]
    np.testing.assert_array_equal(out[~changed], image[~changed])
    return changed, float(colours[0])


def test_damage_paints_one_pure_colour_and_nothing_else() -> None:
    colours = {_damage_mask(seed)[1] for seed in range(16)}
    assert colours == {0.0, 1.0}  # white or black, p = 1/2 each


def test_damage_area_grows_with_number_and_thickness() -> None:
    def area(n: int, t: int) -> float:
        return float(np.mean([_damage_mask(s, n, t)[0].mean() for s in range(12)]))

    assert area(5, 5) < area(10, 5) < area(10, 10)
    assert area(5, 5) < area(5, 10) < area(10, 10)


def test_damage_lines_are_thick() -> None:
    for seed in range(6):
        mask = _damage_mask(seed, n=5, t=5)[0].astype(np.uint8)
        opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        assert mask.sum() >= 25 and opened.sum() >= 0.6 * mask.sum()  # no 1-px lines


# --- alg.artifact -------------------------------------------------------------------------------


def _padded(image: Image) -> NDArray[np.float64]:
    return np.pad(image.astype(np.float64), ((7, 7), (7, 7), (0, 0)), mode="linear_ramp")


def test_alg_artifact_is_box_filter_of_ramp_padded_image() -> None:
    image = textured(40, 52, seed=8, lo=0.0, hi=1.0)
    pad = _padded(image)
    box = sum(pad[7 + dy : 47 + dy, 7 + dx : 59 + dx] for dy in range(-2, 3) for dx in range(-2, 3))
    assert_close_quantised(run("alg.artifact", image), quantise(box / 25))
    # Before the step's quantisation (the registry's raw function), equal to 1e-6.
    raw = get("alg.artifact").apply_fn(image, {}, np.random.default_rng(0), ImageContext())
    np.testing.assert_allclose(raw, box / 25, rtol=0, atol=1e-6)


def test_alg_artifact_is_one_richardson_lucy_iteration() -> None:
    image = textured(40, 52, seed=9, lo=0.0, hi=1.0)
    rl = richardson_lucy(_padded(image), np.ones((5, 5, 1)) / 25, num_iter=1)[7:-7, 7:-7]
    assert_close_quantised(run("alg.artifact", image), quantise(rl))


def test_alg_artifact_darkens_a_2px_border_only() -> None:
    image = np.full((32, 32, 3), 153 / 255, np.float32)
    out = run("alg.artifact", image)
    np.testing.assert_array_equal(out[2:-2, 2:-2], image[2:-2, 2:-2])
    for edge in (out[0], out[-1], out[:, 0], out[:, -1]):
        assert edge.max() < image[0, 0, 0] - 3 * LEVEL
    assert out[1, 5:-5].max() < image[0, 0, 0] and out[0, 5:-5].max() < out[1, 5:-5].min()


# --- haze and snow ------------------------------------------------------------------------------


def _depth_ctx(
    tmp_path: Path, depth: NDArray[np.float64], masks: Path | None = None
) -> ImageContext:
    """A context whose depth is ``depth`` (FolderDepth) and, if given, whose snow is ``masks``."""
    np.save(tmp_path / "scene.npy", depth)
    snow = ProceduralSnow() if masks is None else FolderSnowMasks(masks)
    return ImageContext(name="scene", depth_source=FolderDepth(tmp_path), snow_source=snow)


@pytest.mark.parametrize(("A", "beta"), [(0.9, 1.8), (0.8, 0.5), (1.0, 2.5)])
def test_haze_on_constant_depth_follows_the_formula(tmp_path: Path, A: float, beta: float) -> None:
    image = textured(48, 48, seed=10, lo=0.0, hi=1.0)
    ctx = _depth_ctx(tmp_path, np.full((48, 48), 3.0))  # normalised by its maximum: d = 1
    t = math.exp(-beta)
    expected = quantise(image.astype(np.float64) * t + A * (1 - t))
    assert_close_quantised(run("haze", image, {"A": A, "beta": beta}, ctx=ctx), expected)


def test_haze_follows_the_formula_on_a_supplied_depth_map(tmp_path: Path) -> None:
    image = textured(48, 64, seed=11, lo=0.0, hi=1.0)
    depth = np.add.outer(np.linspace(2.0, 0.6, 48), np.linspace(0.0, 0.4, 64))
    ctx = _depth_ctx(tmp_path, depth)
    t = np.exp(-1.8 * depth / depth.max())[..., None]
    expected = quantise(image.astype(np.float64) * t + 0.9 * (1 - t))
    assert_close_quantised(run("haze", image, ctx=ctx), expected)


def test_haze_on_vertical_ramp_is_denser_at_the_top() -> None:
    black = np.zeros((48, 32, 3), np.float32)
    out = run("haze", black, ctx=ImageContext(depth_source=VerticalRampDepth()))
    rows = out[..., 0].mean(axis=1)
    assert np.all(np.diff(rows) <= 0) and rows[0] - rows[-1] > 0.3
    assert np.all(out == out[:, :1])  # depth depends on the row only
    assert abs(rows[0] - 0.9 * (1 - math.exp(-1.8))) <= LEVEL  # d = 1 at the top


@pytest.mark.parametrize("name", ["haze", "snow"])
def test_veil_makes_output_brighter_and_flatter(tmp_path: Path, name: str) -> None:
    image = textured(64, 64, seed=12, lo=0.0, hi=0.8)
    for ctx in (ImageContext(), _depth_ctx(tmp_path, np.ones((64, 64)))):
        out = run(name, image, ctx=ctx)
        assert out.mean() > image.mean() + 0.1
        assert out.std() < 0.8 * image.std()


def test_snow_follows_the_formula_with_a_supplied_mask(tmp_path: Path) -> None:
    image = textured(48, 48, seed=16, lo=0.0, hi=1.0)
    mask = np.round(np.random.default_rng(3).random((48, 48)) ** 4 * 255).astype(np.uint8)
    (tmp_path / "masks").mkdir()
    assert cv2.imwrite(str(tmp_path / "masks" / "flakes.png"), mask)
    ctx = _depth_ctx(tmp_path, np.full((48, 48), 2.0), masks=tmp_path / "masks")
    m, t = (mask / 255.0)[..., None], math.exp(-0.75)  # constant depth: d = 1
    snowy = image.astype(np.float64) * (1 - m) + m
    assert_close_quantised(run("snow", image, ctx=ctx), quantise(snowy * t + 0.9 * (1 - t)))


@pytest.mark.parametrize("depth", ["ramp", "proxy"])
def test_snow_only_adds_white_to_the_haze(depth: str) -> None:
    # J(1−M)+M ≥ J for M, J in [0, 1]; the veil and the rounding are monotone in the input, so
    # snow(A, β) ≥ haze(A, β) holds exactly, pixel by pixel, with the same depth.
    image = textured(64, 64, seed=13, lo=0.0, hi=1.0)
    for params in ({"A": 0.9, "beta": 0.75}, {"A": 0.8, "beta": 0.5}, {"A": 0.95, "beta": 1.0}):
        ctxs = [ImageContext(depth_source=VerticalRampDepth()) for _ in range(2)]
        if depth == "proxy":
            ctxs = [ImageContext(), ImageContext()]
        snow = run("snow", image, params, seed=1, ctx=ctxs[0])
        haze = run("haze", image, params, seed=1, ctx=ctxs[1])
        assert np.all(snow >= haze)
        flakes = np.any(snow > haze, axis=-1).mean()
        assert 0.005 < flakes < 0.5, flakes


# --- rain ---------------------------------------------------------------------------------------


def test_rain_only_increases_and_is_grey() -> None:
    image = textured(64, 64, seed=14, lo=0.0, hi=0.6)
    for seed in range(4):
        out = run("rain", image, seed=seed)
        assert np.all(out >= image)
        added = out - image
        unclipped = np.all(out < 1.0, axis=-1)
        spread = added[unclipped].max(axis=-1) - added[unclipped].min(axis=-1)
        assert spread.max() < 1e-6  # the same rain layer on all three channels
        assert np.any(added > 0)


def test_rain_density_grows_with_value() -> None:
    image = textured(96, 96, seed=15, lo=0.0, hi=0.5)

    def density(value: int) -> float:
        outs = [run("rain", image, {"value": value}, seed=s) for s in range(10)]
        return float(np.mean([np.any(out > image, axis=-1).mean() for out in outs]))

    low, mid, high = density(50), density(75), density(99)
    assert low < mid < high
    assert high > 1.4 * low


def test_rain_streaks_are_vertical_at_angle_zero() -> None:
    kern = streak_kernel(30, 0, 5)
    y, x = np.mgrid[0:30, 0:30]
    mass = kern.sum()
    var_x = (kern * (x - (kern * x).sum() / mass) ** 2).sum() / mass
    var_y = (kern * (y - (kern * y).sum() / mass) ** 2).sum() / mass
    assert var_y > 20 * var_x and kern.min() >= 0 and mass > 1.5  # not normalised


# --- offline proxies: depth and snow mask -------------------------------------------------------


def test_proxy_depth_is_normalised_and_far_at_the_top() -> None:
    flat = np.full((64, 48, 3), 0.5, np.float32)
    depth = ProxyDepth().depth(flat, "")
    assert depth.shape == (64, 48) and depth.min() >= 0.1 - 1e-6
    assert abs(float(depth.max()) - 1.0) < 1e-6
    rows = depth.mean(axis=1)
    assert rows[0] > rows[-1] + 0.3 and np.all(np.diff(rows) <= 1e-6)


def test_procedural_snow_mask_covers_a_few_percent() -> None:
    masks = [ProceduralSnow().mask(128, 128, np.random.default_rng(s)) for s in range(4)]
    for mask in masks:
        assert mask.shape == (128, 128) and mask.min() >= 0.0 and mask.max() <= 1.0
    assert 0.015 < float(np.mean(masks)) < 0.06  # "about 3-4 % mean coverage"
