"""Arrhenius fit, the diffusivity parameters and options, and its MD route (tiny real LAMMPS run)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dealloy.analysis.diffusivity import (KB_EV, arrhenius, hop_statistics, predict,
                                         single_hop_diffusivity)
import dealloy.potentials.diffusivity as D
from dealloy.builders.amorphous import PROTOCOLS
from dealloy.cli import main
from dealloy.errors import ConfigError
from dealloy.potentials.cli import diffusivity_command
from dealloy.potentials.diffusivity import DiffusivityParams, run_diffusivity


def test_arrhenius_recovers_activation_energy_and_extrapolates():
    ea, d0 = 0.45, 2e-3
    temps = np.array([500.0, 600.0, 700.0, 800.0])
    d = d0 * np.exp(-ea / (KB_EV * temps))
    fit = arrhenius(temps, d, 0.1 * d)
    assert fit["activation_energy_ev"] == pytest.approx(ea, rel=1e-6)
    d300, sig = predict(fit, 300.0)
    assert d300 == pytest.approx(d0 * math.exp(-ea / (KB_EV * 300.0)), rel=1e-6)
    assert sig > 0  # extrapolation carries the fit's uncertainty


def _no_md(*args, **kwargs):
    raise AssertionError("a structure was built or MD started with bad parameters")


@pytest.fixture
def no_md(monkeypatch):
    """Make building a cell or starting MD in ``dealloy diffusivity`` fail the test."""
    for name in ("bulk_structure", "li_diffusion_md", "LammpsSession"):
        monkeypatch.setattr(D, name, _no_md)


# values the old hand-written check let through (NaN, repeats, out-of-range, unknown names)
# next to the ones it caught; each is refused by the model, naming the field
BAD = [
    ({"temperatures_k": (-5.0,)}, "temperatures_k"),
    ({"temperatures_k": (500.0, float("nan"))}, "temperatures_k"),
    ({"temperatures_k": (500.0, 500.0)}, "temperatures_k"),
    ({"temperatures_k": (5000.0,)}, "temperatures_k"),
    ({"time_ps": 0.2, "record_every_ps": 0.1}, "time_ps"),
    ({"record_every_ps": 1e-4, "time_ps": 1.0}, "record_every_ps"),
    ({"equilibrate_ps": float("nan")}, "equilibrate_ps"),
    ({"li_vacancies": 60}, "li_vacancies"),
    ({"cells": 0}, "cells"),
    ({"seed": -1}, "seed"),
    ({"potential": "nope"}, "potential"),
    ({"amorphous_protocol": "slow"}, "amorphous_protocol"),
    ({"phases": ("liquid",)}, "phases"),
    ({"phases": ("crystalline", "crystalline")}, "phases"),
    ({"fit_window": (0.8, 0.2)}, "fit_window"),
    ({"extrapolate_to_k": -300.0}, "extrapolate_to_k"),
    ({"temperature_k": 500.0}, "temperature_k"),  # a typo of temperatures_k
]


@pytest.mark.parametrize("values, field", BAD)
def test_bad_parameter_is_one_line_naming_the_field_before_any_md(tmp_path, no_md, values, field):
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as err:
        run_diffusivity(values, out)  # a dict of fields is checked before any MD
    msg = str(err.value)
    assert msg.startswith(f"run_diffusivity.{field}: ") and "\n" not in msg, msg
    with pytest.raises(ConfigError, match=f"^DiffusivityParams.{field}: "):
        DiffusivityParams.checked(**values)
    assert not out.exists()


@pytest.mark.parametrize("args, option", [
    (["--temperatures", "500,nan"], "--temperatures"),   # the old check let NaN through
    (["--temperatures", "700,700"], "--temperatures"),   # and repeats
    (["--temperatures", "500,x"], "--temperatures"),
    (["--seed", "-1"], "--seed"),                        # and a seed numpy refuses
    (["--equilibrate-ps", "inf"], "--equilibrate-ps"),   # and an endless equilibration
    (["--time-ps", "0.5"], "--time-ps"),                 # fewer than 8 recorded frames
    (["--li-vacancies", "60"], "--li-vacancies"),        # all of the crystal's Li
    (["--potential", "nope"], "--potential"),
    (["--cells", "11"], "--cells"),
])
def test_cli_refuses_a_bad_option_before_any_md_naming_it(tmp_path, no_md, capsys, args, option):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["diffusivity", *args, "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and err.startswith(f"dealloy: error: {option}") and "\n" not in err, err
    assert not out.exists()


def test_cli_options_take_defaults_and_ranges_from_the_model(capsys):
    fields = DiffusivityParams.model_fields
    opts = {p.name: p for p in diffusivity_command.params}
    for name in ("time_ps", "equilibrate_ps", "cells", "li_vacancies", "potential", "seed",
                 "amorphous_protocol"):
        assert opts[name].default == fields[name].default, name
        assert fields[name].description in opts[name].help, name
    assert opts["temperatures_k"].default == "500,600,700,800"
    assert set(opts["amorphous_protocol"].type.choices) == set(PROTOCOLS)
    main(["diffusivity", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(>= 1, <= 10) [default: 1]" in help_text  # --cells: its bounds, from the field


def test_single_hop_floor_is_one_nearest_neighbour_hop_of_one_li_over_the_run():
    from dealloy.build.crystal import li15si4_cell

    cell = li15si4_cell()
    li = [i for i, s in enumerate(cell.get_chemical_symbols()) if s == "Li"]
    dist = cell.get_all_distances(mic=True)[np.ix_(li, li)]
    np.fill_diagonal(dist, np.inf)
    d_nn = np.median(dist.min(axis=1))
    assert 2.3 < d_nn < 3.0  # Li-Li nearest neighbours in c-Li15Si4
    floor = single_hop_diffusivity(cell, 20.0)
    assert floor == pytest.approx(d_nn**2 / (6 * 60 * 20.0) * 1e-4, rel=1e-9)
    assert single_hop_diffusivity(cell, 40.0) == pytest.approx(floor / 2)  # longer run, lower floor
    slab = cell.copy()  # periodic in x and y only, no cell vector along z: closed, not O(N^2)
    slab.pbc = (True, True, False)
    slab.cell[2] = 0.0
    assert single_hop_diffusivity(slab, 20.0) == pytest.approx(floor, rel=0.1)
    with pytest.raises(ValueError, match="time_ps"):
        single_hop_diffusivity(cell, 0.0)
    with pytest.raises(ValueError, match="at least two"):
        single_hop_diffusivity(cell[[i for i in range(len(cell)) if i not in li[1:]]], 20.0)


def test_arrhenius_linearity_test_tells_a_bent_line_from_a_straight_one():
    t = np.array([500.0, 600.0, 700.0, 800.0])
    straight = 1e-3 * np.exp(-0.3 / (KB_EV * t))
    fit = arrhenius(t, straight, 0.05 * straight)
    assert fit["linearity_p_value"] > 0.5 and fit["reduced_chi2"] < 1e-6
    bent = straight * np.array([1.0, 1.0, 4.0, 4.0])  # a glass that turns liquid above 600 K
    fit = arrhenius(t, bent, 0.05 * bent)
    assert fit["linearity_p_value"] < 1e-6
    assert "linearity_p_value" not in arrhenius(t[:2], straight[:2], 0.05 * straight[:2])


def test_hop_statistics_counts_hops_with_poisson_errors_and_limits():
    floor = 1e-7
    none = hop_statistics(0.0, 0.0, floor)  # no hop seen: 95 % upper limit 3.0 hops (Gehrels)
    assert not none["resolved"] and none["upper_limit_cm2_per_s"] == pytest.approx(2.996e-7, rel=1e-3)
    few = hop_statistics(3e-7, 1e-8, floor)  # 3 hops: counting error sqrt(3) hops, not the fit's
    assert few["hops"] == pytest.approx(3.0) and not few["resolved"]
    assert few["stderr_with_counting_cm2_per_s"] == pytest.approx(np.sqrt(3) * floor)
    assert hop_statistics(5e-7, 1e-8, floor)["resolved"]  # 5 hops: D > 2 sqrt(5) floor
    noisy = hop_statistics(2e-6, 1.5e-6, floor)  # 20 hops but within 2 fit errors of 0
    assert not noisy["resolved"] and noisy["upper_limit_cm2_per_s"] == pytest.approx(5e-6)
    neg = hop_statistics(-5e-8, 2e-8, floor)
    assert neg["hops"] == 0.0 and neg["upper_limit_cm2_per_s"] == pytest.approx(2.996e-7, rel=1e-3)


def test_unresolved_d_is_left_out_and_bounds_the_ratio(tmp_path, diffusivity_without_md):
    """The writer's own code with the MD replaced by known D and errors: unresolved runs are
    not fitted; a crystal that melted or a glass that crystallised gives nothing; the others
    give ratios or bounds."""
    from dealloy.build.crystal import li15si4_cell
    from dealloy.builders.amorphous import random_packing

    # (D, fit stderr) per phase and T; floor ~1e-7 cm^2/s (76-atom cell, 20 ps)
    runs = {"crystalline": {500.0: (1e-9, 1e-10),     # no hop: upper limit 3 hops
                            600.0: (2e-6, 1.5e-6),    # 20 hops but within 2 fit errors
                            700.0: (4e-6, 4e-7),      # resolved
                            800.0: (8e-6, 4e-7),      # resolved
                            900.0: (9e-6, 4e-7),      # resolved but the crystal melted
                            1000.0: (1e-5, 4e-7)},    # resolved
            "amorphous": {500.0: (2e-5, 1e-6), 600.0: (3e-5, 1e-6), 700.0: (1e-5, 1e-6),
                          800.0: (1e-8, 1e-9), 900.0: (5e-5, 1e-6),
                          1000.0: (6e-5, 1e-6)}}      # resolved but the glass crystallised
    glass = random_packing(60, 16, 76 * 17.0, np.random.default_rng(0))

    def result(phase, temperature_k):
        lost = (phase, temperature_k) in (("crystalline", 900.0), ("amorphous", 1000.0))
        crystal = (phase == "crystalline") != lost
        return (*runs[phase][temperature_k], li15si4_cell() if crystal else glass)

    diffusivity_without_md(result)
    lines = []
    out = run_diffusivity({"temperatures_k": (500.0, 600.0, 700.0, 800.0, 900.0, 1000.0)}, tmp_path,
                          echo=lines.append)
    floor = single_hop_diffusivity(li15si4_cell(), 20.0)
    rows = {(r["phase"], r["temperature_k"]): r for r in out["runs"]}
    hs = {k: hop_statistics(*runs[k[0]][k[1]], floor) for k in rows}
    assert [k for k, r in rows.items() if r["used_in_fit"]] == [
        ("crystalline", 700.0), ("crystalline", 800.0), ("crystalline", 1000.0),
        ("amorphous", 500.0), ("amorphous", 600.0), ("amorphous", 700.0), ("amorphous", 900.0)]
    assert not rows["crystalline", 900.0]["kept"] and rows["crystalline", 900.0]["resolved"]
    assert not rows["amorphous", 1000.0]["kept"] and rows["amorphous", 1000.0]["resolved"]
    assert out["fits"]["crystalline"]["n_points"] == 3 and out["fits"]["amorphous"]["n_points"] == 4
    # 1000 K: both resolved, but the glass crystallised, so no ratio there
    assert out["c_over_a_ratio_by_temperature"] == {"700.0": pytest.approx(0.4)}
    lower_a = {t: runs["amorphous"][t][0] - 2 * hs["amorphous", t]["stderr_with_counting_cm2_per_s"]
               for t in (500.0, 600.0)}
    assert out["c_over_a_upper_bound_by_temperature"] == {
        "500.0": pytest.approx(hs["crystalline", 500.0]["upper_limit_cm2_per_s"] / lower_a[500.0]),
        "600.0": pytest.approx(5e-6 / lower_a[600.0])}  # D + 2 fit errors, above 3 hops
    assert out["c_over_a_lower_bound_by_temperature"] == {"800.0": pytest.approx(
        (8e-6 - 2 * hs["crystalline", 800.0]["stderr_with_counting_cm2_per_s"])
        / hs["amorphous", 800.0]["upper_limit_cm2_per_s"])}
    assert sum("(not resolved:" in m for m in lines) == 3
    assert sum("(crystal lost:" in m for m in lines) == 1
    assert sum("(glass crystallised:" in m for m in lines) == 1
    assert "upper_limit_cm2_per_s" in (tmp_path / "diffusivity.csv").read_text()
    # the figure draws a bound as a bound and a lost crystal as left out, never as a measured D
    from dealloy.potentials.diffusivity import plot_arrhenius

    assert (tmp_path / "arrhenius.png").stat().st_size > 0
    drawn = plot_arrhenius(out, tmp_path / "again.png")
    assert drawn["crystalline"] == {"measured": [700.0, 800.0, 1000.0],
                                    "upper_limits": [500.0, 600.0], "lost": [900.0]}
    assert drawn["amorphous"] == {"measured": [500.0, 600.0, 700.0, 900.0], "upper_limits": [800.0],
                                  "lost": [1000.0]}
    # the summary is a pure function of the runs: refreshing it from the JSON gives it back
    from dealloy.potentials.diffusivity import summarize_diffusivity

    again = summarize_diffusivity(out["runs"], DiffusivityParams(**out["params"]), echo=lambda m: None)
    assert again == {k: v for k, v in out.items() if k != "wall_s"}


def test_a_run_is_kept_only_while_it_is_still_its_phase():
    from dealloy.potentials.diffusivity import phase_kept

    assert phase_kept("crystalline", 0.5) and not phase_kept("crystalline", 0.49)
    assert phase_kept("amorphous", 0.19) and not phase_kept("amorphous", 0.5)
    with pytest.raises(ValueError, match="phase must be one of"):
        phase_kept("liquid", 0.0)


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
