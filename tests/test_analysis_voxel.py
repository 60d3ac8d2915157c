"""The hand-written voxel pieces against porespy and analytic cases."""

from __future__ import annotations

import numpy as np
import pytest

from dealloy.analysis.trajectory import msd, unwrap
from dealloy.analysis.voxel import local_thickness_samples, thickness_stats


@pytest.fixture(scope="module")
def blobs():
    import porespy as ps  # a runtime dependency: never skip the independent check
    return ps.generators.blobs(shape=[64, 64, 64], porosity=0.5, blobiness=0.4, seed=4)


def test_sampled_local_thickness_equals_brute_force(blobs):
    from dealloy.analysis.voxel import _edt

    dt = _edt(blobs)
    centres, r = np.argwhere(blobs), dt[blobs]
    exact_ridge, samples = local_thickness_samples(blobs, 300, np.random.default_rng(0),
                                                   ridge_alpha=1.0)
    fast, samples2 = local_thickness_samples(blobs, 300, np.random.default_rng(0))
    assert np.array_equal(samples, samples2)
    brute = np.array([r[((centres - p) ** 2).sum(1) < r * r].max() for p in samples])
    # the largest EDT ball containing the voxel, by brute force: exact with the exact ridge
    assert np.allclose(exact_ridge, brute)
    # the default thinned ridge (alpha = 0.85): (almost) every point exact
    assert np.mean(np.isclose(fast, brute)) >= 0.99
    assert np.mean(brute - fast) < 0.005 * np.mean(brute)


def test_sampled_local_thickness_agrees_with_porespy(blobs):
    import porespy as ps

    ref = ps.filters.local_thickness(blobs, method="dt", smooth=False)[blobs]
    radii, _ = local_thickness_samples(blobs, 4000, np.random.default_rng(0))
    # porespy uses integer radii (floors by up to one voxel); the distributions agree otherwise
    assert np.mean(ref) <= np.mean(radii) <= 1.1 * np.mean(ref) + 0.5
    assert np.median(radii) == pytest.approx(np.median(ref), abs=1.0)


def test_local_thickness_of_a_voxel_ball_is_its_diameter():
    n, r = 41, 12
    g = np.indices((n, n, n)) - n // 2
    ball = (g**2).sum(0) <= r * r
    radii, _ = local_thickness_samples(ball, 3000, np.random.default_rng(1))
    d = thickness_stats(radii, 1.0, 0.1)
    d_equiv = 2 * (3 * ball.sum() / (4 * np.pi)) ** (1 / 3)  # volume-equivalent diameter
    assert d["mean"] * 10 == pytest.approx(d_equiv, rel=0.05)
    assert d["std"] == pytest.approx(0.0, abs=1e-6)  # one ball: one thickness everywhere


def test_msd_of_a_random_walk_gives_its_diffusion_coefficient():
    rng = np.random.default_rng(0)
    d_true = 1e-5  # cm^2/s = 0.1 Å^2/ps
    dt = 0.5
    steps = rng.normal(0, np.sqrt(2 * 0.1 * dt), (400, 500, 3))
    x = np.cumsum(steps, axis=0)
    res = msd(np.arange(400) * dt, x, fit_window=(0.05, 0.3))
    assert res.diffusion_cm2_per_s == pytest.approx(d_true, rel=0.15)
    assert 0 < res.diffusion_stderr_cm2_per_s < 0.5 * d_true


def test_unwrap_across_periodic_boundary():
    cell = np.eye(3) * 10.0
    true = np.array([[[9.0, 0, 0]], [[10.5, 0, 0]], [[12.0, 0, 0]]])
    wrapped = np.mod(true, 10.0)
    assert np.allclose(unwrap(list(wrapped), cell), true)
