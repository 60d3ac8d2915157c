"""dealloy.materials: the one home of the Li-Si materials data. Each test checks a physical
fact the numbers must satisfy, and that the former copies now are these numbers."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import spglib

from dealloy import materials as M


def test_li15si4_cell_is_i43d_with_isolated_si():
    cell = M.li15si4_conventional_cell()
    sym = np.array(cell.get_chemical_symbols())
    assert (sym == "Li").sum() == 60 and (sym == "Si").sum() == 16
    assert (sym == "Li").sum() / (sym == "Si").sum() == M.X_LI15SI4
    ds = spglib.get_symmetry_dataset((cell.cell[:], cell.get_scaled_positions(), cell.numbers),
                                     symprec=1e-3)
    assert ds.number == M.LI15SI4_SPACE_GROUP
    assert ds.international == M.LI15SI4_SPACE_GROUP_SYMBOL
    si = cell[sym == "Si"]
    d = si.get_all_distances(mic=True)
    d[np.eye(len(si), dtype=bool)] = np.inf
    assert d.min() == pytest.approx(4.53, abs=0.01)  # every Si isolated (no Si-Si bond)


def test_atomic_volumes_fill_the_li15si4_cell():
    a = M.LI15SI4_A_ANGSTROM
    assert 60 * M.OMEGA_LI_ANGSTROM3 + 16 * M.OMEGA_SI_ANGSTROM3 == pytest.approx(a**3)
    assert 8 * M.OMEGA_SI_ANGSTROM3 == pytest.approx(M.SI_A_ANGSTROM**3)


def test_dftb_table_is_monotonic_in_x():
    xs = sorted(M.DFTB_A_LIXSI)
    vol, cn, iso = np.array([M.DFTB_A_LIXSI[x] for x in xs]).T
    assert np.all(np.diff(vol) > 0) and np.all(np.diff(cn) < 0) and np.all(np.diff(iso) >= 0)
    assert max(xs) == M.X_LI15SI4


def test_materials_is_the_bottom_layer():
    """dealloy.materials imports nothing from dealloy, so every layer may import it."""
    tree = ast.parse(Path(M.__file__).read_text())
    mods = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    mods += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in mods if m and m.startswith("dealloy")]


def test_former_copies_are_the_materials_data():
    from dealloy.analysis import voxel
    from dealloy.build import crystal
    from dealloy.builders import amorphous
    from dealloy.engine import particles
    from dealloy.potentials import amorphous as pamorphous
    from dealloy.potentials import validate

    ref = M.li15si4_conventional_cell()
    for atoms in (crystal.li15si4_cell(), particles.li15si4_cell(), validate.li15si4_unit_cell()):
        assert np.allclose(atoms.positions, ref.positions, atol=1e-12)
    assert voxel.OMEGA_LI_ANGSTROM3 == M.OMEGA_LI_ANGSTROM3
    assert pamorphous.REF_DFTB is M.DFTB_A_LIXSI
    assert amorphous.X_MAX == pamorphous.X_MAX == M.X_LI15SI4
    for x, v in amorphous.REF_VOLUME_PER_SI[1:]:
        assert M.DFTB_A_LIXSI[x][0] == v


def test_lammps_units_are_ases_conversion():
    from ase.calculators.lammps import convert

    from dealloy.lammps.potentials import METAL, REAL

    assert (METAL.energy_ev, METAL.time_ps, METAL.pressure_bar) == (1.0, 1.0, 1.0)
    assert REAL.energy_ev == convert(1.0, "energy", "real", "metal")
    assert REAL.energy_ev == pytest.approx(4.184 / 96.48533212, rel=1e-8)  # kcal/mol in eV
    assert REAL.time_ps == 1e-3 and REAL.pressure_bar == 1.01325


def test_kinetic_unit_is_codata():
    """1 amu·Å²/ps² in eV: CODATA 2018 to the 8 digits runs use, and defined once."""
    assert M.EV_PER_AMU_A2_PS2 == pytest.approx(M.UNITS["_amu"] * 1e4 / M.UNITS["_e"], rel=1e-7)
    # 1/2 m v² of a Li at 1000 m/s (10 Å/ps): 0.0360 eV
    assert 0.5 * M.MASSES_AMU["Li"] * 10.0**2 * M.EV_PER_AMU_A2_PS2 == pytest.approx(0.03597,
                                                                                     rel=1e-3)
    hits = [p for p in Path(M.__file__).parent.rglob("*.py")
            if "1.0364269" in p.read_text() and p != Path(M.__file__)]
    assert not hits, f"a copy of the amu·Å²/ps² -> eV factor in {hits}"
