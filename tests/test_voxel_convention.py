"""The voxel metrics' solid-boundary convention (issue 16, part 2) on geometries of known answer.

The solid is the half-density surface of the atoms' volume (docs/analysis.md, "Voxel metrics"):
a dense region of N atoms of atomic volume Ω must occupy N Ω, a slab of n atomic planes its mass
thickness n d, a periodic array of cavities its known porosity and pore size. Each known answer
is computed from the atoms alone (counts x Ω), never from the code under test. The structures:
diamond Si (a = 5.431 Å, Ω = a³/8) cut with ASE, and a 216-Si a-Si cell melt-quenched with
meam-godet2020 (tests/data/a-si-216-meam-godet2020.extxyz.gz: ``amorphous_lisi(0.0, n_si=216,
seed=1, protocol="fast", quench_rate_k_per_s=5e13, melt_ps=6, relax_ps=5)``, 2.31 g/cm³; its Ω
is its own volume per atom).

Before this convention (solvent-excluded surface of 2.0 Å atoms, 2.5 Å probe) the solid reached
~2 Å beyond the atom centres: slab solid volumes +17 %, a 1.77 nm slab read 1.91 nm with 3.11 nm
gaps for 3.5 nm, cavity arrays read porosity 0.26 for 0.37; those assertions fail there.
"""

from __future__ import annotations

import gzip
import warnings

import ase.io
import numpy as np
import pytest
from ase.build import bulk

from dealloy.analysis import VoxelMetrics, analyze_frame
from dealloy.analysis.voxel import (VoxelParams, smallest_pore_diameter_angstrom,
                                    volume_fraction_field, _grid)
from dealloy.analysis.frame import as_frame
from test_analysis_structures import DATA, li15si4_cell

A_SI = 5.431
OMEGA_CSI = A_SI**3 / 8
WIDTH = VoxelParams().density_width_angstrom
BAND = VoxelParams().boundary_band_angstrom


# ---- structures of known answer ----------------------------------------------------------------
def diamond(rep):
    return bulk("Si", "diamond", a=A_SI, cubic=True).repeat(rep)


def a_si_cell():
    with gzip.open(DATA / "a-si-216-meam-godet2020.extxyz.gz", "rt") as f:
        return ase.io.read(f, format="extxyz")


def slab_stack(n_layers: int, gap: float, n_slabs: int = 2):
    """Periodic stack of (001) c-Si slabs of n planes (mass thickness n a/4) and vacuum gaps."""
    d = A_SI / 4
    col = diamond((2, 2, int(np.ceil(n_layers / 4)) + 1))
    slab = col[np.round(col.positions[:, 2] / d).astype(int) < n_layers]
    period = n_layers * d + gap
    atoms = slab.copy()
    for k in range(1, n_slabs):
        s = slab.copy()
        s.positions[:, 2] += k * period
        atoms += s
    atoms.cell = [2 * A_SI, 2 * A_SI, n_slabs * period]
    atoms.pbc = True
    atoms.positions[:, 2] += d / 2
    return atoms, n_layers * d, gap, OMEGA_CSI


def a_si_slab(thickness_cut: float = 20.0, period: float = 60.0, n_slabs: int = 2):
    """A stack of ``n_slabs`` a-Si slabs per cell (one every ``period`` Å along z) cut from the
    tiled cell, periodic in x, y; mass thickness N Ω / area of one slab. Two or more slabs per
    cell stay a periodic stack (dealloy.periodicity); one is a slab in vacuum."""
    src = a_si_cell()
    omega = src.get_volume() / len(src)
    big = src.repeat((1, 1, int(np.ceil(thickness_cut / src.cell[2, 2])) + 1))
    z = big.positions[:, 2]
    slab = big[(z >= 5.0) & (z < 5.0 + thickness_cut)]
    t_mass = len(slab) * omega / (slab.cell[0, 0] * slab.cell[1, 1])
    atoms = slab.copy()
    for k in range(1, n_slabs):
        s = slab.copy()
        s.positions[:, 2] += k * period
        atoms += s
    atoms.cell[2, 2] = n_slabs * period
    return atoms, t_mass, period - t_mass, omega


def wire_array(radius: float, spacing_cells: int, length_cells: int = 2, n_wires: int = 2):
    """[001] c-Si wires; mass diameter of one wire from N Ω per length. ``n_wires`` = 2: a
    periodic square array, two wires per (2 x ``spacing_cells``)² cell at its (1/4, 1/4) and
    (3/4, 3/4) points (nearest wires √2 x spacing_cells unit cells apart; two vacuum gaps per
    period along x and y, so it stays periodic); 1: one wire in a cell of ``spacing_cells``
    unit cells (a wire in vacuum by dealloy.periodicity's rule)."""
    k = spacing_cells * (2 if n_wires == 2 else 1)
    a = diamond((k, k, length_cells))
    step = spacing_cells * A_SI
    centres = [np.full(2, step / 2)] + ([np.full(2, 1.5 * step)] if n_wires == 2 else [])
    keep = np.zeros(len(a), bool)
    for c in centres:
        keep |= np.linalg.norm(a.positions[:, :2] - c, axis=1) < radius
    w = a[keep]
    d_mass = 2 * np.sqrt(len(w) / n_wires * OMEGA_CSI / (np.pi * length_cells * A_SI))
    return w, d_mass


def sphere(radius: float, src=None):
    """A sphere cut from c-Si (or from a tiled bulk ``src``); (atoms, mass diameter, Ω)."""
    if src is None:
        n = int(np.ceil(2 * radius / A_SI)) + 2
        src, omega = diamond((n, n, n)), OMEGA_CSI
    else:
        omega = src.get_volume() / len(src)
        src = src.repeat([int(np.ceil(2 * radius / L)) + 2 for L in src.cell.lengths()])
    c = src.cell.array.sum(0) / 2
    p = src[np.linalg.norm(src.positions - c, axis=1) < radius]
    p.positions -= c
    p.cell = np.zeros((3, 3))
    p.pbc = False
    return p, 2 * (3 * len(p) * omega / (4 * np.pi)) ** (1 / 3), omega


def pore_array(r_cut: float, n_cells: int, centre_frac=(0.5, 0.5, 0.5)):
    """A simple cubic array of cavities: one per periodic cell of n_cells³ c-Si unit cells.
    Returns (atoms, equimolar cavity diameter, known porosity)."""
    a = diamond((n_cells,) * 3)
    c = a.cell.array.T @ np.asarray(centre_frac)
    keep = np.linalg.norm(a.positions - c, axis=1) >= r_cut
    removed = int((~keep).sum())
    return a[keep], 2 * (3 * removed * OMEGA_CSI / (4 * np.pi)) ** (1 / 3), removed / len(a)


def curvature_factor(radius_mass: float, dims: int) -> float:
    """Volume factor of the half-density surface of a Gaussian-blurred ball (dims = 3) or
    cylinder (dims = 2): the level set moves in by σ² (κ1 + κ2) / 2 (heat flow over σ²/2):
    σ²/R for a ball, σ²/(2R) for a cylinder."""
    shift = WIDTH**2 / radius_mass * (1.0 if dims == 3 else 0.5)
    return (1 - shift / radius_mass) ** dims


def voxel(atoms, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "porosity is per cell" for the periodic stacks
        return VoxelMetrics(**kw).compute(atoms).results


# ---- dense phases keep their volume --------------------------------------------------------------
@pytest.mark.parametrize("phase", ["c-Si", "a-Si", "c-Li15Si4"])
def test_dense_phase_is_solid_throughout(phase):
    """Inside a dense phase the volume fraction stays clearly above the threshold (no
    sub-atomic holes): at the default width 1.5 Å the minimum is a-Si 0.66, c-Si 0.89,
    c-Li15Si4 0.92 (1.35 Å: a-Si 0.52; 1.2 Å leaves 0.2 % of the a-Si cell below 1/2)."""
    atoms = {"c-Si": lambda: diamond((3, 3, 3)), "a-Si": a_si_cell,
             "c-Li15Si4": lambda: li15si4_cell().repeat((2, 2, 2))}[phase]()
    f = as_frame(atoms)
    p = VoxelParams(voxel_angstrom=0.5)
    omega = np.where(f.symbols == "Si", p.atomic_volume_angstrom3["Si"],
                     p.atomic_volume_angstrom3["Li"])
    phi = volume_fraction_field(f.positions, omega, _grid(f, 0.5, p), p.density_width_angstrom)
    assert phi.min() > 0.6
    # the field integrates to the atoms' volume: the cell's, within the phase's own Ω
    assert phi.mean() == pytest.approx(omega.sum() / atoms.get_volume(), rel=1e-4)
    m = voxel(atoms)
    assert m["porosity"] == 0.0 and m["solid_volume_nm3"] == pytest.approx(
        atoms.get_volume() / 1e3, rel=1e-6)


@pytest.mark.parametrize("case", ["c-Si 13 planes, 3.5 nm gaps", "c-Si 8 planes, 2 nm gaps",
                                  "a-Si 2 nm, 4 nm gaps"])
def test_slab_stack_volume_thickness_and_gap(case):
    """The issue's case first: 13 (001) planes (1.77 nm) and 3.5 nm gaps read 1.91 and 3.11 nm
    before. Flat surfaces: solid volume = N Ω within 2.5 % (2 % and the grid: a face aligned with it
    is quantised to ±1/2 voxel, -2.1 % at 1.1 nm), ligament = mass thickness and pore =
    gap within one voxel (the grid's alignment and the surface atoms' ripple), porosity exact."""
    atoms, t_mass, gap, omega = {
        "c-Si 13 planes, 3.5 nm gaps": lambda: slab_stack(13, 35.0),
        "c-Si 8 planes, 2 nm gaps": lambda: slab_stack(8, 20.0),
        "a-Si 2 nm, 4 nm gaps": a_si_slab}[case]()
    m = voxel(atoms)
    assert m["solid_volume_nm3"] == pytest.approx(len(atoms) * omega / 1e3, rel=0.025)
    assert m["porosity"] == pytest.approx(gap / (t_mass + gap), abs=0.01)
    assert m["ligament_diameter_nm"]["median"] == pytest.approx(t_mass / 10, abs=0.11)
    assert m["pore_diameter_nm"]["median"] == pytest.approx(gap / 10, abs=0.11)


def test_convention_band_is_the_metric_with_the_boundary_moved():
    """The band: the same metrics with the boundary moved by -1 Å and +1 Å. On a flat slab that
    is the thickness -/+ 2 Å, the gap +/- 2 Å, the porosity +/- 2 Å / period."""
    atoms, t_mass, gap, _ = slab_stack(13, 35.0)
    m = voxel(atoms)
    lig, pore = m["ligament_diameter_nm"], m["pore_diameter_nm"]
    assert m["boundary_band_angstrom"] == BAND == 1.0
    assert lig["median_low"] < lig["median"] < lig["median_high"]
    assert lig["median_high"] - lig["median_low"] == pytest.approx(4 * BAND / 10, abs=0.1)
    assert pore["median_high"] - pore["median_low"] == pytest.approx(4 * BAND / 10, abs=0.1)
    assert lig["mean_low"] < lig["mean"] < lig["mean_high"]
    period = t_mass + gap
    # each side 2 Å / period, up to +0.012: moving a rippled voxel surface by one voxel also
    # flips the concave corners of its staircase (measured +0.005 and +0.010)
    for width in (m["porosity"] - m["porosity_low"], m["porosity_high"] - m["porosity"]):
        assert 2 * BAND / period - 0.002 <= width <= 2 * BAND / period + 0.012
    assert m["smallest_pore_diameter_nm"] > 0


@pytest.mark.parametrize("radius,cells", [(9.0, 6), (14.0, 8)])
def test_wire_array_volume_and_thickness(radius, cells):
    """[001] c-Si wires of mass diameter 1.8 and 2.9 nm (the paper's wires are ~1.8 nm; the old
    solid gave them +27 % and +14 % volume). Volume: N Ω within 2 % after the curvature shift
    of the half-density surface (-σ²/2R, -2 % at 1.8 nm), within 4 % without it. Thickness: the
    largest ball inside a wire cut from a crystal sits between its facets, up to ~one plane
    spacing per side inside the equal-area circle: between d - 0.35 nm and d + one voxel."""
    w, d_mass = wire_array(radius, cells)
    m = voxel(w)
    v_known = len(w) * OMEGA_CSI / 1e3
    assert m["solid_volume_nm3"] == pytest.approx(v_known * curvature_factor(d_mass / 2, 2),
                                                  rel=0.02)
    assert m["solid_volume_nm3"] == pytest.approx(v_known, rel=0.04)
    assert m["porosity"] == pytest.approx(1 - v_known * 1e3 / w.get_volume(), abs=0.015)
    assert d_mass / 10 - 0.35 <= m["ligament_diameter_nm"]["median"] <= d_mass / 10 + 0.1


@pytest.mark.parametrize("kind", ["c-Si", "a-Si"])
def test_sphere_volume_and_thickness(kind):
    """Spheres of 4.0 nm (c-Si) and 3.2 nm (a-Si) mass diameter: volume N Ω within 2 % after the
    curvature shift (-σ²/R), envelope porosity 0. Thickness: the largest ball inside touches the
    deepest dent of the surface (facets of the cut crystal; on the unrelaxed cut through the
    a-Si network, protruding atoms), measured 0.23 nm (c-Si) and 0.45 nm (a-Si) below the
    equal-volume diameter: asserted from d - 0.5 nm to d + one voxel (the old solid: within 0.2
    nm, but +16 % and +18 % in volume)."""
    s, d_mass, omega = sphere(20.0) if kind == "c-Si" else sphere(16.0, a_si_cell())
    m = voxel(s)
    v_known = len(s) * omega / 1e3
    assert m["solid_volume_nm3"] == pytest.approx(v_known * curvature_factor(d_mass / 2, 3),
                                                  rel=0.02)
    assert m["solid_volume_nm3"] == pytest.approx(v_known, rel=0.045)
    assert m["porosity"] < 0.01
    assert d_mass / 10 - 0.5 <= m["ligament_diameter_nm"]["median"] <= d_mass / 10 + 0.1


@pytest.mark.parametrize("r_cut,cells", [(10.0, 6), (12.0, 7), (15.0, 8)])
def test_pore_array_porosity_and_pore_size(r_cut, cells):
    """Simple cubic arrays of spherical cavities (equimolar diameters 1.9, 2.4, 3.0 nm): the
    porosity is the removed atoms' share within 0.015 (the old solid: 0.26 for 0.37), the pore
    size the equimolar diameter, less the facets (a cavity cut from a crystal has flat walls
    that reach up to ~one plane spacing inside the equal-volume ball, so the largest ball in it
    is 0.3-0.36 nm narrower, measured): from d - 0.4 nm to d + one voxel."""
    a, d_eq, porosity = pore_array(r_cut, cells)
    m = voxel(a)
    assert m["porosity"] == pytest.approx(porosity, abs=0.015)
    assert m["pore_count"] == 1
    assert d_eq / 10 - 0.4 <= m["pore_diameter_nm"]["median"] <= d_eq / 10 + 0.1
    assert m["porosity_low"] < porosity < m["porosity_high"]


def test_smallest_resolvable_pore_is_reported_and_right():
    """Cavities of every size the lattice allows (1 to ~70 missing atoms) around two centres:
    each one at least 1.3x the reported smallest pore diameter is found, none below 0.85x is
    (the size is that of a spherical void; small cavities cut from the crystal are faceted, and
    a 20-atom tetrahedral one of 1.24x is still missed). A dense particle reads porosity 0 with
    a note naming that size."""
    d_min = smallest_pore_diameter_angstrom(WIDTH, VoxelParams().min_pore_diameter_angstrom,
                                            VoxelParams().voxel_angstrom)
    seen = {}
    for centre in ((0.5, 0.5, 0.5), (0.53125, 0.53125, 0.53125)):  # on an atom; a tetrahedral hole
        for r_cut in np.arange(2.0, 7.01, 0.25):
            a, d_eq, _ = pore_array(float(r_cut), 4, centre)
            key = round(d_eq, 3)
            if key not in seen:
                seen[key] = voxel(a)["pore_count"]
    big = {d: c for d, c in seen.items() if d >= 1.3 * d_min}
    small = {d: c for d, c in seen.items() if d <= 0.85 * d_min}
    assert big and small
    assert all(c == 1 for c in big.values()), big
    assert all(c == 0 for c in small.values()), small
    s, _, _ = sphere(15.0)
    m = analyze_frame(s, metrics=("voxel",))
    assert m["smallest_pore_diameter_nm"] == pytest.approx(d_min / 10, abs=1e-3)
    assert m["porosity"] == 0.0
    assert any(f"{d_min / 10:.2f} nm" in n and "invisible" in n for n in m["notes"])


def test_a_1_nm_hollow_core_is_a_pore():
    """A c-Si particle (4.4 nm) with a 1 nm hollow core (30 atoms missing, equimolar 1.05 nm):
    the core is one pore, with its porosity and band; no 'invisible' note."""
    s, _, _ = sphere(22.0)
    core = np.linalg.norm(s.positions, axis=1) < 5.5
    hollow = s[~core]
    m = analyze_frame(hollow, metrics=("voxel",))
    assert m["pore_count"] == 1
    assert 0 < m["porosity"] <= m["porosity_high"]
    v_core = core.sum() * OMEGA_CSI / 1e3
    assert m["porosity"] * m["envelope_volume_nm3"] == pytest.approx(v_core, rel=0.5)
    assert not any("invisible" in n for n in m["notes"])


def test_voids_below_the_resolution_inside_the_solid_are_solid():
    """Five 5-atom vacancy clusters (equimolar 0.58 nm, below the 0.74 nm resolution) inside a
    4 nm c-Si sphere: no pore, the same solid volume and ligament as the intact sphere (the
    unresolved holes used to be neither pore nor solid and cut the inscribed balls: a dense
    3.3 nm a-Si(Li) MD particle read a ligament median of 1.15 nm for 2.08)."""
    s, _, _ = sphere(20.0)
    m0 = voxel(s)
    keep = np.ones(len(s), bool)
    for c in ([0, 0, 0], [8.1, 0, 0], [0, -8.1, 2.7], [-5.4, 5.4, -5.4], [2.7, 2.7, 8.1]):
        d = np.linalg.norm(s.positions - np.asarray(c), axis=1)
        keep[np.argsort(d)[:5]] = False
    m = voxel(s[keep])
    assert m["pore_count"] == 0 and m["porosity"] == 0.0
    assert m["solid_volume_nm3"] == pytest.approx(m0["solid_volume_nm3"], rel=0.005)
    assert m["ligament_diameter_nm"]["median"] == pytest.approx(
        m0["ligament_diameter_nm"]["median"], abs=0.05)
