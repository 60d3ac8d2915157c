"""Amorphous builders (issue 3): melt-quench a-LixSi bulk and particles, c-Si/a-LixSi core-shell.

Real LAMMPS (meam-cui2012) on tiny systems with the cheap ``protocol="fast"`` (quench 2e14 K/s),
so the structures are under-relaxed glasses: the tests check the contract and physics that do not
depend on the quench rate, and print the literature references next to the measured values
without asserting them (see benchmarks/README.md, Builders, for the standard-protocol table).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.spatial import cKDTree

from dealloy.builders import BUILDERS, amorphous_lisi, amorphous_lisi_particle, core_shell_particle
from dealloy.builders.amorphous import (REF_SI_SI_CN, REF_VOLUME_PER_SI, density_g_cm3,
                                     interior_density, si_si_coordination)
from dealloy.errors import ConfigError, SimulationError

POT = "meam-cui2012"
FAST = dict(protocol="fast", potential=POT)
REFS = ("references: a-Si 2.28 g/cm3, Si-Si CN 3.88 (2.35 Å peak); DFTB a-LixSi (Fernandez et al. "
        f"PRB 108, 144201 (2023)) V/Si by x {dict(REF_VOLUME_PER_SI)}, Si-Si CN by x "
        f"{dict(REF_SI_SI_CN)}; a-Li3.75Si 1.12-1.14 g/cm3")


def describe(atoms) -> str:
    i = atoms.info
    keys = ("x", "density_g_cm3", "volume_per_si_angstrom3", "ref_volume_per_si_angstrom3",
            "si_si_cn", "ref_si_si_cn", "interior_density_g_cm3", "bulk_density_g_cm3",
            "melt_msd_si_angstrom2", "pressure_bar", "core_radius_nm", "n_core_si")
    got = {k: round(i[k], 3) if isinstance(i[k], float) else i[k] for k in keys if k in i}
    return f"measured {got}; {REFS}"


def composition(atoms):
    s = np.array(atoms.get_chemical_symbols())
    return int((s == "Li").sum()), int((s == "Si").sum())


def min_distance(atoms) -> float:
    from ase.neighborlist import neighbor_list

    d = neighbor_list("d", atoms, 3.0)
    return float(d.min())


@pytest.fixture(scope="module")
def a_si():
    return amorphous_lisi(0.0, n_si=24, seed=0, **FAST)


@pytest.fixture(scope="module")
def a_li375si():
    return amorphous_lisi(3.75, n_si=8, seed=0, **FAST)


# ---- bulk ------------------------------------------------------------------------------------
@pytest.mark.parametrize("which, x, n_si", [
    ("a_si", 0.0, 24), pytest.param("a_li375si", 3.75, 8, marks=pytest.mark.slow)])
def test_amorphous_bulk_contract(which, x, n_si, request):
    from dealloy import __version__

    atoms = request.getfixturevalue(which)
    n_li, n_si_got = composition(atoms)
    assert (n_li, n_si_got) == (round(x * n_si), n_si)
    assert atoms.pbc.all()
    assert (atoms.arrays["grain"] == -1).all()
    info = atoms.info
    assert info["builder"] == "amorphous_lisi" and info["dealloy_version"] == __version__
    args = json.loads(info["builder_args"])
    assert args["x"] == x and args["potential"] == POT and args["protocol"] == "fast"
    json.dumps(info)
    msg = describe(atoms)
    print(msg)
    # the melt was liquid
    assert info["melt_msd_si_angstrom2"] >= info["min_melt_msd_angstrom2"], msg
    assert info["quench_rate_k_per_s"] == 2e14 and info["protocol"] == "fast"
    # relaxed to zero pressure (static virial pressure of the returned cell)
    assert abs(info["pressure_bar"]) < 2000, msg
    assert info["density_g_cm3"] == pytest.approx(density_g_cm3(atoms))
    assert min_distance(atoms) > 1.8, msg  # no collapsed pairs


@pytest.mark.parametrize("which", ["a_si", pytest.param("a_li375si", marks=pytest.mark.slow)])
def test_amorphous_density_is_the_potentials_relaxed_density(which, request):
    """Re-relaxing the cell with the potential (NPT 300 K + box minimisation) keeps the density
    within 5 %: the builder returns the potential's own relaxed a-LixSi, whatever the reference."""
    from dealloy.lammps.session import LammpsSession

    atoms = request.getfixturevalue(which)
    with LammpsSession(atoms, POT) as s:
        s.create_velocities(300.0, 7)
        s.md(2.0, 300.0, ensemble="npt")
        s.minimize(box=True)
        rho = density_g_cm3(atoms, volume=s.volume_angstrom3())
    rho0 = atoms.info["density_g_cm3"]
    assert abs(rho - rho0) <= 0.05 * rho, f"re-relaxed {rho:.3f} vs built {rho0:.3f} g/cm3; " + describe(atoms)


def test_amorphous_si_is_mostly_fourfold_or_denser(a_si):
    # fast quench: not a converged a-Si, but a bonded network (CN well above isolated Si)
    cn = si_si_coordination(a_si)
    assert 3.0 <= cn <= 7.0, describe(a_si)


@pytest.fixture(scope="module")
def a_small():
    return amorphous_lisi(0.5, n_si=16, seed=3, **FAST)


def test_same_seed_identical(a_small, caplog):
    with caplog.at_level("INFO", logger="dealloy.builders"):
        again = amorphous_lisi(0.5, n_si=16, seed=3, **FAST)
    # the phases are announced (`dealloy run` relays them while a particle is being built)
    said = caplog.text
    assert "melt-quench of 24 atoms: 3 ps at 3000 K, quench to 300 K at 2e+14 K/s (13.5 ps)" in said
    assert "melt done" in said and "quench and relaxation done" in said
    assert again.get_chemical_symbols() == a_small.get_chemical_symbols()
    assert np.allclose(again.positions, a_small.positions, atol=1e-8)
    assert np.allclose(again.cell, a_small.cell, atol=1e-8)


def test_melt_must_be_liquid():
    # a "melt" far below melting does not flow: the liquid check refuses it
    with pytest.raises(SimulationError, match="not liquid"):
        amorphous_lisi(0.0, n_si=16, seed=0, melt_temperature_k=400.0, melt_ps=1.0, **FAST)


# ---- particles ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def a_particle():
    # 3 nm, from a 96-atom bulk cell: smaller cells/particles scatter by more than 5 % in density
    # (tiny fast-quenched cells are under-dense; Laplace pressure compresses small particles)
    return amorphous_lisi_particle(3.0, x=1.0, seed=1, bulk_n_si=48, **FAST)


@pytest.mark.slow
def test_amorphous_particle(a_particle):
    atoms = a_particle
    msg = describe(atoms)
    print(msg)
    n_li, n_si = composition(atoms)
    assert abs(n_li / n_si - 1.0) <= 0.01, msg
    assert not atoms.pbc.any() and (atoms.arrays["grain"] == -1).all()
    lo, hi = atoms.positions.min(0), atoms.positions.max(0)
    assert np.all(lo >= 15.0) and np.all(atoms.cell.lengths() - hi >= 15.0)
    assert abs(atoms.info["diameter_gyration_nm"] - 3.0) <= 0.543, msg
    assert atoms.info["builder"] == "amorphous_lisi_particle"
    rho_bulk = atoms.info["bulk_density_g_cm3"]
    rho_in = interior_density(atoms, 5.0)
    assert rho_in == pytest.approx(atoms.info["interior_density_g_cm3"])
    assert abs(rho_in - rho_bulk) <= 0.05 * rho_bulk, \
        f"particle interior {rho_in:.3f} vs relaxed bulk {rho_bulk:.3f} g/cm3; {msg}"
    assert min_distance(atoms) > 1.8


@pytest.fixture(scope="module")
def core_shell():
    return core_shell_particle(2.6, dod=0.5, x_shell=3.5, seed=2, bulk_n_si=8, **FAST)


@pytest.mark.slow
def test_core_shell_particle(core_shell):
    atoms = core_shell
    msg = describe(atoms)
    print(msg)
    n_li, n_si = composition(atoms)
    assert abs(n_li / n_si - 3.75 * 0.5) <= 0.01 * 3.75 * 0.5, f"Li/Si {n_li / n_si:.3f}; {msg}"
    grain = atoms.arrays["grain"]
    core = grain == 0
    sym = np.array(atoms.get_chemical_symbols())
    assert core.sum() == atoms.info["n_core_si"] > 20 and (sym[core] == "Si").all()
    assert (grain[~core] == -1).all()
    # the core radius was solved from the composition; the core atoms fill about that sphere
    pos = atoms.positions
    c = pos[core].mean(0)
    r_core = np.linalg.norm(pos[core] - c, axis=1).max() / 10
    assert abs(r_core - atoms.info["core_radius_nm"]) < 0.3, msg
    # the core is still crystalline after relaxation: its inner Si are 4-fold at ~2.35 Å
    tree = cKDTree(pos[sym == "Si"])
    inner = pos[core][np.linalg.norm(pos[core] - c, axis=1) < 10 * r_core - 3.0]
    cn = np.array([len(n) - 1 for n in tree.query_ball_point(inner, 2.7)])
    assert len(inner) > 0 and (cn == 4).mean() >= 0.75, f"core CN {np.bincount(cn)}; {msg}"
    assert not atoms.pbc.any()
    assert abs(atoms.info["diameter_gyration_nm"] - 2.6) <= 0.543, msg


def test_core_radius_formula():
    from dealloy.builders.amorphous import core_radius_angstrom

    R, a, v = 50.0, 5.43, 75.0
    for dod, xs in [(0.2, 3.5), (0.5, 3.5), (0.9, 3.75)]:
        rc = core_radius_angstrom(R, dod, xs, a, v)
        n_core = 8 / a ** 3 * 4 / 3 * math.pi * rc ** 3
        n_shell = 4 / 3 * math.pi * (R ** 3 - rc ** 3) / v
        assert xs * n_shell / (n_core + n_shell) == pytest.approx(3.75 * dod)
    assert core_radius_angstrom(R, 1.0, 3.75, a, v) == 0.0


# ---- bad input (ConfigError before LAMMPS starts) ---------------------------------------------
@pytest.mark.parametrize("fn, kwargs, words", [
    (amorphous_lisi, dict(x=-0.1), ["x", "[0, 3.75]"]),
    (amorphous_lisi, dict(x=3.8), ["x", "[0, 3.75]"]),
    (amorphous_lisi, dict(x=1.0, n_si=0), ["n_si", ">= 1"]),
    (amorphous_lisi, dict(x=1.0, protocol="slow"), ["protocol", "standard", "fast"]),
    (amorphous_lisi, dict(x=1.0, potential="lj"), ["potential", "meam-cui2012"]),
    (amorphous_lisi, dict(x=1.0, quench_rate_k_per_s=-1), ["quench_rate_k_per_s", "> 0"]),
    (amorphous_lisi_particle, dict(diameter_nm=0, x=1.0), ["diameter_nm", "> 0"]),
    (amorphous_lisi_particle, dict(diameter_nm=3, x=4.0), ["x", "[0, 3.75]"]),
    (amorphous_lisi_particle, dict(diameter_nm=3, x=1.0, melt_kelvin=3000), ["melt_kelvin"]),
    (core_shell_particle, dict(diameter_nm=3, dod=0), ["dod", "(0, 1]"]),
    (core_shell_particle, dict(diameter_nm=3, dod=1.2), ["dod", "(0, 1]"]),
    (core_shell_particle, dict(diameter_nm=3, dod=0.99, x_shell=3.5), ["dod", "x_shell"]),
    (core_shell_particle, dict(diameter_nm=-1, dod=0.5), ["diameter_nm"]),
    (core_shell_particle, dict(diameter_nm=3, dod=0.5, x_shell=5), ["x_shell", "3.75"]),
])
def test_bad_input_is_a_clear_config_error(fn, kwargs, words, monkeypatch):
    import dealloy.builders.amorphous as amorphous
    import dealloy.lammps.lattice as lattice

    def no_lammps(*a, **k):
        raise AssertionError("LAMMPS started before the arguments were checked")

    for module in (amorphous, lattice):  # every builder's way into LAMMPS
        monkeypatch.setattr(module, "LammpsSession", no_lammps)
    with pytest.raises(ConfigError) as exc:
        fn(**kwargs)
    for w in words:
        assert w in str(exc.value), f"{w!r} not in message: {exc.value}"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_unknown_builder_keyword_is_refused_before_lammps(name, monkeypatch):
    """``particle.args`` are the builder's keywords: a misspelt one (``diameter`` for
    ``diameter_nm``) must be refused by name before anything runs, never silently ignored
    (the amorphous builders forward ``**protocol_overrides``, which must not swallow it)."""
    import dealloy.builders.amorphous as amorphous
    import dealloy.lammps.lattice as lattice

    def no_lammps(*a, **k):
        raise AssertionError("LAMMPS started before the arguments were checked")

    for module in (amorphous, lattice):  # every builder's way into LAMMPS
        monkeypatch.setattr(module, "LammpsSession", no_lammps)
    good = {"li15si4_cell": {}, "si_particle": dict(diameter_nm=2.0),
            "li15si4_particle": dict(diameter_nm=2.0), "amorphous_lisi": dict(x=1.0),
            "amorphous_lisi_particle": dict(diameter_nm=2.0, x=1.0),
            "core_shell_particle": dict(diameter_nm=2.0, dod=0.5)}[name]
    with pytest.raises((ConfigError, TypeError), match="diameter_typo_nm"):
        BUILDERS[name](**good, diameter_typo_nm=3.0)


def test_cli_amorphous_roundtrip(tmp_path, capsys, a_small):
    from ovito.io import import_file

    from dealloy.cli import main
    from dealloy.io import read_structure

    out = tmp_path / "a.xyz"
    main(["build", "amorphous-lisi", "--x", "0.5", "--n-si", "16", "--protocol", "fast", "--potential", POT,
          "--seed", "3", "-o", str(out)])
    ref = a_small  # same arguments in memory: the CLI writes the identical structure
    back = read_structure(out)
    assert back.get_chemical_symbols() == ref.get_chemical_symbols()
    assert np.allclose(back.positions, ref.positions, atol=1e-5)
    assert back.info["builder"] == "amorphous_lisi" and back.pbc.all()
    assert json.loads(back.info["builder_args"])["seed"] == 3
    data = import_file(str(out)).compute()
    types = data.particles.particle_types
    assert [types.type_by_id(int(t)).name for t in np.asarray(types)] == ref.get_chemical_symbols()
    assert np.allclose(np.asarray(data.particles.positions), ref.positions, atol=1e-5)
