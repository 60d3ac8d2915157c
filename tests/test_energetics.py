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
