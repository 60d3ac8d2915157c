"""Arrhenius fit and the diffusivity MD route (tiny real LAMMPS run)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dealloy.analysis.diffusivity import KB_EV, arrhenius, predict
from dealloy.potentials.diffusivity import DiffusivityParams
from dealloy.errors import ConfigError


def test_arrhenius_recovers_activation_energy_and_extrapolates():
    ea, d0 = 0.45, 2e-3
    temps = np.array([500.0, 600.0, 700.0, 800.0])
    d = d0 * np.exp(-ea / (KB_EV * temps))
    fit = arrhenius(temps, d, 0.1 * d)
    assert fit["activation_energy_ev"] == pytest.approx(ea, rel=1e-6)
    d300, sig = predict(fit, 300.0)
    assert d300 == pytest.approx(d0 * math.exp(-ea / (KB_EV * 300.0)), rel=1e-6)
    assert sig > 0  # extrapolation carries the fit's uncertainty


def test_bad_diffusivity_parameters():
    with pytest.raises(ConfigError, match="temperatures"):
        DiffusivityParams(temperatures_k=(-5.0,)).check()
    with pytest.raises(ConfigError, match="fewer than 8"):
        DiffusivityParams(time_ps=0.2, record_every_ps=0.1).check()


@pytest.mark.slow
def test_li_md_in_crystal_gives_finite_msd_and_keeps_the_crystal():
    from dealloy.potentials.diffusivity import li_diffusion_md
    from dealloy.analysis.structure import Crystallinity
    from dealloy.build.crystal import li15si4_cell

    p = DiffusivityParams(time_ps=1.0, equilibrate_ps=0.2, record_every_ps=0.05)
    res, final = li_diffusion_md(li15si4_cell(), 300.0, p)
    assert res.n_atoms == 60  # the 60 Li of the cell
    assert np.all(np.isfinite(res.msd_angstrom2)) and res.msd_angstrom2.max() < 5.0
    assert Crystallinity().compute(final).results["crystalline_fraction"] > 0.8


@pytest.mark.slow
def test_melt_quenched_a_li15si4_is_not_counted_crystalline():
    from dealloy.analysis import analyze_frame
    from dealloy.builders.amorphous import amorphous_lisi

    a = amorphous_lisi(3.75, n_si=16, seed=2, protocol="fast")
    m = analyze_frame(a, metrics=("crystal",))
    # the criterion separates the crystal from a glass of the same composition
    assert m["crystalline_fraction"] < 0.1
