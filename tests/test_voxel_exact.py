"""The voxel metrics' morphology without float distance grids is bit for bit the EDT-threshold
definition it replaced (benchmarks/README.md, "Analysis": the opening and the convention band's
boundary shift are ball dilations; the EDT of the grid cost 4-8x the CPU time and 4 bytes per
voxel). The references below are the EDT formulas of dealloy 715b145, verbatim."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from dealloy.analysis import voxel as V


def opening_by_edt(mask, r_vox, periodic=False):
    if r_vox <= 0 or not mask.any():
        return mask
    periodic = V._axes(periodic)
    if any(periodic):
        padded, cut = V._wrap_pad(mask, int(np.ceil(r_vox)) + 2, periodic)
        return np.ascontiguousarray(opening_by_edt(padded, r_vox)[cut])
    centres = V._edt(mask) >= r_vox
    if not centres.any():
        return np.zeros_like(mask)
    return mask & (V._edt(~centres) < r_vox)


def shift_by_edt(solid, shift_vox, periodic):
    if shift_vox == 0:
        return solid.copy()
    grow = shift_vox > 0
    src = ~solid if grow else solid
    dt = V._edt_wrapped(src, int(np.ceil(abs(shift_vox))) + 2, V._axes(periodic))
    flip = src & (dt < abs(shift_vox) + 0.5)
    return (solid | flip) if grow else (solid & ~flip)


def random_masks(n, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        shape = tuple(int(x) for x in rng.integers(12, 40, 3))
        field = ndi.gaussian_filter(rng.random(shape).astype(np.float32), rng.uniform(0.7, 3.0))
        mask = field > np.quantile(field, rng.uniform(0.2, 0.85))
        periodic = tuple(bool(x) for x in rng.integers(0, 2, 3))
        yield mask, periodic


RADII = (0.5, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 3.5, 4.2, 5.5, 6.5, 7.0)


@pytest.mark.parametrize("slab_bytes", [1 << 21, 300])  # one slab; many slabs with halos
def test_ball_dilation_is_the_edt_threshold(monkeypatch, slab_bytes):
    monkeypatch.setattr(V, "_SLAB_BYTES", slab_bytes)
    for mask, _ in random_masks(5):
        for r in RADII + (12.5,):  # 12.5: 58 boxes, beyond _MAX_BALL_BOXES (the EDT fallback)
            want = V._edt(~mask) < r
            assert np.array_equal(V._ball_dilation(mask, r), want), r
            assert np.array_equal(V._ball_dilation(~mask, r, invert=True), want), r
    empty = np.zeros((9, 8, 7), bool)
    for r in (1.5, 3.5, 40.0):
        assert not V._ball_dilation(empty, r).any()
        assert V._ball_dilation(~empty, r).all()
        assert np.array_equal(V._ball_dilation(empty, r, invert=True), ~empty)


def test_ball_boxes_cover_exactly_the_float32_ball():
    assert len(V._ball_boxes(12.5)) > V._MAX_BALL_BOXES >= len(V._ball_boxes(8.5))
    for r in RADII + (np.sqrt(12.0), np.sqrt(13.0) + 1e-7, 12.5):
        k = int(np.ceil(r)) + 1
        g = np.arange(-k, k + 1)
        o = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
        ball = np.sqrt((o ** 2).sum(1).astype(np.float32)) < np.float32(r)
        boxes = V._ball_boxes(r)
        covered = np.zeros(len(o), bool)
        for a, b, c in boxes:
            covered |= np.all(np.abs(o) <= (a, b, c), axis=1)
        assert np.array_equal(covered, ball), r


@pytest.mark.parametrize("slab_bytes", [1 << 21, 300])
def test_opening_and_boundary_shift_equal_their_edt_definitions(monkeypatch, slab_bytes):
    monkeypatch.setattr(V, "_SLAB_BYTES", slab_bytes)
    for mask, periodic in random_masks(6, seed=1):
        for r in (0.5, 1.5, 2.5, 3.5, 4.2, 6.5):
            assert np.array_equal(V._opening(mask, r, periodic),
                                  opening_by_edt(mask, r, periodic)), (r, periodic)
        for s in (-3.0, -1.7, -1.0, -0.5, 0.3, 0.5, 1.0, 2.0, 3.0):
            assert np.array_equal(V.shift_boundary(mask, s, periodic),
                                  shift_by_edt(mask, s, periodic)), (s, periodic)


def test_coarse_grid_is_any_over_each_block():
    rng = np.random.default_rng(3)
    solid = rng.random((23, 17, 30)) > 0.97
    for f in (1, 2, 3, 4):
        nc, coarse = V._coarsen(solid, f)
        padded = np.zeros(nc * f, bool)
        padded[:23, :17, :30] = solid
        want = padded.reshape(nc[0], f, nc[1], f, nc[2], f).any(axis=(1, 3, 5))
        assert np.array_equal(coarse, want), f
