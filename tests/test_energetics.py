"""Formation energy, lower hull and voltage arithmetic on cases with known answers."""

import pytest

from dealloy.potentials.energetics import (average_voltage, formation_energy_per_si, lower_hull,
                                           voltage_profile)


def test_formation_energy_of_li15si4_reference():
    # DFT: E_f = -0.243 eV/atom for Li15Si4 -> per Si = -0.243 * 19/4; extraction energy per Li 0.3078
    e_per_si = -0.243 * 19 / 4
    e_total = e_per_si * 16 + 60 * (-1.9) + 16 * (-5.4)
    assert formation_energy_per_si(e_total, 60, 16, -1.9, -5.4) == pytest.approx(e_per_si)
    assert average_voltage(0.0, 0.0, 3.75, e_per_si) == pytest.approx(0.3078, abs=1e-4)


def test_lower_hull_drops_points_above_and_keeps_lowest_duplicate():
    x = [0, 1, 2, 3, 1]
    e = [0, -1, -1.2, 0, -0.5]
    hx, he = lower_hull(x, e)
    assert list(hx) == [0, 1, 2, 3] and list(he) == [0, -1, -1.2, 0]
    hx, he = lower_hull([0, 1, 2], [0, 0.5, 0])  # a point above the chord is not on the hull
    assert list(hx) == [0, 2]


def test_voltage_profile_decreases_along_the_hull():
    steps = voltage_profile([0, 1, 2, 3.75], [0, -0.6, -1.0, -1.2])
    v = [s.voltage_v for s in steps]
    assert v == pytest.approx([0.6, 0.4, 0.2 / 1.75])
    assert all(a >= b for a, b in zip(v, v[1:]))  # convex hull => voltages fall with x


def test_lower_hull_agrees_with_qhull_and_handles_what_qhull_cannot():
    """scipy.spatial.ConvexHull (Qhull) as the independent check on random point sets; the
    monotone chain stays because Qhull raises on two points and on collinear sets (e.g. a point
    on the chord between the end members), which a composition series can produce."""
    import numpy as np
    from scipy.spatial import ConvexHull, QhullError

    rng = np.random.default_rng(7)
    for _ in range(50):
        x = np.sort(rng.choice(np.linspace(0, 3.75, 40), size=8, replace=False))
        e = rng.normal(-0.5, 0.4, size=8)
        hull = ConvexHull(np.column_stack([x, e]))
        # lower facets: outward normal points down (negative e component)
        lower = {int(v) for s, eq in zip(hull.simplices, hull.equations) if eq[1] < 0 for v in s}
        hx, he = lower_hull(x, e)
        assert list(hx) == sorted(x[sorted(lower)].tolist())
        assert np.allclose(he, e[np.isin(x, hx)])
    for pts in ([[0, 0], [3.75, -1.0]], [[0, 0], [1, -0.5], [2, -1.0]]):
        with pytest.raises(QhullError):
            ConvexHull(np.array(pts, float))
        hx, _ = lower_hull(*zip(*pts))
        assert list(hx) == [0, pts[-1][0]]  # collinear middle point is not a hull vertex
